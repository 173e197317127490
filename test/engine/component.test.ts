// kube-pki's component package under the real CLI: the Pulumi YAML program of examples/yaml (the `packages:` entry
// `pulumi package add` writes, pointing at component/) runs in the YAML language host (pulumi-yaml v1.25.0), which
// loads the package's schema, and the engine constructs KubePki through the Node.js host's RunPlugin. One `pulumi up`
// deploys a two-node cluster's PKI with local delivery; its files pass the dev stack's checks (delivered.ts).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { certificateProblems, deliveredAndRendered } from "./delivered";
import { describeRun, REPO, Workspace } from "./workspace";

const EXAMPLE = readFileSync(join(REPO, "examples/yaml/Pulumi.yaml"), "utf8");
const exampleClusters = () => (parse(EXAMPLE) as any).resources.pki.properties.clusters as any[];

describe("engine: the component package from a Pulumi YAML program (real CLI, YAML host, RunPlugin, local delivery)", function () {
  this.timeout(900_000);
  let ws: Workspace;
  let delivered: string;

  before(async () => {
    // The project copy is there for the toolchain's command stand-in, which runs from the program's directory (the
    // real pulumi-resource-command needs nothing there); the program is the example, with its package path absolute.
    ws = await Workspace.create("yaml", {});
    writeFileSync(join(ws.dir, "Pulumi.yaml"), EXAMPLE.replaceAll("../../component", join(REPO, "component")));
    // The SDK's plugin launcher registers ts-node with the program directory's tsconfig.json and `typeCheck: true`,
    // which ts-node refuses beside swc; a YAML program's directory has no tsconfig.json, this copy's is for the stand-in.
    const tsconfig = JSON.parse(readFileSync(join(ws.dir, "tsconfig.json"), "utf8"));
    writeFileSync(join(ws.dir, "tsconfig.json"), JSON.stringify({ ...tsconfig, "ts-node": { swc: false } }));
    await ws.init("dev");
    const r = await ws.up("dev");
    assert.equal(r.code, 0, describeRun(r));
    delivered = join(ws.dir, "out", "dev", "lab");
  });

  it("puts every file where the render of the same cluster puts it, with the render's modes", async () => {
    const nodes = await deliveredAndRendered(exampleClusters(), "lab", delivered);
    assert.deepEqual(
      nodes.map((n) => n.node),
      ["cp-1", "worker-1"],
    );
    for (const { node, have, want } of nodes) assert.deepEqual(have, want, node);
  });

  it("issues certificates that verify against their CA with the key they are delivered with", async () => {
    assert.deepEqual(await certificateProblems(delivered), []);
  });

  it("keeps the kubeconfigs secret in the outputs and records the trust roots the next update checks", async () => {
    const outputs = JSON.parse((await ws.ok(["stack", "output", "--json", "--stack", "dev"])).stdout);
    assert.equal(outputs.adminKubeconfigs, "[secret]");
    assert.match(outputs.caCertificates.lab.ca, /BEGIN CERTIFICATE/);
    assert.deepEqual(Object.keys(outputs.trustRoots.lab).sort(), ["ca", "etcd-ca", "front-proxy-ca", "sa"]);
  });
});
