// Secrets: every private key and every kubeconfig holding one is secret in the outputs and in every input it flows
// into. Run with the tls stand-in NOT marking the provider's secret outputs (as the plain mock monitor behaves), so
// that what is asserted is the program's own secret wrapping; that the provider outputs are declared secret is
// asserted through additionalSecretOutputs, read off the resource monitor.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Evaluation, isWrappedSecret, RegisteredResource, valueOf } from "../offline/evaluate";
import { StackProgram } from "../components";
import { clusterConfig, runStack, T } from "./support";

/** Paths of every string holding key material (a PEM private key, or a kubeconfig's client-key-data) outside a secret. */
function exposedKeyMaterial(value: unknown, path: string, out: string[]): void {
  if (isWrappedSecret(value)) return;
  if (typeof value === "string") {
    if (/PRIVATE KEY-----|client-key-data/.test(value)) out.push(path);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => exposedKeyMaterial(v, `${path}[${i}]`, out));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) exposedKeyMaterial(v, `${path}.${k}`, out);
  }
}

describe("secrets", () => {
  let ev: Evaluation<StackProgram>;
  before(async () => {
    ev = await runStack([clusterConfig("s", 3, 2, { users: [{ name: "alice", groups: ["dev"] }], caKeys: "control-plane" })],
      { tls: { markSecretOutputs: false } });
  });

  it("no input of any resource carries key material outside a secret", () => {
    const exposed: string[] = [];
    for (const r of ev.resources) exposedKeyMaterial(r.inputs, `${r.name}.inputs`, exposed);
    assert.deepEqual(exposed, []);
    // And the check can fail: the stand-in's own (unmarked) PrivateKey state does hold bare PEMs.
    const state: string[] = [];
    exposedKeyMaterial(ev.resources.find((r) => r.type === T.key)!.state, "state", state);
    assert.ok(state.length > 0);
  });

  it("every private key is wrapped secret where it flows into a CertRequest, SelfSignedCert or LocallySignedCert", () => {
    const flows = ev.resources.flatMap((r: RegisteredResource) =>
      (["privateKeyPem", "caPrivateKeyPem"] as const).filter((k) => k in r.inputs).map((k) => [r, k] as const));
    assert.equal(flows.length, ev.resources.filter((r) => [T.csr, T.selfSigned, T.signed].includes(r.type as any)).length);
    for (const [r, k] of flows) assert.ok(isWrappedSecret(r.inputs[k]), `${r.name}.${k} is not secret`);
  });

  it("every tls.PrivateKey declares its key outputs secret (additionalSecretOutputs)", () => {
    const keys = ev.resources.filter((r) => r.type === T.key);
    assert.equal(keys.length, 43 + 1 + 1, "one key per certificate of the 3+2 table, alice and the service account");
    for (const k of keys) {
      // The tls SDK adds these names itself and we declare them again; what matters is the set.
      assert.deepEqual([...new Set(k.additionalSecretOutputs)].sort(), ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"], k.name);
    }
  });

  it("stack outputs: kubeconfigs are secret, CA certificates and the inventory are not", async () => {
    const o = ev.result.outputs;
    assert.equal(await pulumi.isSecret(o.adminKubeconfigs), true);
    assert.equal(await pulumi.isSecret(o.userKubeconfigs), true);
    assert.equal(await pulumi.isSecret(o.caCertificates), false);
    assert.equal(await pulumi.isSecret(o.inventory), false);
    const inventory = JSON.stringify(await valueOf(o.inventory));
    assert.ok(!/PRIVATE KEY|BEGIN CERTIFICATE/.test(inventory), "the inventory holds no PEM at all");
  });

  it("every file content a node receives is secret exactly when it holds a key", async () => {
    const pki = ev.result.clusters[0]!;
    let keyFiles = 0;
    for (const bundle of pki.catalog.bundles) {
      for (const file of bundle.files) {
        const holdsKey = file.content === "private-key" || file.content === "kubeconfig";
        keyFiles += holdsKey ? 1 : 0;
        assert.equal(await pulumi.isSecret(pki.contentOf(file)), holdsKey, `${bundle.node}:${file.path}`);
        const text = await valueOf(pki.contentOf(file));
        assert.equal(/PRIVATE KEY-----|client-key-data/.test(text), holdsKey, `${bundle.node}:${file.path} content`);
      }
    }
    assert.ok(keyFiles > 40);
  });

  it("CA private keys reach control-plane nodes only (opt-in), never workers", () => {
    const pki = ev.result.clusters[0]!;
    const caKeyFiles = pki.catalog.bundles.flatMap((b) => b.files.filter((f) => f.content === "private-key" &&
      ["ca", "front-proxy-ca", "etcd-ca"].includes(f.source)).map((f) => `${b.node}:${f.path}`));
    assert.equal(caKeyFiles.length, 9);
    assert.ok(caKeyFiles.every((f) => f.startsWith("cp-")), caKeyFiles.join(" "));
  });
});
