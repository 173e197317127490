// Benchmark (not a test): the component package against the stack program under the real engine (the toolchain's
// CLI, Node.js and YAML hosts, plugins; local delivery; PULUMI_SKIP_CHECKPOINTS as the engine tests run), for the dev
// stack's cluster (3 control-plane nodes + 2 workers): `pulumi preview` of a new stack, then `pulumi up` from empty,
// run by the TypeScript program (index.ts, stacks/Pulumi.dev.yaml) and by a Pulumi YAML program whose KubePki
// resource has the same cluster (examples/yaml's shape), one after the other in the same run. Figures go to
// docs/benchmarks-component.md. Usage: npx ts-node -T bench/component.ts
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { describeRun, REPO, Workspace } from "../test/engine/workspace";

const DEV = readFileSync(join(REPO, "stacks/Pulumi.dev.yaml"), "utf8");

async function timed(ws: Workspace, args: string[]): Promise<number> {
  const start = Date.now();
  const r = await ws.run(args);
  if (r.code !== 0) throw new Error(describeRun(r));
  return (Date.now() - start) / 1000;
}

async function measure(ws: Workspace): Promise<{ preview: number; up: number; resources: number }> {
  await ws.init("dev");
  const preview = await timed(ws, ["preview", "--stack", "dev", "--non-interactive"]);
  const up = await timed(ws, ["up", "--stack", "dev", "--yes", "--non-interactive", "--skip-preview"]);
  const resources = (await ws.exportState("dev")).deployment.resources.length;
  return { preview, up, resources };
}

(async () => {
  const ts = await measure(await Workspace.create("bench-ts", { dev: DEV }));
  const yamlWs = await Workspace.create("bench-yaml", {});
  const clusters = (parse(DEV) as any).config["kube-pki:clusters"];
  writeFileSync(
    join(yamlWs.dir, "Pulumi.yaml"),
    stringify({
      name: "kube-pki-yaml",
      runtime: "yaml",
      packages: { "kube-pki": join(REPO, "component") },
      resources: { pki: { type: "kube-pki:index:KubePki", properties: { clusters } } },
      outputs: { rotation: "${pki.rotation}", trustRoots: "${pki.trustRoots}" },
    }),
  );
  const yaml = await measure(yamlWs);
  const row = (what: string, m: typeof ts) => `| ${what} | ${m.resources} | ${m.preview.toFixed(1)} s | ${m.up.toFixed(1)} s |`;
  console.log(
    [
      "| program | resources in the state | preview of a new stack | up from empty |",
      "|---|---:|---:|---:|",
      row("TypeScript (index.ts)", ts),
      row("YAML (KubePki component)", yaml),
      `| ratio YAML / TypeScript | | ${(yaml.preview / ts.preview).toFixed(2)} | ${(yaml.up / ts.up).toFixed(2)} |`,
    ].join("\n"),
  );
})();
