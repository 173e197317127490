// Benchmark (not a test): what SSH delivery costs per node, on the loopback sshd cluster of the SSH delivery tests
// (test/support-sshd.ts: five real sshd, emulated readers serving the delivered certificates, health checks on).
// For a full first push, an apply with nothing changed, and a SAN change (one apiServer.certSANs entry added), it
// reports per node the commands run, the bytes sent (command text + stdin, from CommandStandIn.runs), the SSH
// sessions (from the runs, cross-checked against "Accepted publickey" lines in each sshd's log) and the wall time.
// Usage: npx ts-node -T bench/delivery.ts [--repeat 3] [--concurrency 1]
// The nodes use 127.0.1.x, not the tests' 127.0.0.x, so the benchmark can run while the tests do.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { defineStack, parseName, planClusters } from "../components";
import { evaluate, Evaluation, unwrapSecrets } from "../emulator/evaluate";
import { CommandRun, CommandStandIn } from "../emulator/commandStandIn";
import { fiveLoopbackNodes } from "../test/support-nodes";
import { SshCluster } from "../test/support-sshd";

const API_PORT = 16443;
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const REPEAT = arg("repeat", 3);
// One session per host at a time: the command stand-in's known_hosts file races with more (see the delivery tests).
const CONCURRENCY = arg("concurrency", 1);

// A failed registration rejects promises nobody awaits; report them instead of dying on the first.
process.on("unhandledRejection", (e) => console.error(`unhandled rejection: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`));

interface Row {
  readonly scenario: string;
  readonly node: string;
  readonly pushes: number;
  readonly restarts: number;
  readonly sessions: number;
  readonly sshdSessions: number;
  readonly bytes: number;
  readonly stdinBytes: number;
}

interface Measured {
  readonly scenario: string;
  readonly rows: Row[];
  readonly seconds: number;
  readonly failures: number;
}

function config(nodes: SshCluster, sans: string[]): unknown[] {
  return [
    {
      name: "bench",
      serviceSubnet: "10.96.0.0/12",
      apiServer: { certSANs: ["k8s.example.com", ...sans], bindPort: API_PORT },
      delivery: { mode: "ssh", restart: nodes.restartCommands(), healthCheckTimeoutSeconds: 10 },
      nodes: nodes.nodes.map((n) => ({ name: n.name, role: n.role, address: n.address, ssh: nodes.sshTarget(n.name) })),
    },
  ];
}

