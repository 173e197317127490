// Benchmark (not a test): wall time, peak memory and resource count of evaluating the stack program under Pulumi's
// mock runtime, for one cluster of 3 control-plane + 1,000 workers and for 10 clusters of 3 + 50, side by side with a
// bare program that registers the same number of plain resources in the same run. Each measurement runs in a fresh
// child process so that peak RSS is its own. Usage: npm run bench:program [-- --workers 1000]
import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { defineStack, planClusters } from "../components";
import { evaluate } from "../emulator/evaluate";

interface Result {
  scenario: string;
  variant: string;
  resources: number;
  seconds: number;
  peakRssMiB: number;
}

function clusters(count: number, cp: number, workers: number): unknown[] {
  return Array.from({ length: count }, (_, c) => ({
    name: count === 1 ? "big" : `c${c + 1}`,
    serviceSubnet: "10.96.0.0/12",
    controlPlaneEndpoint: `api.c${c}.example:6443`,
    nodes: [
      ...Array.from({ length: cp }, (_, i) => ({ name: `cp-${i + 1}`, role: "control-plane", address: `10.${c}.0.${i + 1}` })),
      ...Array.from({ length: workers }, (_, i) => ({
        name: `w-${i + 1}`,
        role: "worker",
        address: `10.${c}.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`,
      })),
    ],
  }));
}

class Plain extends pulumi.CustomResource {
  constructor(name: string, props: Record<string, unknown>) {
    super("bench:index:Plain", name, props);
  }
}

async function child(scenario: string, variant: string, count: number, cp: number, workers: number): Promise<Result> {
  const raw = clusters(count, cp, workers);
  const start = process.hrtime.bigint();
  let resources: number;
  if (variant === "bare") {
    const n = Number(process.env.BENCH_BARE_COUNT);
    const ev = await evaluate(() => {
      for (let i = 0; i < n; i++) new Plain(`r-${i}`, { commonName: `cn-${i}`, dnsNames: [`n${i}.example`], validityPeriodHours: 8760 });
    });
    resources = ev.resources.length;
  } else {
    const ev = await evaluate(() => defineStack(planClusters(raw)));
    resources = ev.resources.length;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { scenario, variant, resources, seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

const SCENARIOS = [
  { scenario: "1 cluster, 3 + 1,000 workers", count: 1, cp: 3, workers: 1000 },
  { scenario: "10 clusters, 3 + 50 workers", count: 10, cp: 3, workers: 50 },
];

async function main(): Promise<void> {
  const [mode, scenario, variant] = process.argv.slice(2);
  if (mode === "--child") {
    const s = SCENARIOS.find((x) => x.scenario === scenario)!;
    console.log(JSON.stringify(await child(s.scenario, variant!, s.count, s.cp, s.workers)));
    return;
  }
  const rows: Result[] = [];
  const run = (s: string, v: string, env: Record<string, string> = {}) => {
    const out = execFileSync(process.execPath, [...process.execArgv, __filename, "--child", s, v], {
      env: { ...process.env, ...env },
      encoding: "utf8",
      maxBuffer: 1 << 26,
    });
    const r = JSON.parse(out.trim().split("\n").pop()!) as Result;
    rows.push(r);
    console.log(
      `${r.scenario.padEnd(30)} ${r.variant.padEnd(14)} ${String(r.resources).padStart(7)} resources ` +
        `${r.seconds.toFixed(2).padStart(8)} s ${r.peakRssMiB.toFixed(0).padStart(6)} MiB peak RSS`,
    );
    return r;
  };
  console.log(
    `node ${process.version}, ${require("node:os").cpus().length} cores; variants: pki = the stack program with the ` +
      `tls stand-in (real keys and certificates), bare = the same number of plain resources with echo mocks`,
  );
  for (const s of SCENARIOS) {
    const pki = run(s.scenario, "pki");
    run(s.scenario, "bare", { BENCH_BARE_COUNT: String(pki.resources) });
  }
  for (const s of SCENARIOS) {
    const [pki, bare] = ["pki", "bare"].map((v) => rows.find((r) => r.scenario === s.scenario && r.variant === v)!);
    console.log(
      `${s.scenario}: pki/bare time ${(pki!.seconds / bare!.seconds).toFixed(2)}x, ` +
        `pki/bare memory ${(pki!.peakRssMiB / bare!.peakRssMiB).toFixed(2)}x`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
