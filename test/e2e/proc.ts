// Process and temp-dir helpers for the end-to-end tests, which hand the rendered PKI to real programs (openssl,
// etcd, etcdctl, kubectl). Everything here is bounded in time and cleaned up also when a test fails or mocha is
// interrupted: short commands are killed at their timeout, daemons run in their own process group (killed as a
// group by `stopAll`, by the `exit` handler, and by the kernel through PR_SET_PDEATHSIG if this process dies hard),
// and temp dirs are removed at exit.
import { ChildProcess, ChildProcessByStdio, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { nodeToolsPayload, toolsCommand } from "../../components/node/nodeProgram";

// ---- temp dirs -----------------------------------------------------------------------------------------------------

const tempDirs = new Set<string>();

/** A fresh directory under the system temp dir, removed when the process exits (or earlier with `removeTempDir`). */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `kube-pki-e2e-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** A scratch node root with kube-pki's node program installed, as a node's tools command leaves it. */
export function makeNodeRoot(prefix: string): string {
  const root = makeTempDir(prefix);
  execFileSync("/bin/sh", ["-c", toolsCommand(root)], { input: nodeToolsPayload(), stdio: "pipe" });
  return root;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

// ---- short commands ------------------------------------------------------------------------------------------------

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when the command was killed because it outlived its timeout. */
  readonly timedOut: boolean;
  /** `cmd arg…`, for assertion messages. */
  readonly command: string;
}

export interface RunOptions {
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly cwd?: string;
}

/** Command line as a readable string (for messages). */
const show = (cmd: string, args: readonly string[]) => [cmd, ...args].map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(" ");

/**
 * Runs a command to completion and returns its exit status and output; never throws on a non-zero exit (negative
 * checks need the failure). Killed with SIGKILL after `timeoutMs` (default 20 s), reported as `timedOut`.
 */
export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
  const r = await outcome(child, opts.timeoutMs ?? 20_000, () => child.kill("SIGKILL"), opts.input).catch((e: Error) => {
    throw new Error(`cannot run ${cmd}: ${e.message}`);
  });
  return { ...r, command: show(cmd, args) };
}

/**
 * A spawned command's exit and output, once it has closed: `input` is its stdin; `kill` runs if it outlives
 * `timeoutMs` (then `timedOut`). Rejects with the spawn error if it cannot start.
 */
export function outcome(
  child: ChildProcessByStdio<Writable, Readable, Readable>,
  timeoutMs: number,
  kill: () => void,
  input = "",
): Promise<Omit<RunResult, "command">> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on("error", () => {
      /* the command may exit before reading its input */
    });
    child.stdin.end(input);
  });
}

/** One line describing a result, for assertion messages. */
export function describe(r: RunResult): string {
  const status = r.timedOut ? "timed out" : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  return `${r.command} -> ${status}\n--- stdout\n${r.stdout.trim()}\n--- stderr\n${r.stderr.trim()}`;
}

/** Runs async tasks with at most `limit` in flight (hundreds of openssl calls, a few cores). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Fails with a clear message (and how to get it) when a program the e2e tests need is absent. */
export async function requireProgram(cmd: string, versionArgs: readonly string[], howToGet: string): Promise<string> {
  let r: RunResult;
  try {
    r = await run(cmd, versionArgs, { timeoutMs: 15_000 });
  } catch {
    throw new Error(`${cmd} is not installed: ${howToGet} (see .ci/run)`);
  }
  if (r.code !== 0) throw new Error(`${cmd} does not run:\n${describe(r)}`);
  return (r.stdout || r.stderr).trim().split("\n")[0] ?? "";
}

// ---- daemons ---------------------------------------------------------------------------------------------------------

export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  /** Combined stdout+stderr goes here. */
  readonly logFile: string;
  exited: boolean;
  exitStatus?: string;
  log(): string;
}

const daemons = new Set<Daemon>();
const hasSetpriv = existsSync("/usr/bin/setpriv");

/**
 * Starts a long-running program in its own process group, output to `logFile`. It is killed (as a group) by
 * `stopDaemon`/`stopAll`, at process exit, after `maxLifetimeMs` whatever happens (default 5 min), and, through
 * `setpriv --pdeathsig KILL` (util-linux), by the kernel if this test process is killed without running any handler.
 */
export function startDaemon(
  name: string,
  cmd: string,
  args: readonly string[],
  logFile: string,
  opts: { env?: NodeJS.ProcessEnv; maxLifetimeMs?: number } = {},
): Daemon {
  const fd = openSync(logFile, "a");
  const [file, argv] = hasSetpriv ? ["/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", cmd, ...args]] : [cmd, [...args]];
  const child = spawn(file, argv, { detached: true, stdio: ["ignore", fd, fd], env: opts.env ?? process.env });
  closeSync(fd);
  const daemon: Daemon = {
    name,
    child,
    logFile,
    exited: false,
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
  };
  daemons.add(daemon);
  child.on("exit", (code, signal) => {
    daemon.exited = true;
    daemon.exitStatus = signal ? `killed by ${signal}` : `exit ${code}`;
  });
  child.on("error", (e) => {
    daemon.exited = true;
    daemon.exitStatus = `cannot start: ${e.message}`;
  });
  const lifetime = setTimeout(() => killGroup(daemon, "SIGKILL"), opts.maxLifetimeMs ?? 300_000);
  lifetime.unref();
  child.on("exit", () => clearTimeout(lifetime));
  return daemon;
}

function killGroup(d: Daemon, signal: NodeJS.Signals): void {
  if (d.exited || d.child.pid === undefined) return;
  try {
    process.kill(-d.child.pid, signal); // negative pid: the whole process group the daemon leads
  } catch {
    // already gone
  }
}

/** SIGTERM to the daemon's process group, SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopDaemon(d: Daemon, graceMs = 5_000): Promise<void> {
  if (d.exited) {
    daemons.delete(d);
    return;
  }
  const exited = new Promise<void>((resolve) => d.child.once("exit", () => resolve()));
  killGroup(d, "SIGTERM");
  const timer = setTimeout(() => killGroup(d, "SIGKILL"), graceMs);
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs + 2_000))]);
  clearTimeout(timer);
  daemons.delete(d);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...daemons].map((d) => stopDaemon(d)));
}

// Last resort: mocha exits (or is interrupted) with daemons still running, e.g. when a `before` hook threw.
process.on("exit", () => {
  for (const d of daemons) killGroup(d, "SIGKILL");
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => process.exit(130)); // runs the exit handler above
}

// ---- ports -----------------------------------------------------------------------------------------------------------

/** Whether a TCP connection to host:port succeeds within timeoutMs. */
export function tryConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** True when something accepts TCP connections on host:port right now. */
export const isListening = (host: string, port: number) => tryConnect(host, port, 1_000);

/**
 * Waits until host:port accepts TCP connections. Fails at `timeoutMs`, or at once when `daemon` (the program
 * expected to listen there) has exited, with the tail of its log.
 */
export async function waitForPort(host: string, port: number, timeoutMs: number, daemon?: Daemon): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (daemon?.exited) {
      throw new Error(`${daemon.name} exited (${daemon.exitStatus}) before listening on ${host}:${port}:\n${tail(daemon.log())}`);
    }
    if (await tryConnect(host, port, 500)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `nothing listens on ${host}:${port} after ${timeoutMs} ms${daemon ? `; ${daemon.name} log:\n${tail(daemon.log())}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function tail(text: string, lines = 30): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}
