// Benchmark (not a test): `npm run status` on a 3 + 100-node SSH stack of loopback nodes (test/support-sshd.ts: one
// real sshd per node, each on its own address with its own pinned host key). The fleet
// is deployed once by the real program under the mock runtime, its files written straight into the node roots (see
// WrittenNodes); the status, what is measured, then reads every node over SSH. Reported: wall time and SSH sessions (sshd's
// "Accepted publickey" lines) for fleets of 13, 53 and 103 nodes (the first N of the stack: linear growth), and for
// the 103 nodes at 1, 4, 16 and 32 nodes at once (parallelism).
// Usage: npx ts-node -T bench/status.ts [--repeat 1] [--workers 100]
// The nodes use 127.0.4.x (control plane) and 127.0.5.x (workers), beside the tests' and the delivery benchmark's.
import * as pulumi from "@pulumi/pulumi";
import { defineStack, planClusters } from "../components";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CommandStandIn } from "../emulator/commandStandIn";
import { evaluate } from "../emulator/evaluate";
import { targetsFromState } from "../offline/status";
import { probeFleet, stateOfEvaluation } from "../offline/statusProbe";
import { SshCluster, SshNodeSpec } from "../test/support-sshd";

const API_PORT = 16443;
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const REPEAT = arg("repeat", 1);
const WORKERS = arg("workers", 100);

/**
 * Installs as the node program would, in this process: each push's files written under its node's root with their
 * mode, each restart's bundle digests recorded where a restart that passed records them. Nothing runs on the nodes and
 * nothing serves, so every endpoint's probe is refused (reported unreachable): on 2 shared cores 1,700 node commands
 * and 100 emulated kubelets would cost more than the status that is measured.
 */
class WrittenNodes extends CommandStandIn {
  override async execute(type: string, resource: string, phase: "create" | "update" | "delete", inputs: Record<string, any>) {
    // `… kube-pki-<operation> <root> …`: the word after the operation is the node's root.
    const [operation, root, reader] = String(inputs.create).split("' kube-pki-")[1]!.split(" ");
    const stdin = String(inputs.stdin ?? "");
    if (operation === "restart") {
      const digests = stdin.split("\n").filter((l) => l.startsWith("# "));
      mkdirSync(join(root!, "var/lib/kube-pki"), { recursive: true });
      writeFileSync(join(root!, `var/lib/kube-pki/restart-${reader}.digests`), `${digests.join("\n")}\n`);
    }
    for (const line of stdin.split("\n").filter((l) => l.startsWith("file "))) {
      const [, mode, , , path, data] = line.split(" ");
      mkdirSync(dirname(join(root!, path!)), { recursive: true });
      writeFileSync(join(root!, path!), Buffer.from(data ?? "", "base64"), { mode: parseInt(mode!, 8) });
    }
    void [type, resource, phase];
    return { stdout: "", stderr: "" };
  }
}

async function main(): Promise<void> {
  const specs: SshNodeSpec[] = [
    ...[1, 2, 3].map((i) => ({ name: `cp-${i}`, role: "control-plane" as const, address: `127.0.4.${10 + i}` })),
    ...Array.from({ length: WORKERS }, (_, i) => ({ name: `w-${i + 1}`, role: "worker" as const, address: `127.0.5.${i + 1}` })),
  ];
  const nodes = await SshCluster.start({ nodes: specs, label: "bench-status", apiServerPort: API_PORT });
  try {
    const raw = [
      {
        name: "bench",
        serviceSubnet: "10.96.0.0/12",
        apiServer: { certSANs: ["k8s.example.com"], bindPort: API_PORT },
        delivery: { mode: "ssh", restart: nodes.restartCommands(), healthCheckTimeoutSeconds: 30 },
        nodes: nodes.nodes.map((n) => ({ name: n.name, role: n.role, address: n.address, ssh: nodes.sshTarget(n.name) })),
      },
    ];
    const commands = new WrittenNodes();
    const t0 = Date.now();
    const ev = await evaluate(
      () =>
        defineStack(planClusters(raw), {
          stack: "bench",
          secret: (k) => (k === "sshPrivateKey" ? pulumi.secret(nodes.clientKey) : undefined),
        }),
      { extra: commands },
    );
    commands.dispose();
    if (ev.failures.length > 0)
      throw new Error(`deploy failed: ${ev.failures.map((f) => `${f.name}: ${f.error.split("\n")[0]}`).join("; ")}`);
    const targets = targetsFromState(stateOfEvaluation(ev));
    console.log(`deployed ${targets.length} nodes (${ev.resources.length} resources) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const run = async (size: number, parallel: number) => {
      const times: number[] = [];
      let sessions = 0;
      let drift = 0;
      for (let i = 0; i < REPEAT; i++) {
        const before = nodes.sessions();
        const start = process.hrtime.bigint();
        const reports = await probeFleet(targets.slice(0, size), { parallel, timeoutMs: 120_000 });
        times.push(Number(process.hrtime.bigint() - start) / 1e9);
        const after = nodes.sessions();
        sessions = Object.keys(after).reduce((s, n) => s + after[n]! - before[n]!, 0);
        drift = reports.flatMap((r) => [...r.files, ...r.endpoints]).filter((x) => x.state !== "in-sync").length;
      }
      const files = targets.slice(0, size).reduce((s, t) => s + t.files.length, 0);
      const endpoints = targets.slice(0, size).reduce((s, t) => s + t.restarts.reduce((e, r) => e + r.checks.length, 0), 0);
      const best = Math.min(...times);
      console.log(
        `| ${size} | ${parallel} | ${files} | ${endpoints} | ${sessions} | ${times.map((t) => t.toFixed(2)).join(" / ")} | ${((best / size) * 1000).toFixed(0)} | ${drift} |`,
      );
    };
    console.log("| nodes | at once | files | endpoints | SSH sessions | wall time, s (each run) | ms per node (best) | not in sync |");
    console.log("|---|---|---|---|---|---|---|---|");
    const all = targets.length;
    for (const size of [13, 53, all].filter((n, i, a) => n <= all && a.indexOf(n) === i)) await run(size, 16);
    for (const parallel of [1, 4, 32]) await run(all, parallel);
  } finally {
    await nodes.stop();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
