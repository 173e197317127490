// Benchmark (not a test): how the offline render and the program's evaluation scale with the node count. Renders one
// cluster of 3 control-plane nodes + N workers (ECDSA-P256) for several N, each in a fresh child process, and prints
// wall time, peak RSS and time per node; linear scaling shows as a flat "ms per node" column. Figures go to
// docs/benchmarks-scale.md. Usage:
//   npx ts-node -T bench/scale.ts [--workers 250,500,1000,2000] [--profile <N>]
// --profile N writes a V8 CPU profile (.cpuprofile, for Chrome DevTools) of the render of 3 + N into the current
// directory, and prints the 25 functions with the most self time.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderClusters } from "../offline/render";

const cluster = (workers: number) => ({
  name: "big",
  serviceSubnet: "10.96.0.0/12",
  controlPlaneEndpoint: "api.big.example:6443",
  keyAlgorithm: "ECDSA-P256",
  nodes: [
    ...Array.from({ length: 3 }, (_, i) => ({ name: `cp-${i + 1}`, role: "control-plane", address: `10.0.0.${i + 1}` })),
    ...Array.from({ length: workers }, (_, i) => ({
      name: `w-${i + 1}`,
      role: "worker",
      address: `10.${1 + Math.floor(i / 62500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`,
    })),
  ],
});

async function child(workers: number): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), "kube-pki-scale-"));
  const start = process.hrtime.bigint();
  let summary = "";
  await renderClusters([cluster(workers)], out, {
    log: (l) => {
      summary = l;
    },
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  rmSync(out, { recursive: true, force: true });
  console.log(JSON.stringify({ workers, seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024, summary }));
}

function topSelfTime(profileFile: string): string[] {
  const p = JSON.parse(readFileSync(profileFile, "utf8")) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const byFn = new Map<string, number>();
  for (const n of p.nodes) {
    const key = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*node_modules\//, "").replace(/^.*\/work\/main\//, "")}:${n.callFrame.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + (self.get(n.id) ?? 0));
  }
  const total = [...byFn.values()].reduce((a, b) => a + b, 0);
  return [...byFn]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--child") return child(Number(args[1]));
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const profile = flag("--profile");
  // As `npm run render` runs it: a batch of workers per evaluation, the heap capped at 768 MiB (package.json).
  const self = (extra: string[], workers: number) =>
    execFileSync(process.execPath, ["--max-old-space-size=768", ...extra, ...process.execArgv, __filename, "--child", String(workers)], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    });
  if (profile) {
    const dir = mkdtempSync(join(process.cwd(), ".cpuprofile-"));
    console.log(self([`--cpu-prof`, `--cpu-prof-dir=${dir}`], Number(profile)).trim());
    const file = join(dir, readdirSync(dir)[0]!);
    console.log(`profile: ${file}\n${topSelfTime(file).join("\n")}`);
    return;
  }
  const sizes = (flag("--workers") ?? "250,500,1000,2000").split(",").map(Number);
  console.log("| nodes | certificates | wall s | ms per node | peak RSS MiB |\n|---:|---:|---:|---:|---:|");
  for (const workers of sizes) {
    const r = JSON.parse(self([], workers).trim().split("\n").pop()!) as { seconds: number; peakRssMiB: number; summary: string };
    const certs = /(\d[\d,]*) certificates/.exec(r.summary)?.[1] ?? "?";
    console.log(
      `| 3 + ${workers.toLocaleString("en-US")} | ${certs} | ${r.seconds.toFixed(1)} | ${((1000 * r.seconds) / (workers + 3)).toFixed(1)} | ${r.peakRssMiB.toFixed(0)} |`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
