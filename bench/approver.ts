// Benchmark (not a test): kubelet serving CSRs decided per second by kube-pki-csr-approver on a real control plane
// (test/cluster/approverLab.ts: one control-plane node, the controller-manager signing what is approved). N Nodes,
// each submits `per` serving CSRs for itself and 2 forged ones (a neighbour's IP; client auth usage), all while the
// approver is stopped; then the approver starts and the clock runs until every CSR is decided. Needs root and the
// toolchain; run isolated (scripts/isolated.sh). Figures: docs/benchmarks-approver.md.
//   npx ts-node -T bench/approver.ts [--nodes 50] [--per 18] [--settings 100/200/8,20/40/8]   (qps/burst/workers per round)
// Progress is read from the approver's log (a line per decision), so that polling adds no load to the API server.
import { parseArgs } from "node:util";
import { ApproverLab, sleep } from "../test/cluster/approverLab";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "50" },
    per: { type: "string", default: "18" },
    settings: { type: "string", default: "100/200/8,20/40/8" },
  },
});
const nodes = Number(values.nodes);
const per = Number(values.per);
const USAGES = ["digital signature", "server auth"];

async function pool<T>(items: readonly T[], width: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await f(items[next++]!);
    }),
  );
}

async function main(): Promise<void> {
  const lab = await ApproverLab.start();
  try {
    const adminAuth = lab.admin;
    const names = Array.from({ length: nodes }, (_, i) => `w-${i + 1}`);
    const ip = (i: number) => `10.89.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    await pool(
      names.map((n, i) => [n, i] as const),
      8,
      ([n, i]) => lab.createNode(n, ip(i)),
    );
    // One valid and two forged requests per node (the approver's work does not depend on the key being fresh).
    const work = names.map((n, i) => ({
      name: n,
      auth: lab.nodeClient(n),
      valid: lab.servingRequest(`system:node:${n}`, { dns: [n], ip: [ip(i)] }),
      foreignIp: lab.servingRequest(`system:node:${n}`, { dns: [n], ip: [ip((i + 1) % nodes)] }),
      clientUsage: lab.servingRequest(`system:node:${n}`, { dns: [n] }),
    }));
    const rows: string[] = [];
    for (const [round, setting] of values.settings!.split(",").entries()) {
      const [qps, burst, workers] = setting.split("/");
      const submissions = work.flatMap((w) => [
        ...Array.from({ length: per }, (_, k) => ({ auth: w.auth, name: `r${round}-${w.name}-ok-${k}`, request: w.valid, usages: USAGES })),
        { auth: w.auth, name: `r${round}-${w.name}-forged-ip`, request: w.foreignIp, usages: USAGES },
        { auth: w.auth, name: `r${round}-${w.name}-forged-usage`, request: w.clientUsage, usages: [...USAGES, "client auth"] },
      ]);
      await pool(submissions, 32, (s) => lab.submit(s.auth, s.name, s.request, s.usages));
      const start = Date.now();
      lab.startApprover([`--qps=${qps}`, `--burst=${burst}`, `--workers=${workers}`]);
      let first = 0;
      for (;;) {
        const decided = lab.decisions();
        if (decided > 0 && !first) first = Date.now();
        if (decided >= submissions.length) break;
        if (Date.now() - start > 600_000) throw new Error(`round ${round}: ${decided} of ${submissions.length} decided after 600 s`);
        await sleep(50);
      }
      const end = Date.now();
      await lab.stopApprover();
      const r = await lab.api("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests", adminAuth);
      const list = JSON.parse(r.body).items.filter((c: any) => c.metadata.name.startsWith(`r${round}-`));
      const has = (c: any, t: string) => (c.status?.conditions ?? []).some((x: any) => x.type === t);
      const forgedApproved = list.filter((c: any) => c.metadata.name.includes("-forged-") && has(c, "Approved")).length;
      const validDenied = list.filter((c: any) => c.metadata.name.includes("-ok-") && !has(c, "Approved")).length;
      const n = submissions.length;
      rows.push(
        `| ${qps}/${burst}/${workers} | ${n} (${nodes * per} valid, ${nodes * 2} forged) | ${((end - start) / 1000).toFixed(1)} s | ` +
          `${((end - first) / 1000).toFixed(1)} s | ${(n / ((end - first) / 1000)).toFixed(0)} | ${forgedApproved} | ${validDenied} |`,
      );
      console.log(rows[rows.length - 1]);
    }
    console.log(
      "| --qps/--burst/--workers | CSRs | approver start → all decided | first → last decision | decisions/s | forged approved | valid not approved |",
    );
    console.log("|---|---|---|---|---|---|---|");
    rows.forEach((r) => console.log(r));
  } finally {
    await lab.stop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
