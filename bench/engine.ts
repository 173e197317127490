// Benchmark (not a test): kube-pki under the real Pulumi engine (the toolchain's CLI and plugins), local delivery.
// For a cluster of 3 control-plane nodes + N workers: `pulumi up` from empty, `pulumi preview` of an apiserver SAN
// change, and an unchanged `pulumi up`; wall time, peak RSS of the CLI, the language host, the program (node), each
// provider, and the state file's size. Side by side, in the same run: a bare program with as many plain
// tls.PrivateKey resources. Figures go to docs/benchmarks-engine.md. Usage:
//   npx ts-node -T bench/engine.ts [--workers 2,100,1000] [--skip-checkpoints] [--no-bare]
//   npx ts-node -T bench/engine.ts --switches 100
//   npx ts-node -T bench/engine.ts --versus <commit> 100
//   npx ts-node -T bench/engine.ts --renewal-day 1000 [--until 00:58]
// --versus C N: 3 + N deployed by commit C and by this code side by side (resources, state, SAN-change previews
// alternating), then this code's up of C's stack (the upgrade).
// --switches N: for 3 + N only, the engine's switches (PULUMI_PARALLEL_DIFF, PULUMI_SKIP_CHECKPOINTS) on a SAN-change
// preview and an unchanged up, then the daily renewal run with the default file backend: an up that re-issues the
// leaves of the worst day's nodes under the renewal spread (`--replace` of their certificates) against one that
// re-issues every leaf (all issued on one day, no spread).
// --renewal-day N: what --switches can afford at 3 + 1,000: a first up without checkpoints, then with checkpoints (the
// default file backend) the busiest day's renewal under the spread (those nodes' own leaves), an unchanged up, a
// SAN-change preview, and last the cluster-scoped leaves' renewal (kube-proxy.conf goes to every node: a push update
// per node). Each run prints its figure when it ends and, every 2 minutes, the steps done so far; at --until (HH:MM
// UTC) the running CLI gets SIGINT (it finishes the steps under way and stops) and nothing more starts.
// --skip-checkpoints runs both ups with PULUMI_SKIP_CHECKPOINTS=true (the state is written once, at the end);
// --no-bare leaves out the bare program.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { toolchain, Workspace } from "../test/engine/workspace";
import { renewalSpreadHours } from "../components/model/catalog";
import { DEFAULTS } from "../components/model/config";

interface Sample {
  seconds: number;
  peaks: Record<string, number>;
  code: number | null;
  /** Steps the CLI reported done by operation (created, updated, replaced, deleted original…), from its output. */
  steps: Record<string, number>;
  interrupted: boolean;
}

interface Run {
  promise: Promise<{ code: number | null }>;
  pid: () => number | undefined;
  steps: () => Record<string, number>;
  interrupted: () => boolean;
}

/** Peak RSS (MiB) per program name among the CLI and its descendants, polled every 200 ms while `run` runs. */
async function measure(run: () => Promise<{ code: number | null }>, rootPid: () => number | undefined, cli?: Run): Promise<Sample> {
  const peaks: Record<string, number> = {};
  const start = Date.now();
  const poll = setInterval(() => {
    const root = rootPid();
    if (!root) return;
    const parent = new Map<number, number>();
    for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, "utf8");
        parent.set(Number(p), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
      } catch {
        /* gone */
      }
    }
    const descends = (pid: number): boolean => {
      for (let q = pid, i = 0; q > 1 && i < 50; q = parent.get(q) ?? 0, i++) if (q === root) return true;
      return false;
    };
    for (const pid of parent.keys()) {
      if (!descends(pid)) continue;
      const p = String(pid);
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").filter(Boolean);
        const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0) / 1024;
        const name = nameOf(cmd);
        peaks[name] = Math.max(peaks[name] ?? 0, rss);
      } catch {
        /* gone */
      }
    }
  }, 200);
  // A long run says how far it is, so a run cut short (or still going at a deadline) leaves a figure.
  const progress = setInterval(
    () => console.log(`  … ${((Date.now() - start) / 1000).toFixed(0)} s: ${stepsDone(cli?.steps() ?? {})}, load ${load()}`),
    120_000,
  );
  const r = await run();
  clearInterval(poll);
  clearInterval(progress);
  return { seconds: (Date.now() - start) / 1000, peaks, code: r.code, steps: cli?.steps() ?? {}, interrupted: cli?.interrupted() ?? false };
}

