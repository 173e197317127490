// A stand-in for @pulumi/command 1.2.1 under the mock runtime that really runs the commands, as the provider would
// (pulumi-command's documented behaviour): `command:local:Command` through /bin/sh, `command:remote:Command` through the OpenSSH
// client to the connection's host with the host key pinned, the stdin piped, create on create, `update` (or create)
// on any input change, create-then-delete-old on replace, `delete` on removal. It counts SSH sessions and bytes per
// host, and can cut a connection after a given number of stdin bytes (fault injection for the delivery tests).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ExtraMocks, Operation, RegisteredResource, unwrapSecrets } from "./evaluate";

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

interface Connection { host: string; port?: number; user?: string; privateKey?: string; hostKey?: string }

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
export const pinnedHostKeyOptions = (hostKey: string, knownHostsFile: string) =>
  ["-o", `HostKeyAlgorithms=${hostKey.split(" ")[0]}`, "-o", `UserKnownHostsFile=${knownHostsFile}`, "-o", "StrictHostKeyChecking=yes"];

export class CommandStandIn implements ExtraMocks {
  readonly runs: CommandRun[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), "kube-pki-ssh-"));
  private readonly gates = new Map<string, Semaphore>();
  private readonly knownHostsWritten = new Set<string>();

  constructor(private readonly opts: CommandStandInOptions = {}) {}

  handles(type: string): boolean {
    return type === COMMAND_TYPES.local || type === COMMAND_TYPES.remote;
  }

  /** Removes the temporary key and known_hosts files. */
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  async newResource(args: pulumi.runtime.MockResourceArgs, op: Operation, prior?: RegisteredResource) {
    if (!this.handles(args.type)) return undefined;
    const inputs = unwrapSecrets(args.inputs) as Record<string, any>;
    const text = op === "update" ? inputs.update ?? inputs.create : inputs.create;
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
      return this.spawnAndPipe({ resource, phase, kind: "local" }, "/bin/sh", ["-c", command], stdin, command.length,
        inputs.environment);
    }
    const c = inputs.connection as Connection;
    const port = c.port ?? 22;
    const host = `${c.host}:${port}`;
    const gate = this.gates.get(host) ?? new Semaphore(this.opts.perHostConcurrency ?? 4);
    this.gates.set(host, gate);
    return gate.run(() => {
      const sshArgs = ["-p", String(port), "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
        "-o", "ConnectTimeout=15", "-o", "ServerAliveInterval=5"];
      if (c.hostKey) {
        // The provider's SSH client (golang.org/x/crypto/ssh with the pinned key) offers only the pinned key's own
        // algorithm name: for an `ssh-rsa` key that is SHA-1 RSA, which OpenSSH ≥ 8.8 no longer accepts.
        // One file per host and key, written once: rewriting it under concurrent sessions to the same host lets a
        // starting ssh read it half-written ("No ED25519 host key is known").
        const knownHosts = join(this.dir, `known_hosts-${c.host}-${port}-${createHash("sha256").update(c.hostKey).digest("hex").slice(0, 12)}`);
        if (!this.knownHostsWritten.has(knownHosts)) {
          writeFileSync(knownHosts, knownHostsLine(c.host, port, c.hostKey));
          this.knownHostsWritten.add(knownHosts);
        }
        sshArgs.push(...pinnedHostKeyOptions(c.hostKey, knownHosts));
      } else {
        // What the provider does without hostKey (InsecureIgnoreHostKey); kube-pki always pins one.
        sshArgs.push("-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no");
      }
      if (c.privateKey) {
        const keyFile = join(this.dir, `key-${resource}`);
        writeFileSync(keyFile, c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
        sshArgs.push("-i", keyFile, "-o", "IdentitiesOnly=yes");
      }
      // Without a key the provider uses the agent at SSH_AUTH_SOCK (sshAuth: agent); so does OpenSSH.
      sshArgs.push(`${c.user ?? "root"}@${c.host}`, "--", command);
      return this.spawnAndPipe({ resource, phase, kind: "remote", host }, "ssh", sshArgs, stdin, command.length);
    });
  }

  private spawnAndPipe(run: Omit<CommandRun, "bytesSent" | "exitCode" | "cut">, file: string, argv: string[], stdin: string,
    commandBytes: number, environment?: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
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
        else reject(new Error(`${run.resource}: ${run.phase} ${cut ? "connection cut" : `exited with ${code}`}: ` +
          `${[stderr.trim(), stdout.trim()].filter(Boolean).join("\n").slice(0, 2000)}`));
      });
    });
  }
}
