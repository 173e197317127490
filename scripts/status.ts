// npm run status -- --stack <stack> | --state <file|-> [-o text|json|prometheus] [--warn-days 30] [--parallel 16] [--timeout 60]
// Fleet status: for every node a stack delivers to, read-only, what it holds (file digests) and serves (the
// certificate each API server, etcd and kubelet presents) against what the stack delivered, and each certificate's
// expiry. Exit code: a sum of 1 (a certificate expires within --warn-days), 4 (drift: changed, missing, not served
// yet) and 8 (a node or endpoint unreachable); 0 when all is in sync; 2 when the tool itself fails (no report).
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import {
  renderStatusJson,
  renderStatusPrometheus,
  renderStatusText,
  resourcesFromExport,
  statusExitCode,
  targetsFromState,
} from "../offline/status";
import { probeFleet } from "../offline/statusProbe";
import { cli, readInput, onPath } from "./cli";

const PROJECT_DIR = resolve(__dirname, "..");

const { values, usage, path } = cli(
  "status",
  "Fleet status: what each node holds and serves against what the stack delivered, and expiry; never writes to a node.",
  {
    stack: { type: "string", value: "stack", help: "the stack to read (pulumi stack export --show-secrets --stack <stack>)" },
    state: { type: "string", value: "file|-", help: "instead: the output of pulumi stack export --show-secrets (- for stdin)" },
    output: { type: "string", short: "o", value: "text|json|prometheus", default: "text", help: "the report's format" },
    "warn-days": { type: "string", value: "days", default: "30", help: "exit bit 1 for anything expiring this soon" },
    parallel: { type: "string", value: "n", default: "16", help: "nodes probed at once (one SSH session each)" },
    timeout: { type: "string", value: "seconds", default: "60", help: "a node that has not answered by then is unreachable" },
  },
);

/** The stack's state with its secrets in plain text, held in memory only (it holds the deploy key and the bundles). */
async function readState(): Promise<unknown> {
  let text: string;
  if (values.state) text = await readInput(values.state, path);
  else {
    if (!onPath("pulumi")) throw new Error("the pulumi CLI is not on PATH (npm run toolchain, or Pulumi's installer); or give --state");
    const r = spawnSync("pulumi", ["stack", "export", "--show-secrets", "--stack", values.stack!], {
      cwd: PROJECT_DIR,
      encoding: "utf8",
      maxBuffer: 1 << 30,
    });
    if (r.status !== 0) throw new Error(`pulumi stack export --stack ${values.stack}: ${r.stderr.trim().split("\n").pop()}`);
    text = r.stdout;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error("the state is not JSON (the output of pulumi stack export --show-secrets)");
  }
}

async function main(): Promise<void> {
  if (!["text", "json", "prometheus"].includes(values.output!)) usage(`-o ${values.output}: text, json or prometheus`);
  if (!values.stack === !values.state) usage("give one of --stack, --state");
  const number = (flag: "warn-days" | "parallel" | "timeout", min: number) => {
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < min) usage(`--${flag} must be a whole number ≥ ${min}`);
    return n;
  };
  const [warnDays, parallel, timeout] = [number("warn-days", 0), number("parallel", 1), number("timeout", 1)];
  const targets = targetsFromState(resourcesFromExport(await readState()));
  if (targets.length === 0) throw new Error("the stack delivers to no node (delivery.mode none, or nothing deployed yet)");
  const reports = await probeFleet(targets, { parallel, timeoutMs: timeout * 1000, cwd: PROJECT_DIR });
  const now = new Date();
  process.stdout.write(
    values.output === "json"
      ? renderStatusJson(reports, now, warnDays)
      : values.output === "prometheus"
        ? renderStatusPrometheus(reports, now)
        : renderStatusText(reports, now),
  );
  process.exit(statusExitCode(reports, now, warnDays));
}

// Exit 2 on errors (1, 4 and 8 are findings): a monitoring job must tell them apart.
main().catch((e) => {
  console.error(`kube-pki status: ${e instanceof Error ? e.message : e}`);
  process.exit(2);
});