function nameOf(cmd: string[]): string {
  const base = (s: string) => s.split("/").pop() ?? s;
  if (cmd.some((a) => a.endsWith("commandPlugin.ts"))) return "pulumi-resource-command";
  if (cmd.some((a) => a.includes("@pulumi/pulumi/cmd/run"))) return "program (node)";
  if (cmd.some((a) => a.includes("cmd/dynamic-provider"))) return "dynamic provider";
  return base(cmd[0] ?? "?");
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");

/** A step's "done" line in the CLI's non-interactive output (a replacement shows as "replaced", its delete later). */
const STEP_DONE = / (created|updated|deleted|replaced|created replacement|deleted original) \(/;
const stepsDone = (ops: Record<string, number>) =>
  `${Object.values(ops).reduce((a, b) => a + b, 0)} steps done (${Object.entries(ops)
    .map(([op, n]) => `${n} ${op}`)
    .join(", ")})`;

/** When the bench must stop (--until HH:MM, UTC): the running CLI is interrupted then, and nothing more starts. */
const deadline = (() => {
  const i = process.argv.indexOf("--until");
  if (i < 0) return Infinity;
  const [h, m] = process.argv[i + 1]!.split(":").map(Number);
  const d = new Date();
  d.setUTCHours(h!, m!, 0, 0);
  return d.getTime();
})();

/** Runs the CLI like Workspace does, remembering the process group's id for the poller and counting steps done. */
function runCli(ws: Workspace, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  let pid: number | undefined;
  const steps: Record<string, number> = {};
  let interrupted = false;
  const promise = new Promise<{ code: number | null }>((resolve) => {
    const child = spawn(join(process.env.KUBE_PKI_TOOLCHAIN_BIN!, "pulumi"), args, {
      cwd: ws.dir,
      env: { ...ws.env, ...env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    pid = child.pid;
    // SIGINT to the CLI alone: it cancels, waits for the steps under way and writes the state, as on ^C.
    const stop = setTimeout(
      () => {
        interrupted = true;
        child.kill("SIGINT");
      },
      Math.min(Math.max(0, deadline - Date.now()), 2 ** 31 - 1),
    );
    let partial = "";
    child.stdout.on("data", (d) => {
      const lines = (partial + d).split("\n");
      partial = lines.pop()!;
      for (const op of lines.map((l) => STEP_DONE.exec(l)?.[1]).filter((x) => x !== undefined)) steps[op] = (steps[op] ?? 0) + 1;
    });
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("close", (code) => {
      clearTimeout(stop);
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
      if (code !== 0) console.error(err.slice(-2000));
      resolve({ code });
    });
  });
  return { promise, pid: () => pid, steps: () => steps, interrupted: () => interrupted };
}

const UP = ["up", "--stack", "b", "--yes", "--non-interactive", "--skip-preview"];
const PREVIEW = ["preview", "--stack", "b", "--non-interactive"];
const fmt = (s: Sample) => `${s.seconds.toFixed(1)} s${s.interrupted ? " (INTERRUPTED at --until)" : s.code === 0 ? "" : " (FAILED)"}`;
const cliOf =
  (ws: Workspace) =>
  async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = runCli(ws, args, env);
    return measure(() => r.promise, r.pid, r);
  };

const cluster = (workers: number, sans: string[] = ["k8s.bench.example.com"]) => [
  {
    name: "b",
    serviceSubnet: "10.96.0.0/12",
    controlPlaneEndpoint: "api.b.example:6443",
    apiServer: { certSANs: sans },
    delivery: { mode: "local", localDirectory: "out" },
    nodes: [
      ...Array.from({ length: 3 }, (_, i) => ({ name: `cp-${i + 1}`, role: "control-plane", address: `10.0.0.${i + 1}` })),
      ...Array.from({ length: workers }, (_, i) => ({
        name: `w-${i + 1}`,
        role: "worker",
        address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      })),
    ],
  },
];

/** A program of `n` plain tls.PrivateKey resources, in the same project layout. */
function bareProgram(ws: Workspace, n: number): void {
  writeFileSync(
    join(ws.dir, "index.ts"),
    `import * as tls from "@pulumi/tls";
const n = Number(${n});
for (let i = 0; i < n; i++) new tls.PrivateKey(\`k-\${i}\`, { algorithm: "ECDSA", ecdsaCurve: "P256" });
`,
  );
}

const stateSize = (ws: Workspace) => {
  const dir = join(ws.backend, ".pulumi", "stacks");
  let bytes = 0;
  const walk = (d: string) =>
    readdirSync(d).forEach((e) => {
      const f = join(d, e);
      const s = statSync(f);
      if (s.isDirectory()) walk(f);
      else if (f.endsWith(".json")) bytes += s.size;
    });
  walk(dir);
  return bytes;
};

/** Bytes of the exported state by resource type, largest first: where the state's size comes from. */
function stateByType(state: any): string[] {
  const by = new Map<string, { n: number; bytes: number }>();
  let total = 0;
  for (const r of state.deployment.resources) {
    const bytes = Buffer.byteLength(JSON.stringify(r));
    const e = by.get(r.type) ?? { n: 0, bytes: 0 };
    by.set(r.type, { n: e.n + 1, bytes: e.bytes + bytes });
    total += bytes;
  }
  return [...by]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .slice(0, 5)
    .map(
      ([type, e]) =>
        `| \`${type}\` | ${e.n.toLocaleString("en-US")} | ${Math.round(e.bytes / e.n).toLocaleString("en-US")} | ${Math.round((100 * e.bytes) / total)} % |`,
    );
}

/** The nodes whose leaves renew on the busiest day under the spread (days counted from the earliest renewal). */
function worstDay(workers: number): string[] {
  const spread = {
    name: "b",
    validity: { leafHours: DEFAULTS.leafHours, earlyRenewalHours: DEFAULTS.earlyRenewalHours, caHours: DEFAULTS.caHours },
  };
  const days = new Map<number, string[]>();
  for (const node of cluster(workers)[0]!.nodes.map((n) => n.name)) {
    const day = Math.floor(renewalSpreadHours(spread, node) / 24);
    days.set(day, [...(days.get(day) ?? []), node]);
  }
  return [...days.values()].sort((a, b) => b.length - a.length)[0]!;
}

/** 3 + N deployed by a first up without checkpoints (as the README advises), and its certificates' URNs by owner. */
async function deployed(label: string, workers: number) {
  const ws = await Workspace.create(`${label}-${workers}`, { b: cluster(workers) });
  await ws.init("b");
  const cli = cliOf(ws);
  console.log(
    `3 + ${workers}: up from empty (skip checkpoints) ${fmt(await cli(UP, { PULUMI_SKIP_CHECKPOINTS: "true" }))}, load ${load()}`,
  );
  const resources = (await ws.exportState("b")).deployment.resources;
  console.log(`resources ${resources.length}, state ${(stateSize(ws) / 1048576).toFixed(1)} MiB`);
  const certs: string[] = resources
    .filter((r: any) => r.type === "tls:index/locallySignedCert:LocallySignedCert")
    .map((r: any) => r.urn as string);
  const ofNode = (u: string, n: string) => u.endsWith(`-${n}-cert`) || u.endsWith(`-${n}-client-cert`);
  const nodes = cluster(workers)[0]!.nodes.map((n) => n.name);
  return {
    ws,
    cli,
    certs,
    ofNodes: (names: string[]) => certs.filter((u) => names.some((n) => ofNode(u, n))),
    clusterScoped: certs.filter((u) => !nodes.some((n) => ofNode(u, n))),
  };
}

const replacing = (urns: readonly string[]) => [...UP, ...urns.flatMap((u) => ["--replace", u])];
// Workspace's environment skips checkpoints (for tests): every run here says which it wants.
const CHECKPOINTS = { PULUMI_SKIP_CHECKPOINTS: "false" };

async function switches(workers: number): Promise<void> {
  const { ws, cli, certs, ofNodes, clusterScoped } = await deployed("switches", workers);
  const worst = worstDay(workers);
  for (const [label, urns] of [
    [`spread: worst day, ${worst.length} nodes (${worst.join(" ")}) + cluster-scoped`, [...ofNodes(worst), ...clusterScoped]],
    ["no spread: every leaf", certs],
  ] as const)
    console.log(
      `| renewal up, checkpoints (default) | ${label} | ${urns.length} certificates | ${fmt(await cli(replacing(urns), CHECKPOINTS))} |`,
    );
  for (const [label, env] of [
    ["checkpoints (default)", CHECKPOINTS],
    ["checkpoints, PULUMI_PARALLEL_DIFF=true", { ...CHECKPOINTS, PULUMI_PARALLEL_DIFF: "true" }],
    ["PULUMI_SKIP_CHECKPOINTS=true", { PULUMI_SKIP_CHECKPOINTS: "true" }],
  ] as const)
    console.log(`| unchanged up | ${label} | ${fmt(await cli(UP, env))} |`);
  if (process.argv.includes("--no-preview")) return;
  ws.writeStack("b", cluster(workers, ["k8s.bench.example.com", "new.bench.example.com"]));
  for (const [label, env] of [
    ["default", {}],
    ["PULUMI_PARALLEL_DIFF=true", { PULUMI_PARALLEL_DIFF: "true" }],
  ] as const)
    console.log(`| preview (SAN change) | ${label} | ${fmt(await cli(PREVIEW, env))} |`);
}

/**
 * The daily renewal runs at sizes where --switches takes hours, with the default file backend; each run's figure is
 * printed as it ends (time, steps, load average, the CLI's peak RSS), and nothing starts after --until.
 */
async function renewalDay(workers: number): Promise<void> {
  const { ws, cli, ofNodes, clusterScoped } = await deployed("renewal", workers);
  const worst = worstDay(workers);
  const row = (label: string, certificates: number | string, s: Sample) =>
    console.log(
      `| ${label} | ${certificates} | ${stepsDone(s.steps)} | ${fmt(s)} | ${load()} | ${(s.peaks["pulumi"] ?? 0).toFixed(0)} MiB | state ${(stateSize(ws) / 1048576).toFixed(1)} MiB |`,
    );
  const runs: [string, () => Promise<void>][] = [
    [
      "busiest day",
      async () => {
        const urns = ofNodes(worst);
        row(
          `renewal up, checkpoints: busiest day, ${worst.length} nodes' own leaves (${worst.join(" ")})`,
          urns.length,
          await cli(replacing(urns), CHECKPOINTS),
        );
      },
    ],
    ["unchanged up", async () => row("unchanged up, checkpoints", "–", await cli(UP, CHECKPOINTS))],
    [
      "preview",
      async () => {
        ws.writeStack("b", cluster(workers, ["k8s.bench.example.com", "new.bench.example.com"]));
        row("preview (SAN change)", "–", await cli(PREVIEW));
        ws.writeStack("b", cluster(workers));
      },
    ],
    [
      "cluster-scoped",
      async () =>
        row(
          `renewal up, checkpoints: the cluster-scoped leaves (${clusterScoped.map((u) => u.split("::").pop()).join(" ")})`,
          clusterScoped.length,
          await cli(replacing(clusterScoped), CHECKPOINTS),
        ),
    ],
  ];
  console.log(`busiest day under the spread: ${worst.length} nodes; load at start ${load()}`);
  console.log(`| run (3 + ${workers}) | certificates | steps | time | load after | CLI peak RSS | |\n|---|---:|---|---:|---|---:|---|`);
  for (const [i, [, run]] of runs.entries()) {
    if (Date.now() >= deadline)
      return console.log(
        `--until reached, not run: ${runs
          .slice(i)
          .map(([name]) => name)
          .join(", ")}`,
      );
    await run();
  }
}

/**
 * 3 + N deployed by `commit` (the code before a change) and by this code, on one machine in one run: resources, state,
 * and a SAN-change preview alternating between the two (a preview changes nothing); in between, this code's up of the
 * stack `commit` deployed (the upgrade, without checkpoints) and a count of what it did.
 */
async function versus(commit: string, workers: number): Promise<void> {
  const skip = { PULUMI_SKIP_CHECKPOINTS: "true" };
  const cli = (ws: Workspace, args: string[], env: NodeJS.ProcessEnv = {}) => cliOf(ws)(args, env);
  const sides: [string, Workspace][] = [];
  for (const [label, opts] of [
    [commit, { commit }],
    ["this code", {}],
  ] as const) {
    const ws = await Workspace.create(`versus-${workers}`, { b: cluster(workers) }, opts);
    await ws.init("b");
    console.log(`${label}: up from empty (skip checkpoints) ${fmt(await cli(ws, UP, skip))}`);
    const state = await ws.exportState("b");
    console.log(`${label}: resources ${state.deployment.resources.length}, state ${(stateSize(ws) / 1048576).toFixed(2)} MiB`);
    ws.writeStack("b", cluster(workers, ["k8s.bench.example.com", "new.bench.example.com"]));
    sides.push([label, ws]);
  }
  for (let round = 1; round <= 2; round++)
    for (const [label, ws] of sides) console.log(`| preview (SAN change), round ${round} | ${label} | ${fmt(await cli(ws, PREVIEW))} |`);
  const [, old] = sides[0]!;
  old.writeStack("b", cluster(workers));
  old.useCurrentProject();
  console.log(`upgrade: this code's up of the stack ${commit} deployed (skip checkpoints) ${fmt(await cli(old, UP, skip))}`);
  const after = await old.exportState("b");
  console.log(`upgrade: resources ${after.deployment.resources.length}, state ${(stateSize(old) / 1048576).toFixed(2)} MiB`);
}

async function main(): Promise<void> {
  process.env.KUBE_PKI_TOOLCHAIN_BIN = toolchain();
  const s = process.argv.indexOf("--switches");
  if (s >= 0) return switches(Number(process.argv[s + 1]));
  const d = process.argv.indexOf("--renewal-day");
  if (d >= 0) return renewalDay(Number(process.argv[d + 1]));
  const v = process.argv.indexOf("--versus");
  if (v >= 0) return versus(process.argv[v + 1]!, Number(process.argv[v + 2]));
  const skipCheckpoints = process.argv.includes("--skip-checkpoints");
  const bareToo = !process.argv.includes("--no-bare");
  // Explicit both ways: Workspace's environment skips checkpoints (for tests).
  const upEnv = { PULUMI_SKIP_CHECKPOINTS: skipCheckpoints ? "true" : "false" };
  const i = process.argv.indexOf("--workers");
  const sizes = (i >= 0 ? process.argv[i + 1]! : "2,100,1000").split(",").map(Number);
  const rows: string[] = [];
  const MAIN = /^(pulumi|pulumi-language-nodejs|program \(node\)|pulumi-resource-.*|dynamic provider)$/;
  const mem = (s: Sample) =>
    Object.entries(s.peaks)
      .filter(([k]) => MAIN.test(k))
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(", ");
  for (const workers of sizes) {
    const ws = await Workspace.create(`bench-${workers}`, { b: cluster(workers) });
    await ws.init("b");
    const cli = cliOf(ws);
    const up = await cli(UP, upEnv);
    const state = await ws.exportState("b");
    const resources = state.deployment.resources.length;
    const size = stateSize(ws);
    console.log(
      [`state of 3 + ${workers} by type:`, "| type | resources | bytes each | share |", "|---|---:|---:|---:|", ...stateByType(state)].join(
        "\n",
      ),
    );
    ws.writeStack("b", cluster(workers, ["k8s.bench.example.com", "new.bench.example.com"]));
    const preview = await cli(PREVIEW);
    ws.writeStack("b", cluster(workers));
    const same = await cli(UP, upEnv);
    rows.push(
      `| 3 + ${workers.toLocaleString("en-US")} | kube-pki | ${resources.toLocaleString("en-US")} | ${fmt(up)} | ${fmt(preview)} | ${fmt(same)} | ${(size / 1048576).toFixed(1)} | ${mem(up)} |`,
    );
    console.log(rows[rows.length - 1]);
    if (!bareToo) continue;

    const bare = await Workspace.create(`bare-${workers}`, { b: stringify({ config: {} }) });
    bareProgram(bare, resources);
    await bare.init("b");
    const bareCli = cliOf(bare);
    const bUp = await bareCli(UP, upEnv);
    const bPreview = await bareCli(PREVIEW);
    const bSame = await bareCli(UP, upEnv);
    rows.push(
      `| 3 + ${workers.toLocaleString("en-US")} | bare tls.PrivateKey | ${resources.toLocaleString("en-US")} | ${fmt(bUp)} | ${fmt(bPreview)} (no change) | ${fmt(bSame)} | ${(stateSize(bare) / 1048576).toFixed(1)} | ${mem(bUp)} |`,
    );
    console.log(rows[rows.length - 1]);
  }
  if (skipCheckpoints) console.log("\n(both ups with PULUMI_SKIP_CHECKPOINTS=true)");
  console.log(
    [
      "",
      "| cluster | program | resources | up from empty | preview (SAN change) | unchanged up | state MiB | peak RSS MiB during up (by process) |",
      "|---|---|---:|---:|---:|---:|---:|---|",
      ...rows,
    ].join("\n"),
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
