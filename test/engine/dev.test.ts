// The real Pulumi engine (CLI, language host, tls provider) runs kube-pki's program with the shipped dev stack
// (local delivery): files land where the render puts them, secrets stay encrypted at rest and in outputs, an unchanged
// up changes nothing, and an apiserver SAN change replaces exactly the three apiserver CSRs and certificates and
// re-pushes exactly their three bundles (only the three certificates change on disk). cert-diff reads that real preview,
// and the offline mode agrees with it.
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { planClusters } from "../../components";
import { buildReport, offlineReport, renderText, stepsFromPreview } from "../../offline/certDiff";
import { makeTempDir, run } from "../e2e/proc";
import { certificateProblems, deliveredAndRendered, tree } from "./delivered";
import { checkCapture, changedSteps, describeRun, PreviewJson, REPO, Workspace } from "./workspace";

const DEV_STACK = readFileSync(join(REPO, "stacks/Pulumi.dev.yaml"), "utf8");
const devClusters = () => structuredClone((parse(DEV_STACK) as any).config["kube-pki:clusters"]) as any[];

const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

describe("engine: pulumi up of the dev stack (real CLI and tls provider, local delivery)", function () {
  this.timeout(900_000);
  let ws: Workspace;
  let delivered: string;
  let initial: Record<string, { mode: string; sha: string }>;

  before(async () => {
    ws = await Workspace.create("dev", { dev: DEV_STACK });
    await ws.init("dev");
    const r = await ws.up("dev");
    assert.equal(r.code, 0, describeRun(r));
    delivered = join(ws.dir, "out", "dev", "dev");
    initial = tree(delivered);
  });

  it("puts every file where the render puts it, with the render's modes", async () => {
    for (const { node, have, want } of await deliveredAndRendered(devClusters(), "dev", delivered)) assert.deepEqual(have, want, node);
    assert.ok(Object.keys(initial).length > 60);
  });

  it("issues certificates that verify against their CA with the key they are delivered with", async () => {
    assert.deepEqual(await certificateProblems(delivered), []);
  });

  it("keeps every private key and kubeconfig key encrypted at rest and secret in the outputs", async () => {
    const keys: string[] = [];
    for (const [path] of Object.entries(initial)) {
      const text = readFileSync(join(delivered, path), "utf8");
      for (const m of text.matchAll(/-----BEGIN [A-Z ]*PRIVATE KEY-----\n([\s\S]*?)\n-----END/g)) keys.push(m[1]!.replace(/\n/g, ""));
      for (const m of text.matchAll(/client-key-data: (\S+)/g)) keys.push(m[1]!);
    }
    assert.ok(keys.length > 40, `found ${keys.length} keys`);
    const exported = JSON.stringify(await ws.exportState("dev"));
    const backendFiles: string[] = [];
    const walk = (d: string) =>
      readdirSync(d, { withFileTypes: true }).forEach((e) =>
        e.isDirectory() ? walk(join(d, e.name)) : backendFiles.push(join(d, e.name)),
      );
    walk(ws.backend);
    const atRest = [exported, ...backendFiles.map((f) => readFileSync(f).toString("latin1"))];
    for (const text of atRest) {
      assert.ok(!PEM_KEY.test(text), "no PEM private key header in the state");
      for (const k of keys) assert.ok(!text.includes(k.slice(0, 64)), "no key's base64 DER (or kubeconfig key) in the state");
    }
    const outputs = JSON.parse((await ws.ok(["stack", "output", "--json", "--stack", "dev"])).stdout);
    assert.equal(outputs.adminKubeconfigs, "[secret]");
    assert.equal(outputs.userKubeconfigs, "[secret]");
    assert.match(JSON.stringify(outputs.caCertificates), /BEGIN CERTIFICATE/, "CA certificates are public");
    const shown = JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets", "--stack", "dev"])).stdout);
    assert.match(shown.adminKubeconfigs.dev, /client-key-data: /);
  });

  it("an unchanged up changes nothing", async () => {
    const p = await ws.preview("dev");
    assert.deepEqual(changedSteps(p), []);
    const r = await ws.up("dev");
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(tree(delivered), initial);
  });

  describe("an apiserver certSAN added", () => {
    let preview: PreviewJson;
    const headClusters = () => {
      const c = devClusters();
      c[0].apiServer.certSANs.push("new.dev.example.com");
      return c;
    };

    before(async () => {
      ws.writeStack("dev", headClusters());
      preview = await ws.preview("dev");
      writeFileSync(join(makeTempDir("captures"), "san.json"), JSON.stringify(preview));
    });

    it("preview: exactly 3 CertRequest and 3 LocallySignedCert replaced, the 3 apiserver pushes updated, nothing else", () => {
      assert.equal(preview.exitCode, 0);
      assert.deepEqual(
        changedSteps(preview),
        [
          ...["cp-1", "cp-2", "cp-3"].map((n) => `replace tls:index/certRequest:CertRequest::dev-apiserver-${n}-csr`),
          ...["cp-1", "cp-2", "cp-3"].map((n) => `replace tls:index/locallySignedCert:LocallySignedCert::dev-apiserver-${n}-cert`),
          ...["cp-1", "cp-2", "cp-3"].map((n) => `update command:local:Command::dev-${n}-push-apiserver`),
        ].sort(),
      );
      const csr = preview.steps.find((s) => s.urn.endsWith("::dev-apiserver-cp-1-csr"))!;
      assert.deepEqual(csr.replaceReasons, ["dnsNames"]);
    });

    it("cert-diff reads the real preview, and its offline mode gives the same report", async () => {
      checkCapture(
        "kube-pki-dev-san-added",
        "the dev stack with new.dev.example.com added to apiServer.certSANs",
        devClusters(),
        headClusters(),
        preview,
      );
      const plans = planClusters(headClusters());
      const fromPreview = buildReport("dev", stepsFromPreview(preview), plans);
      assert.deepEqual(
        fromPreview.certificates.map((c) => [c.certificate, c.node, c.operation, c.causes.join(), c.sansAdded.join()]),
        ["cp-1", "cp-2", "cp-3"].map((n) => ["apiserver", n, "re-issue", "spec change (dnsNames)", "DNS:new.dev.example.com"]),
      );
      assert.deepEqual(
        fromPreview.pushes.map((p) => `${p.node} ${p.bundle} ${p.operation}`),
        ["cp-1 apiserver push", "cp-2 apiserver push", "cp-3 apiserver push"],
      );
      const offline = await offlineReport("dev", devClusters(), headClusters());
      assert.equal(offline.notes.length, 1, "the offline report says what it cannot see");
      assert.deepEqual({ ...offline, title: "dev", notes: [] }, fromPreview, renderText(offline));
    });

    it("up: on disk only the three apiserver certificates changed (the key is kept: only an algorithm change replaces it)", async () => {
      const r = await ws.up("dev");
      assert.equal(r.code, 0, describeRun(r));
      const after = tree(delivered);
      const changed = Object.keys(after)
        .filter((p) => after[p]!.sha !== initial[p]?.sha)
        .sort();
      assert.deepEqual(
        changed,
        ["cp-1", "cp-2", "cp-3"].map((n) => `/${n}/etc/kubernetes/pki/apiserver.crt`),
      );
      assert.deepEqual(Object.keys(after).sort(), Object.keys(initial).sort());
      const san = await run("openssl", [
        "x509",
        "-noout",
        "-ext",
        "subjectAltName",
        "-in",
        join(delivered, "cp-2/etc/kubernetes/pki/apiserver.crt"),
      ]);
      assert.match(san.stdout, /DNS:new\.dev\.example\.com/);
    });
  });
});
