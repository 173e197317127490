// The I/O of `npm run status`: each node's read-only probe (offline/status.ts) in one SSH session per node, logged in
// as its pushes are (host key pinned, the private key from the state in this process's ssh-agent, or the user's agent
// with `sshAuth: agent`), or in a local shell for a local delivery tree; nodes in parallel, at most `parallel` at once.
import { spawn } from "node:child_process";
import { sshOptions } from "../emulator/commandStandIn";
import { Evaluation, unwrapSecrets } from "../emulator/evaluate";
import { NodeReport, nodeReport, NodeTarget, parseProbe, probeCommand, probeRequest, StateResource } from "./status";

export interface ProbeOptions {
  /** Nodes probed at once (default 16). */
  readonly parallel?: number;
  /** A node that has not answered by then is unreachable (default 60 s). */
  readonly timeoutMs?: number;
  /** Where local delivery trees are relative to (the project directory). */
  readonly cwd?: string;
}

/** Runs the probe on one node; resolves with its output, rejects with why it could not. */
async function runProbe(t: NodeTarget, opts: ProbeOptions): Promise<string> {
  const command = probeCommand(t.root);
  const [file, args] = t.connection
    ? ["ssh", [...(await sshOptions(t.connection)), `${t.connection.user ?? "root"}@${t.connection.host}`, "--", command]]
    : ["/bin/sh", ["-c", command]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b) => (err += b));
    child.stdin.on("error", () => undefined);
    child.on("error", (e) => reject(new Error(`${file}: ${e.message}`)));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const where = t.connection ? `ssh ${t.connection.host}:${t.connection.port ?? 22}` : t.root;
      if (signal) reject(new Error(`${where}: no answer within ${(opts.timeoutMs ?? 60_000) / 1000} s`));
      else if (code !== 0) reject(new Error(`${where}: ${err.trim().split("\n").pop() || `exit ${code}`}`));
      else resolve(Buffer.concat(out).toString("utf8"));
    });
    child.stdin.end(probeRequest(t));
  });
}

/** Every node's report, in the order of `targets`. */
export async function probeFleet(targets: readonly NodeTarget[], opts: ProbeOptions = {}): Promise<NodeReport[]> {
  const reports: NodeReport[] = new Array(targets.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < targets.length; i = next++) {
      const t = targets[i]!;
      try {
        reports[i] = nodeReport(t, parseProbe(await runProbe(t, opts)));
      } catch (e) {
        reports[i] = nodeReport(t, e instanceof Error ? e : new Error(String(e)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel ?? 16, targets.length)) }, worker));
  return reports;
}

/** The state an evaluation under the mock runtime leaves (the tests' and benchmarks' `pulumi up`), as the status reads it. */
export const stateOfEvaluation = (ev: Pick<Evaluation<unknown>, "resources">): StateResource[] =>
  ev.resources.map((r) => ({ urn: r.urn, type: r.type, parent: r.parent, outputs: unwrapSecrets(r.state) as Record<string, unknown> }));
