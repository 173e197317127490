// A stand-in for @pulumi/command 1.2.1 under the mock runtime that really runs the commands, as the provider would
// (pulumi-command's documented behaviour): `command:local:Command` through /bin/sh, `command:remote:Command` through the OpenSSH
// client to the connection's host with the host key pinned and the private key in this process's ssh-agent (never in
// a file), the stdin piped, create on create, `update` (or create)
// on any input change, create-then-delete-old on replace, `delete` on removal. It counts SSH sessions and bytes per
// host, and can cut a connection after a given number of stdin bytes (fault injection for the delivery tests).
import { ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ExtraMocks, Operation, RegisteredResource } from "./evaluate";
import { unwrapSecrets } from "./secrets";

export const COMMAND_TYPES = { local: "command:local:Command", remote: "command:remote:Command" } as const;

export interface CommandRun {
  readonly resource: string;
  readonly kind: "local" | "remote";
  readonly phase: "create" | "update" | "delete";
  /** `host:port` for remote commands. */
  readonly host?: string;
  /** Command text + stdin bytes written to the connection. */
  readonly bytesSent: number;
  readonly exitCode: number | null;
  /** True when the stand-in cut the connection on purpose. */
  readonly cut: boolean;
}

export interface CommandStandInOptions {
  /** Working directory of local commands (the project directory under `pulumi up`). Default: process.cwd(). */
  readonly cwd?: string;
  /** Cut the connection of a run after this many stdin bytes (undefined: do not cut). */
  readonly cutAfter?: (run: { resource: string; phase: string; host?: string; stdinBytes: number }) => number | undefined;
  /** At most this many sessions at once per host (sshd's MaxStartups refuses bursts). Default 4. */
  readonly perHostConcurrency?: number;
  /** Per-command time limit in milliseconds. Default 120 s. */
  readonly timeoutMs?: number;
}

/** A remote command's `connection`, as the provider takes it (and the state records it). */
export interface Connection {
  host: string;
  port?: number;
  user?: string;
  privateKey?: string;
  hostKey?: string;
}

class Semaphore {
  private waiting: (() => void)[] = [];
  private active = 0;
  constructor(private readonly limit: number) {}
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await f();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** The known_hosts line that pins `hostKey` (authorized_keys format) for host:port. */
export const knownHostsLine = (host: string, port: number, hostKey: string) => `${port === 22 ? host : `[${host}]:${port}`} ${hostKey}\n`;

/**
 * OpenSSH options that accept exactly the pinned key in `knownHostsFile`, offering only its own algorithm name as the
 * provider's SSH client (golang.org/x/crypto/ssh) does: for an `ssh-rsa` key that is SHA-1 RSA, which OpenSSH ≥ 8.8
 * no longer accepts.
 */
export const pinnedHostKeyOptions = (hostKey: string, knownHostsFile: string) => [
  "-o",
  `HostKeyAlgorithms=${hostKey.split(" ")[0]}`,
  "-o",
  `UserKnownHostsFile=${knownHostsFile}`,
  "-o",
  "StrictHostKeyChecking=yes",
];

// ---- the process's SSH scratch: known_hosts and public key files, and one ssh-agent holding the private keys ----

const SCRATCH_PREFIX = "kube-pki-ssh-";
const AGENT_SOCKET = "agent.sock";
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

const readText = (file: string) => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
};

/** Start time of a process (/proc/<pid>/stat field 22), undefined when it is gone: with the pid, which process it is. */
const startTime = (pid: number) =>
  readText(`/proc/${pid}/stat`)
    ?.replace(/^.*\) /s, "")
    .split(" ")[19];