async function measure(
  nodes: SshCluster,
  scenario: string,
  raw: unknown[],
  prior: Evaluation<unknown> | undefined,
): Promise<{ m: Measured; ev: Evaluation<unknown> }> {
  const commands = new CommandStandIn({ perHostConcurrency: CONCURRENCY });
  const before = nodes.sessions();
  const start = process.hrtime.bigint();
  const ev = await evaluate(
    () =>
      defineStack(planClusters(raw), {
        stack: "bench",
        secret: (k) => (k === "sshPrivateKey" ? pulumi.secret(nodes.clientKey) : undefined),
      }),
    { extra: commands, prior },
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  commands.dispose();
  const after = nodes.sessions();
  // stdin bytes per resource, from the inputs the commands ran with.
  const stdinOf = (run: CommandRun) => {
    const r = ev.resources.find((x) => x.name === run.resource);
    const stdin = r ? ((unwrapSecrets(r.inputs) as { stdin?: string }).stdin ?? "") : "";
    return run.phase === "delete" ? 0 : Buffer.byteLength(stdin, "utf8");
  };
  const plans = planClusters(raw);
  const rows = nodes.nodes.map((n): Row => {
    const runs = commands.runs.filter((r) => r.host === `${n.address}:${n.port}`);
    return {
      scenario,
      node: n.name,
      pushes: runs.filter((r) => parseName(r.resource, plans)?.kind === "push").length,
      restarts: runs.filter((r) => parseName(r.resource, plans)?.kind === "restart").length,
      sessions: runs.length,
      sshdSessions: after[n.name]! - (before[n.name] ?? 0),
      bytes: runs.reduce((s, r) => s + r.bytesSent, 0),
      stdinBytes: runs.reduce((s, r) => s + stdinOf(r), 0),
    };
  });
  return { m: { scenario, rows, seconds, failures: ev.failures.length }, ev };
}

/**
 * The floor under every command: one SSH session to a node running `true`, with the stand-in's ssh options (pinned
 * host key, key file, BatchMode), `count` times in a row; returns the milliseconds of each.
 */
function bareSessions(nodes: SshCluster, count: number): number[] {
  const dir = mkdtempSync(join(os.tmpdir(), "kube-pki-bench-ssh-"));
  try {
    const n = nodes.nodes[0]!;
    writeFileSync(join(dir, "known_hosts"), `[${n.address}]:${n.port} ${n.hostKey}\n`);
    writeFileSync(join(dir, "key"), nodes.clientKey, { mode: 0o600 });
    const args = [
      "-p",
      String(n.port),
      "-o",
      "BatchMode=yes",
      "-o",
      "IdentitiesOnly=yes",
      "-o",
      "LogLevel=ERROR",
      "-o",
      `UserKnownHostsFile=${join(dir, "known_hosts")}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-i",
      join(dir, "key"),
      `root@${n.address}`,
      "--",
      "true",
    ];
    return Array.from({ length: count }, () => {
      const start = process.hrtime.bigint();
      const r = spawnSync("ssh", args, { timeout: 30_000 });
      if (r.status !== 0) throw new Error(`ssh true failed: ${r.stderr}`);
      return Number(process.hrtime.bigint() - start) / 1e6;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kib = (n: number) => (n >= 10_240 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function table(ms: Measured[]): string {
  const lines = [
    "| scenario | node | pushes | restarts | SSH sessions (runs / sshd log) | bytes sent (command + stdin) | of which stdin |",
    "|---|---|---:|---:|---:|---:|---:|",
  ];
  for (const m of ms) {
    for (const r of m.rows) {
      const check = r.sessions === r.sshdSessions ? "" : " ≠";
      lines.push(
        `| ${m.scenario} | ${r.node} | ${r.pushes} | ${r.restarts} | ${r.sessions} / ${r.sshdSessions}${check} | ${kib(r.bytes)} | ${kib(r.stdinBytes)} |`,
      );
    }
    const sum = (f: (r: Row) => number) => m.rows.reduce((s, r) => s + f(r), 0);
    lines.push(
      `| **${m.scenario}** | **all** | **${sum((r) => r.pushes)}** | **${sum((r) => r.restarts)}** | ` +
        `**${sum((r) => r.sessions)} / ${sum((r) => r.sshdSessions)}** | **${kib(sum((r) => r.bytes))}** | **${kib(sum((r) => r.stdinBytes))}** |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const nodes = await SshCluster.start({
    label: "bench",
    apiServerPort: API_PORT,
    nodes: fiveLoopbackNodes("127.0.1"),
  });
  try {
    console.log(
      `node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load average ` +
        `${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")}; ${new Date().toISOString()}`,
    );
    console.log(
      `cluster: 3 control-plane + 2 workers on loopback sshd, ${CONCURRENCY} session(s) per node at a time, ` +
        `health checks on; ${REPEAT} repetition(s) of the unchanged apply and of the SAN change`,
    );
    const sans: string[] = [];
    const firstRun = await measure(nodes, "first push", config(nodes, sans), undefined);
    let state = firstRun.ev;
    const unchanged: Measured[] = [];
    const sanChanges: Measured[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const u = await measure(nodes, "unchanged", config(nodes, sans), state);
      unchanged.push(u.m);
      state = u.ev;
      sans.push(`bench-${i}.example.com`);
      const s = await measure(nodes, "SAN change", config(nodes, sans), state);
      sanChanges.push(s.m);
      state = s.ev;
    }
    const all = [firstRun.m, ...unchanged, ...sanChanges];
    const failures = all.reduce((s, m) => s + m.failures, 0);
    const mismatch = all.some((m) => m.rows.some((r) => r.sessions !== r.sshdSessions));
    // Counts and bytes are the same in every repetition; the first of each is shown.
    console.log(`\n${table([firstRun.m, unchanged[0]!, sanChanges[0]!])}\n`);
    const bare = bareSessions(nodes, 10);
    const times = (ms: Measured[]) =>
      ms.length === 1
        ? `${ms[0]!.seconds.toFixed(1)} s`
        : `${median(ms.map((m) => m.seconds)).toFixed(1)} s median (${ms.map((m) => m.seconds.toFixed(1)).join(", ")})`;
    console.log("| scenario | wall time (evaluation + every command) |\n|---|---:|");
    console.log(`| first push | ${times([firstRun.m])} |\n| unchanged | ${times(unchanged)} |\n| SAN change | ${times(sanChanges)} |`);
    console.log(
      `| one bare SSH session (\`ssh … true\`, 10 in a row) | ${median(bare).toFixed(0)} ms median ` +
        `(${Math.min(...bare).toFixed(0)} to ${Math.max(...bare).toFixed(0)}) |`,
    );
    // Certificates differ in length by a byte or two between issues (ECDSA signatures), so compare the counts.
    const counts = (m: Measured) => JSON.stringify(m.rows.map((r) => [r.node, r.pushes, r.restarts, r.sessions, r.sshdSessions]));
    const stable = [unchanged, sanChanges].every((ms) => ms.every((m) => counts(m) === counts(ms[0]!)));
    console.log(
      `\nfailed commands: ${failures}; runs vs sshd logs: ${mismatch ? "MISMATCH" : "agree for every node and scenario"}; ` +
        `every repetition ran the same commands: ${stable ? "yes" : "NO"}`,
    );
    if (failures > 0 || mismatch || !stable) process.exitCode = 1;
  } finally {
    await nodes.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
