// Benchmark (not a test): workers: bootstrap under the real engine. Figures go to docs/benchmarks-bootstrap-engine.md.
//   npx ts-node -T bench/bootstrapEngine.ts [--workers 10000] [--local-workers 1000] [--repeat 3]
// 1. SSH delivery, 3 control-plane nodes + 0 and + N listed workers: `pulumi up`, then `pulumi preview` of an apiserver
//    SAN change (wall time), and the state's size. SSH goes through a PATH shim that runs a control-plane push locally
//    (under the node's ssh.root) and accepts a worker's join push without installing it: this measures what the engine
//    and the program cost, not 10,000 SSH sessions (test/joinPush.test.ts runs the shard push itself). The token
//    Secrets are excluded (no API server here). The workers are listed in a workersFile (`--inline`: in nodes, which
//    fails beyond ~740 SSH workers: Pulumi passes the config in one environment string, at most 128 KiB on Linux).
// 2. Local delivery, 3 + M workers: the first `pulumi up` (every worker's join files really installed).
import { chmodSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_RESTART_COMMANDS } from "../components/model/configSchema";
import { clusterConfig } from "../test/support";
import { describeRun, Workspace } from "../test/engine/workspace";

const arg = (flag: string, d: number) => {
  const i = process.argv.indexOf(flag);
  return i < 0 ? d : Number(process.argv[i + 1]);
};
const WORKERS = arg("--workers", 10_000);
const LOCAL_WORKERS = arg("--local-workers", 1_000);
/** `--local`: part 1 with local delivery (every worker's files really installed; tokens rendered, nothing excluded). */
const LOCAL = process.argv.includes("--local");
const INLINE = process.argv.includes("--inline");
/** `--repeat n`: previews per stack, alternating between the stacks (median reported). */
const REPEAT = arg("--repeat", 3);
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKpQ6SxQ0Xn1+D7K0YV0hJw5mH1lO3R0fJc1m3m5hY9x";
// Every component's restart off (no systemd or static pods here): kube-pki's own list, so a new component is included.
const NO_RESTART = Object.fromEntries(Object.keys(DEFAULT_RESTART_COMMANDS).map((r) => [r, ""]));

function sshCluster(workers: number, roots: string, sans: string[]) {
  if (LOCAL) {
    return clusterConfig("b", 3, workers, {
      workers: "bootstrap",
      caKeys: "control-plane",
      delivery: { mode: "local", localDirectory: "out" },
      apiServer: { certSANs: sans },
    });
  }
  const c = clusterConfig("b", 3, workers, {
    workers: "bootstrap",
    caKeys: "control-plane",
    delivery: { mode: "ssh", sshAuth: "agent", restart: NO_RESTART, healthCheck: false },
    apiServer: { certSANs: sans },
  });
  c.nodes = c.nodes.map((n: any) => ({ ...n, ssh: { host: "127.0.0.1", hostKey: HOST_KEY, root: `${roots}/${n.name}` } }));
  return c;
}

/** What Pulumi puts in the program's environment (PULUMI_CONFIG): every config value as a JSON string in one object. */
const pulumiConfigBytes = (clusters: unknown) => JSON.stringify({ "kube-pki:clusters": JSON.stringify(clusters) }).length;

/** The cluster as the stack lists it: its workers moved into `<project>/<file>` unless --inline. */
function listed(dir: string, cluster: any, file: string): [unknown, string] {
  const inlineBytes = pulumiConfigBytes([cluster]);
  if (INLINE) return [cluster, `inline, PULUMI_CONFIG ${inlineBytes} B`];
  const workers = cluster.nodes.filter((n: any) => n.role === "worker").map(({ role: _, ...n }: any) => n);
  writeFileSync(join(dir, file), JSON.stringify(workers));
  const c = { ...cluster, nodes: cluster.nodes.filter((n: any) => n.role !== "worker"), workersFile: file };
  const note = `workersFile ${(statSync(join(dir, file)).size / 1024).toFixed(0)} KiB, PULUMI_CONFIG ${pulumiConfigBytes([c])} B (inline: ${inlineBytes} B)`;
  return [c, note];
}

/**
 * What is written through the cluster's API server, which this benchmark has not: the token Secrets, RBAC, cluster-info.
 * The shard pushes depend on the token Secrets, so the state saved without them fails the CLI's integrity check ("refers
 * to missing dependency"): not checked here.
 */
const NO_CLUSTER = LOCAL
  ? []
  : ["--exclude", "**::b-bootstrap-token-*-secret", "--exclude", "**::b-cluster-bootstrap-*", "--disable-integrity-checking"];