function alive(pid: number, start: string): boolean {
  const now = startTime(pid);
  if (now !== undefined || start !== "-") return now === start;
  // Recorded without /proc: all there is to go by is whether the pid exists.
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes what processes that died without running their handlers (SIGKILL, a crash) left in `base`: this user's
 * scratch directories whose recorded process is gone, and their ssh-agents (if that pid still is the directory's
 * agent). A directory with no record yet is being created by a live process, and never touched.
 */
function sweepScratch(base: string): void {
  for (const name of readdirSync(base).filter((n) => n.startsWith(SCRATCH_PREFIX))) {
    const dir = join(base, name);
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st?.isDirectory() || st.uid !== process.getuid?.()) continue;
    const [pid, start] = (readText(join(dir, "owner")) ?? "").trim().split(" ");
    if (!pid || !start || alive(Number(pid), start)) continue;
    const agent = Number(readText(join(dir, "agent")) ?? 0);
    if (agent > 0 && readText(`/proc/${agent}/cmdline`)?.split("\0").includes(join(dir, AGENT_SOCKET))) {
      try {
        process.kill(agent, "SIGTERM");
      } catch {
        /* gone meanwhile */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a program with `input` on its stdin; resolves with its stdout, rejects with its stderr (never the input). */
function pipeTo(file: string, args: string[], input: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    child.stdout.on("data", (b) => {
      out += b;
    });
    child.stderr.on("data", (b) => {
      err += b;
    });
    child.stdin.on("error", () => undefined); // the exit status tells
    child.on("error", (e) => reject(new Error(`${file}: ${e.message}`)));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} failed (${code}): ${err.trim()}`))));
    child.stdin.end(input);
  });
}

/**
 * This process's SSH scratch directory (0700, in the temp dir): known_hosts files, the public halves of the
 * connections' private keys, and the socket of one ssh-agent that holds the private keys themselves, so no private
 * key is ever written to a file. `owner` records the process (pid and start time), `agent` the agent's pid, for the
 * sweep of a later process should this one die without its handlers.
 */
class SshScratch {
  readonly dir: string;
  private readonly knownHosts = new Set<string>();
  private readonly identities = new Map<string, Promise<string>>();
  private agent?: Promise<void>;
  private agentPid?: number;
  private watchdog?: ChildProcess;
  private closed = false;

  constructor() {
    sweepScratch(tmpdir());
    this.dir = mkdtempSync(join(tmpdir(), SCRATCH_PREFIX));
    writeFileSync(join(this.dir, "owner"), `${process.pid} ${startTime(process.pid) ?? "-"}\n`);
  }

  /**
   * The known_hosts file that pins `hostKey` for host:port. One file per host and key, written once: rewriting it
   * under concurrent sessions to the same host lets a starting ssh read it half-written ("No ED25519 host key is known").
   */
  knownHostsFile(host: string, port: number, hostKey: string): string {
    const file = join(this.dir, `known_hosts-${host}-${port}-${createHash("sha256").update(hostKey).digest("hex").slice(0, 12)}`);
    if (!this.knownHosts.has(file)) {
      writeFileSync(file, knownHostsLine(host, port, hostKey));
      this.knownHosts.add(file);
    }
    return file;
  }

  /** ssh options that log in with `privateKey` through the agent (added on first use), offering only that key. */
  async identityOptions(privateKey: string): Promise<string[]> {
    let publicKeyFile = this.identities.get(privateKey);
    if (!publicKeyFile) {
      publicKeyFile = this.addIdentity(privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`);
      this.identities.set(privateKey, publicKeyFile);
      publicKeyFile.catch(() => this.identities.delete(privateKey));
    }
    // IdentityFile names the public half: ssh finds the key in the agent by it (a public key on disk is harmless).
    return ["-o", `IdentityAgent=${join(this.dir, AGENT_SOCKET)}`, "-o", `IdentityFile=${await publicKeyFile}`, "-o", "IdentitiesOnly=yes"];
  }

  private async addIdentity(key: string): Promise<string> {
    await (this.agent ??= this.startAgent());
    // The key on stdin only, never in an argument list. ssh-keygen cannot open a socket as /dev/stdin (Node's stdio
    // pipes are sockets): cat hands it a pipe. An encrypted key fails instead of prompting.
    const publicKey = await pipeTo("sh", ["-c", 'cat | ssh-keygen -y -P "" -f /dev/stdin'], key);
    await pipeTo("ssh-add", ["-q", "-"], key, { SSH_AUTH_SOCK: join(this.dir, AGENT_SOCKET), SSH_ASKPASS_REQUIRE: "never" });
    const file = join(this.dir, `id-${createHash("sha256").update(publicKey).digest("hex").slice(0, 16)}.pub`);
    writeFileSync(file, publicKey);
    return file;
  }

  /**
   * `ssh-agent -a <socket> <command>`: the agent watches its parent, the command (`cat` reading a pipe that only this
   * process holds open), and exits within 10 s of it, so it ends even when this process is killed outright. The
   * command prints the agent's pid first, to stop it at once on exit or on a signal.
   */
  private startAgent(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn("ssh-agent", ["-a", join(this.dir, AGENT_SOCKET), "sh", "-c", 'echo "$SSH_AGENT_PID"; exec cat >/dev/null'], {
        stdio: ["pipe", "pipe", "pipe"],
      });
      this.watchdog = child;
      let out = "";
      let err = "";
      child.on("error", (e) => reject(new Error(`ssh-agent: ${e.message}`)));
      child.once("exit", (code) => reject(new Error(`ssh-agent exited (${code}): ${err.trim()}`)));
      child.stderr.on("data", (b) => {
        err += b;
      });
      child.stdout.on("data", (b) => {
        out += b;
        if (!out.includes("\n")) return;
        this.agentPid = Number(out.trim());
        if (this.closed) this.stopAgent();
        else writeFileSync(join(this.dir, "agent"), `${this.agentPid}\n`);
        child.stdout.destroy();
        child.stderr.destroy();
        resolve();
      });
      // Neither the agent nor its lifeline keeps this process running.
      child.unref();
      (child.stdin as unknown as { unref(): void }).unref();
    });
  }

  private stopAgent(): void {
    for (const pid of [this.agentPid, this.watchdog?.pid]) {
      if (pid)
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          /* gone */
        }
    }
  }

  /** Stops the agent and removes the directory (synchronous: also for exit and signal handlers). */
  close(): void {
    this.closed = true;
    this.stopAgent();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let scratch: SshScratch | undefined;
/** Stand-ins not disposed yet: the last `dispose()` closes the scratch. */
const liveStandIns = new Set<CommandStandIn>();

function openScratch(): SshScratch {
  if (!scratch) {
    scratch = new SshScratch();
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  return scratch;
}

function closeScratch(): void {
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  scratch?.close();
  scratch = undefined;
}

/**
 * Node runs no `exit` handler on a signal (the engine stops plugins with SIGINT), so the scratch goes here; then,
 * unless someone else handles the signal, the process dies of it as the default action would.
 */
function onSignal(signal: NodeJS.Signals): void {
  closeScratch();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
process.on("exit", closeScratch);

/**
 * The OpenSSH client's options for a connection as the provider makes it: the host key pinned, the private key (if
 * any) in this process's ssh-agent, never in a file or an argument. Also what `npm run status` logs in with.
 */
export async function sshOptions(c: Connection): Promise<string[]> {
  const port = c.port ?? 22;
  const args = [
    "-p",
    String(port),
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=15",
    "-o",
    "ServerAliveInterval=5",
  ];
  if (c.hostKey) {
    // The provider's SSH client (golang.org/x/crypto/ssh with the pinned key) offers only the pinned key's own
    // algorithm name: for an `ssh-rsa` key that is SHA-1 RSA, which OpenSSH ≥ 8.8 no longer accepts.
    args.push(...pinnedHostKeyOptions(c.hostKey, openScratch().knownHostsFile(c.host, port, c.hostKey)));
  } else {
    // What the provider does without hostKey (InsecureIgnoreHostKey); kube-pki always pins one.
    args.push("-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no");
  }
  if (c.privateKey) args.push(...(await openScratch().identityOptions(c.privateKey)));
  // Without a key the provider uses the agent at SSH_AUTH_SOCK (sshAuth: agent); so does OpenSSH.
  return args;
}

export class CommandStandIn implements ExtraMocks {
  readonly runs: CommandRun[] = [];
  private readonly gates = new Map<string, Semaphore>();

  constructor(private readonly opts: CommandStandInOptions = {}) {
    liveStandIns.add(this);
  }

  handles(type: string): boolean {
    return type === COMMAND_TYPES.local || type === COMMAND_TYPES.remote;
  }

  /** The last stand-in disposed stops the ssh-agent and removes the scratch directory (exit and signals do too). */
  dispose(): void {
    liveStandIns.delete(this);
    if (liveStandIns.size === 0) closeScratch();
  }

  async newResource(args: pulumi.runtime.MockResourceArgs, op: Operation, prior?: RegisteredResource) {
    if (!this.handles(args.type)) return undefined;
    const inputs = unwrapSecrets(args.inputs) as Record<string, any>;
    const text = op === "update" ? (inputs.update ?? inputs.create) : inputs.create;
    let result = { stdout: "", stderr: "" };
    if (text) result = await this.execute(args.type, args.name, op === "update" ? "update" : "create", inputs, text);
    if (op === "replace" && prior) await this.delete(prior);
    // Outputs: echo of the inputs plus stdout/stderr, secret like the inputs they may echo (additionalSecretOutputs).
    return {
      id: prior?.id ?? `${args.name}-${Date.now().toString(36)}`,
      state: { ...args.inputs, stdout: pulumi.secret(result.stdout), stderr: pulumi.secret(result.stderr) } as Record<string, unknown>,
    };
  }

  async delete(resource: RegisteredResource): Promise<void> {
    if (!this.handles(resource.type)) return;
    const inputs = unwrapSecrets(resource.inputs) as Record<string, any>;
    // As the provider does, the delete command gets the stdin recorded in state (the last bundle installed).
    if (inputs.delete) await this.execute(resource.type, resource.name, "delete", inputs, inputs.delete);
  }

  /** Runs one command of a resource (plain inputs) as the provider would; rejects with its output on failure. */
  async execute(type: string, resource: string, phase: CommandRun["phase"], inputs: Record<string, any>, command: string) {
    const stdin: string = inputs.stdin ?? "";
    if (type === COMMAND_TYPES.local) {
      // `environment` is honoured for local commands only: over SSH the provider sends it with Setenv, which sshd
      // refuses unless AcceptEnv allows it (kube-pki passes everything on stdin instead).
      return this.spawnAndPipe({ resource, phase, kind: "local" }, "/bin/sh", ["-c", command], stdin, command.length, inputs.environment);
    }
    const c = inputs.connection as Connection;
    const port = c.port ?? 22;
    const host = `${c.host}:${port}`;
    const gate = this.gates.get(host) ?? new Semaphore(this.opts.perHostConcurrency ?? 4);
    this.gates.set(host, gate);
    return gate.run(async () => {
      const sshArgs = [...(await sshOptions(c)), `${c.user ?? "root"}@${c.host}`, "--", command];
      return this.spawnAndPipe({ resource, phase, kind: "remote", host }, "ssh", sshArgs, stdin, command.length);
    });
  }

  private spawnAndPipe(
    run: Omit<CommandRun, "bytesSent" | "exitCode" | "cut">,
    file: string,
    argv: string[],
    stdin: string,
    commandBytes: number,
    environment?: Record<string, string>,
  ): Promise<{ stdout: string; stderr: string }> {
    const data = Buffer.from(stdin, "utf8");
    const cutAt = this.opts.cutAfter?.({ resource: run.resource, phase: run.phase, host: run.host, stdinBytes: data.length });
    return new Promise((resolve, reject) => {
      const child = spawn(file, argv, { cwd: this.opts.cwd, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...environment } });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let sent = 0;
      let cut = false;
      const timer = setTimeout(() => child.kill("SIGKILL"), this.opts.timeoutMs ?? 120_000);
      child.stdout.on("data", (b: Buffer) => out.push(b));
      child.stderr.on("data", (b: Buffer) => err.push(b));
      child.stdin.on("error", () => undefined); // the far end may close early; the exit status tells
      if (cutAt !== undefined && cutAt < data.length) {
        // Send part of the bundle, then drop the connection as a network failure would.
        child.stdin.write(data.subarray(0, cutAt), () => {
          sent = cutAt;
          cut = true;
          setTimeout(() => child.kill("SIGKILL"), 50);
        });
      } else {
        sent = data.length;
        child.stdin.end(data);
      }
      child.on("close", (code) => {
        clearTimeout(timer);
        this.runs.push({ ...run, bytesSent: commandBytes + sent, exitCode: code, cut });
        const stdout = Buffer.concat(out).toString("utf8");
        const stderr = Buffer.concat(err).toString("utf8");
        if (code === 0) resolve({ stdout, stderr });
        // As pulumi-command does, a failure carries the command's output (whatever `logging` says): the node
        // scripts print nothing secret on any path (test/installScript.test.ts).
        else
          reject(
            new Error(
              `${run.resource}: ${run.phase} ${cut ? "connection cut" : `exited with ${code}`}: ` +
                `${[stderr.trim(), stdout.trim()].filter(Boolean).join("\n").slice(0, 2000)}`,
            ),
          );
      });
    });
  }
}
