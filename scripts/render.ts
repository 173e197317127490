// npm run render -- --stack <stack> --out <dir>
// Writes every node's files of every cluster of a stack, offline (see offline/render.ts and the README).
import { resolve } from "node:path";
import { ConfigError } from "../components";
import { RENDER_NOTICE, renderClusters } from "../offline/render";
import { readStackConfig } from "../offline/stackFile";
import { parseFlags } from "./cli";

async function main(): Promise<void> {
  const flags = parseFlags("npm run render -- --stack <stack> --out <dir>");
  const stack = flags.one("--stack") ?? flags.fail("--stack is required");
  const out = resolve(flags.one("--out") ?? flags.fail("--out is required"));
  console.log(`kube-pki render: stack ${stack} -> ${out}\n${RENDER_NOTICE}`);
  const config = readStackConfig(stack);
  const rendered = await renderClusters(config.clusters, out, { log: (line) => console.log(line) });
  for (const r of rendered) console.log(`${r.cluster}: nodes ${Object.keys(r.nodes).join(", ")}; operator kubeconfig ${out}/${r.cluster}/admin.conf`);
}

main().catch((e) => {
  console.error(e instanceof ConfigError ? `${e.message}\nNothing was written.` : `kube-pki render failed: ${e instanceof Error ? e.message : e}\nNothing was written.`);
  process.exit(1);
});
