// workers: bootstrap under the real engine, local delivery: the number of workers adds no resource, an unchanged
// stack previews no change, and a bootstrap-token window rollover changes exactly the tokens and the shard pushes.
// The token Secrets go through the Kubernetes provider in its render mode (local delivery: manifests beside the node
// directories, see README "Workers"), so no API server is needed here; the real control-plane tests apply them.
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { clusterConfig } from "../support";
import { changedSteps, describeRun, Workspace } from "./workspace";
import { tokenWindows } from "../../components/model/bootstrap";

const NOW = "2026-12-07T12:00:00Z";
/** tokenHours 168: windows of 84 h; this is the next window after NOW's. */
const NEXT_WINDOW = "2026-12-11T12:00:00Z";
const bootstrapCluster = (workers: number) =>
  clusterConfig("b", 3, workers, { workers: "bootstrap", caKeys: "control-plane", delivery: { mode: "local", localDirectory: "out" } });
const windowsAt = (now: string) => tokenWindows({ name: "b", bootstrap: { tokenHours: 168, signingHours: 72 } }, new Date(now));
const at = (now: string) => ({ env: { KUBE_PKI_NOW: now } });

describe("engine: workers: bootstrap (local delivery)", function () {
  this.timeout(1_200_000);
  let ws: Workspace;
  let resources: Record<string, number>;

  before(async () => {
    ws = await Workspace.create("bootstrap", { none: [bootstrapCluster(0)], many: [bootstrapCluster(40)] });
    resources = {};
    for (const stack of ["none", "many"]) {
      await ws.init(stack);
      const r = await ws.run(["up", "--stack", stack, "--yes", "--non-interactive", "--skip-preview"], at(NOW));
      assert.equal(r.code, 0, describeRun(r));
      resources[stack] = (await ws.exportState(stack)).deployment.resources.length;
    }
  });

  it("40 workers add only the shard pushes and their component to 0 workers' resources", async () => {
    const state = await ws.exportState("many");
    const shards = state.deployment.resources.filter((r: any) => /::b-join-\d\d$/.test(r.urn)).length;
    assert.ok(shards > 0 && shards <= 40, `${shards} shards`);
    assert.equal(resources.many! - resources.none!, shards + 1);
  });

  it("puts the three join files on every listed worker, and no kubelet.conf or serving key", () => {
    const dir = join(ws.dir, "out", "b", "w-17", "etc", "kubernetes");
    assert.deepEqual(readdirSync(dir).sort(), ["bootstrap-kubelet.conf", "kube-proxy.conf", "pki"]);
    assert.deepEqual(readdirSync(join(dir, "pki")), ["ca.crt"]);
    const kubeconfig = parse(readFileSync(join(dir, "bootstrap-kubelet.conf"), "utf8"));
    assert.match(kubeconfig.users[0].user.token, new RegExp(`^${windowsAt(NOW).current.id}\\.[a-z0-9]{16}$`));
    assert.equal(existsSync(join(ws.dir, "out", "b", "w-17", "var", "lib", "kubelet")), false);
  });

  it("renders both kept tokens' Secrets as kube-system bootstrap-token manifests", () => {
    const windows = windowsAt(NOW);
    const texts = listFiles(join(ws.dir, "out", "b", "_bootstrap")).map((f) => readFileSync(f, "utf8"));
    for (const w of windows.kept) {
      const doc = texts.map((t) => parse(t)).find((d) => d?.metadata?.name === `bootstrap-token-${w.id}`);
      assert.ok(doc, `no manifest for bootstrap-token-${w.id}`);
      assert.equal(doc.type, "bootstrap.kubernetes.io/token");
      assert.equal(doc.metadata.namespace, "kube-system");
    }
  });

  it("an unchanged stack previews no change", async () => {
    const r = await ws.run(["preview", "--stack", "many", "--json", "--non-interactive"], at(NOW));
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(changedSteps({ ...JSON.parse(r.stdout), exitCode: r.code }), []);
  });

  it("a token window rollover changes exactly the tokens and the shard pushes", async () => {
    const r = await ws.run(["preview", "--stack", "many", "--json", "--non-interactive"], at(NEXT_WINDOW));
    const steps = changedSteps({ ...JSON.parse(r.stdout), exitCode: r.code });
    const before = windowsAt(NOW);
    const after = windowsAt(NEXT_WINDOW);
    const state = await ws.exportState("many");
    const shards = state.deployment.resources.filter((r: any) => /::b-join-\d\d$/.test(r.urn)).map((r: any) => r.urn.split("::").pop());
    assert.deepEqual(
      steps,
      [
        `create kubernetes:core/v1:Secret::b-bootstrap-token-${after.current.id}-secret`,
        `create pulumi-nodejs:dynamic/kube-pki:BootstrapTokenSecret::b-bootstrap-token-${after.current.id}`,
        `delete kubernetes:core/v1:Secret::b-bootstrap-token-${before.kept[0]!.id}-secret`,
        `delete pulumi-nodejs:dynamic/kube-pki:BootstrapTokenSecret::b-bootstrap-token-${before.kept[0]!.id}`,
        ...shards.map((s: string) => `update command:local:Command::${s}`),
      ].sort(),
    );
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
