// The node program is POSIX sh and must run under the shells nodes have: dash (Debian's /bin/sh) and BusyBox's sh
// (Debian's busybox package; the sh of Alpine and other small images). A test runs it under one of them through a PATH
// whose first directory holds that shell as `sh`: the command the test runs, the program that command execs
// (`sh -c "$p"`), and the restart command the program runs all start it.
import { execFileSync, spawn } from "node:child_process";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { nodeToolsPayload, toolsCommand } from "../components/node/nodeProgram";
import { makeTempDir } from "./e2e/proc";

/** Each shell as a command line (`busybox sh`: BusyBox picks its applet from the name it is started as). */
export const SHELLS = ["dash", "busybox sh"] as const;

export interface ShResult {
  ok: boolean;
  code: number | null;
  out: string;
}

export interface NodeShell {
  readonly name: string;
  /** The environment of a run: PATH is `dirs` (shims), then this shell's `sh`, then the test's PATH. */
  env(...dirs: string[]): NodeJS.ProcessEnv;
  run(command: string, input: string, env?: NodeJS.ProcessEnv): ShResult;
  runAsync(command: string, input: string, env?: NodeJS.ProcessEnv): Promise<ShResult>;
  /** A scratch node root with kube-pki's node program installed by its tools command, run by this shell. */
  nodeRoot(prefix: string): string;
}

export function nodeShell(name: (typeof SHELLS)[number]): NodeShell {
  let dir: string | undefined;
  // Made on first use, so a missing shell fails its own tests (with what to install), never skips them.
  const shDir = () => {
    if (dir) return dir;
    const program = name.split(" ")[0]!;
    let binary: string;
    try {
      binary = execFileSync("/bin/sh", ["-c", `command -v ${program}`], { encoding: "utf8" }).trim();
    } catch {
      throw new Error(`${program} is not installed: apt-get install ${program} (README, "Set up")`);
    }
    dir = makeTempDir(`sh-${program}`);
    symlinkSync(binary, join(dir, "sh"));
    return dir;
  };
  const env = (...dirs: string[]) => ({ ...process.env, PATH: [...dirs, shDir(), process.env.PATH].join(":") });
  const run = (command: string, input: string, runEnv = env()): ShResult => {
    try {
      return {
        ok: true,
        code: 0,
        out: execFileSync(join(shDir(), "sh"), ["-c", command], { input, encoding: "utf8", stdio: "pipe", env: runEnv }),
      };
    } catch (e: any) {
      return { ok: false, code: e.status ?? null, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
    }
  };
  const runAsync = (command: string, input: string, runEnv = env()) =>
    new Promise<ShResult>((resolve) => {
      const child = spawn(join(shDir(), "sh"), ["-c", command], { stdio: ["pipe", "pipe", "pipe"], env: runEnv });
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.on("close", (code) => resolve({ ok: code === 0, code, out }));
      child.stdin.on("error", () => undefined);
      child.stdin.end(input);
    });
  const nodeRoot = (prefix: string) => {
    const root = makeTempDir(prefix);
    const r = run(toolsCommand(root), nodeToolsPayload());
    if (!r.ok) throw new Error(`the tools command failed under ${name}:\n${r.out}`);
    return root;
  };
  return { name, env, run, runAsync, nodeRoot };
}
