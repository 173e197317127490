// Benchmark (not a test): kube-pki under the real Pulumi engine (the toolchain's CLI and plugins), local delivery.
// For a cluster of 3 control-plane nodes + N workers: `pulumi up` from empty, `pulumi preview` of an apiserver SAN
// change, and an unchanged `pulumi up`; wall time, peak RSS of the CLI, the language host, the program (node), each
// provider, and the state file's size. Side by side, in the same run: a bare program with as many plain
// tls.PrivateKey resources. Figures go to docs/benchmarks-engine.md. Usage:
//   npx ts-node -T bench/engine.ts [--workers 2,100,1000] [--skip-checkpoints] [--no-bare]
// --skip-checkpoints runs both ups with PULUMI_SKIP_CHECKPOINTS=true (the state is written once, at the end);
// --no-bare leaves out the bare program.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { toolchain, Workspace } from "../test/engine/workspace";

interface Sample {
  seconds: number;
  peaks: Record<string, number>;
  code: number | null;
}

/** Peak RSS (MiB) per program name among the CLI and its descendants, polled every 200 ms while `run` runs. */
async function measure(run: () => Promise<{ code: number | null }>, rootPid: () => number | undefined): Promise<Sample> {
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
  const r = await run();
  clearInterval(poll);
  return { seconds: (Date.now() - start) / 1000, peaks, code: r.code };
}

function nameOf(cmd: string[]): string {
  const base = (s: string) => s.split("/").pop() ?? s;
  if (cmd.some((a) => a.endsWith("commandPlugin.ts"))) return "pulumi-resource-command";
  if (cmd.some((a) => a.includes("@pulumi/pulumi/cmd/run"))) return "program (node)";
  if (cmd.some((a) => a.includes("cmd/dynamic-provider"))) return "dynamic provider";
  return base(cmd[0] ?? "?");
}

/** Runs the CLI like Workspace does, remembering the process group's id for the poller. */
function runCli(
  ws: Workspace,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { promise: Promise<{ code: number | null }>; pid: () => number | undefined } {
  let pid: number | undefined;
  const promise = new Promise<{ code: number | null }>((resolve) => {
    const child = spawn(join(process.env.KUBE_PKI_TOOLCHAIN_BIN!, "pulumi"), args, {
      cwd: ws.dir,
      env: { ...ws.env, ...env },
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    });
    pid = child.pid;
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("close", (code) => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
      if (code !== 0) console.error(err.slice(-2000));
      resolve({ code });
    });
  });
  return { promise, pid: () => pid };
}

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

async function main(): Promise<void> {
  const skipCheckpoints = process.argv.includes("--skip-checkpoints");
  const bareToo = !process.argv.includes("--no-bare");
  const upEnv = skipCheckpoints ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {};
  const i = process.argv.indexOf("--workers");
  const sizes = (i >= 0 ? process.argv[i + 1]! : "2,100,1000").split(",").map(Number);
  process.env.KUBE_PKI_TOOLCHAIN_BIN = toolchain();
  const rows: string[] = [];
  const fmt = (s: Sample) => `${s.seconds.toFixed(1)} s${s.code === 0 ? "" : " (FAILED)"}`;
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
    let r = runCli(ws, ["up", "--stack", "b", "--yes", "--non-interactive", "--skip-preview"], upEnv);
    const up = await measure(() => r.promise, r.pid);
    const state = await ws.exportState("b");
    const resources = state.deployment.resources.length;
    const size = stateSize(ws);
    console.log(
      [`state of 3 + ${workers} by type:`, "| type | resources | bytes each | share |", "|---|---:|---:|---:|", ...stateByType(state)].join(
        "\n",
      ),
    );
    ws.writeStack("b", cluster(workers, ["k8s.bench.example.com", "new.bench.example.com"]));
    r = runCli(ws, ["preview", "--stack", "b", "--non-interactive"]);
    const preview = await measure(() => r.promise, r.pid);
    ws.writeStack("b", cluster(workers));
    r = runCli(ws, ["up", "--stack", "b", "--yes", "--non-interactive", "--skip-preview"], upEnv);
    const same = await measure(() => r.promise, r.pid);
    rows.push(
      `| 3 + ${workers.toLocaleString("en-US")} | kube-pki | ${resources.toLocaleString("en-US")} | ${fmt(up)} | ${fmt(preview)} | ${fmt(same)} | ${(size / 1048576).toFixed(1)} | ${mem(up)} |`,
    );
    console.log(rows[rows.length - 1]);
    if (!bareToo) continue;

    const bare = await Workspace.create(`bare-${workers}`, { b: stringify({ config: {} }) });
    bareProgram(bare, resources);
    await bare.init("b");
    r = runCli(bare, ["up", "--stack", "b", "--yes", "--non-interactive", "--skip-preview"], upEnv);
    const bUp = await measure(() => r.promise, r.pid);
    r = runCli(bare, ["preview", "--stack", "b", "--non-interactive"]);
    const bPreview = await measure(() => r.promise, r.pid);
    r = runCli(bare, ["up", "--stack", "b", "--yes", "--non-interactive", "--skip-preview"], upEnv);
    const bSame = await measure(() => r.promise, r.pid);
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