function shim(dir: string): string {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, "ssh"),
    [
      "#!/bin/sh",
      'while [ "$1" != "--" ]; do shift; done; shift',
      "case $1 in *kube-pki-join*) cat > /dev/null; exit 0 ;; esac",
      'exec sh -c "$1"',
    ].join("\n"),
  );
  chmodSync(join(bin, "ssh"), 0o755);
  return bin;
}

/** The stack's state as `pulumi stack export` writes it (the file backend keeps the same JSON, indented). */
const stateMiB = async (ws: Workspace, stack: string) => JSON.stringify(await ws.exportState(stack)).length / 1024 / 1024;

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = Date.now();
  const r = await f();
  return [r, (Date.now() - t) / 1000];
}

async function main() {
  const ws = await Workspace.create("bench-bootstrap", {});
  const roots = join(ws.dir, "nodes");
  // The shard pushes' worker lists and node program (the join cache) in the workspace, not in ~/.cache/kube-pki.
  const cache = { KUBE_PKI_CACHE: join(ws.dir, "cache") };
  const env = { PATH: `${shim(ws.dir)}:${ws.env.PATH}`, SSH_AUTH_SOCK: "/nonexistent", ...cache };
  const lines: string[] = [];
  const stacks = [
    ["zero", 0],
    ["fleet", WORKERS],
  ] as const;
  const ups: Record<string, string> = {};
  for (const [stack, workers] of stacks) {
    const [first, config] = listed(ws.dir, sshCluster(workers, roots, ["k8s.example.com"]), `workers-${stack}.json`);
    ws.writeStack(stack, [first]);
    console.log(`3 + ${workers}: ${config}`);
    await ws.init(stack);
    const [up, upSeconds] = await timed(() =>
      ws.run(["up", "--stack", stack, "--yes", "--non-interactive", "--skip-preview", ...NO_CLUSTER], { env, timeoutMs: 3_600_000 }),
    );
    if (up.code !== 0) throw new Error(describeRun(up));
    ws.writeStack(stack, [listed(ws.dir, sshCluster(workers, roots, ["k8s.example.com", "new.example.com"]), `workers-${stack}.json`)[0]]);
    ups[stack] = `(${config}): first up ${upSeconds.toFixed(1)} s`;
  }
  // The previews alternate between the stacks, REPEAT rounds, so that both see the same load on shared cores; the
  // ratio is of the medians.
  const previews: Record<string, number[]> = { zero: [], fleet: [] };
  for (let round = 0; round < REPEAT; round++) {
    for (const [stack] of stacks) {
      const [preview, seconds] = await timed(() =>
        ws.run(["preview", "--stack", stack, "--non-interactive", ...NO_CLUSTER], { env, timeoutMs: 3_600_000 }),
      );
      if (preview.code !== 0) throw new Error(describeRun(preview));
      previews[stack]!.push(seconds);
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  for (const [stack, workers] of stacks) {
    const resources = (await ws.exportState(stack)).deployment.resources.length;
    lines.push(
      `${LOCAL ? "local" : "ssh"}, 3 + ${workers} workers ${ups[stack]}; SAN preview median ${median(previews[stack]!).toFixed(1)} s ` +
        `(${previews[stack]!.map((x) => x.toFixed(1)).join(", ")}); ${resources} resources; state ${(await stateMiB(ws, stack)).toFixed(2)} MiB`,
    );
    console.log(lines[lines.length - 1]);
  }
  console.log(`preview ratio (medians): ${(median(previews.fleet!) / median(previews.zero!)).toFixed(2)}`);
  if (LOCAL_WORKERS === 0) return;
  const local = clusterConfig("b", 3, LOCAL_WORKERS, {
    workers: "bootstrap",
    caKeys: "control-plane",
    delivery: { mode: "local", localDirectory: "out" },
  });
  ws.writeStack("local", [local]);
  await ws.init("local");
  const [up, seconds] = await timed(() =>
    ws.run(["up", "--stack", "local", "--yes", "--non-interactive", "--skip-preview"], { env: cache, timeoutMs: 3_600_000 }),
  );
  if (up.code !== 0) throw new Error(describeRun(up));
  lines.push(
    `local, 3 + ${LOCAL_WORKERS} workers: first up ${seconds.toFixed(1)} s (skip-checkpoints); state ${(await stateMiB(ws, "local")).toFixed(2)} MiB`,
  );
  console.log(lines[lines.length - 1]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
