// Secrets: every private key and every kubeconfig holding one is secret in the outputs and in every input it flows
// into. Run with the tls stand-in NOT marking the provider's secret outputs (as the plain mock monitor behaves) and
// the deploy key handed over as plain text, so that what is asserted is the program's own secret wrapping; that kube-pki
// declares the provider's key outputs secret is read off the options it passes to tls.PrivateKey (the tls SDK adds
// the same names to every PrivateKey itself, so the resource monitor's list cannot tell).
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { evaluate, Evaluation, GROUPS_CSR_TYPE, isWrappedSecret, RegisteredResource, unwrapSecrets, valueOf } from "../emulator/evaluate";
import { defineStack, planClusters, StackProgram } from "../components";
import { clusterConfig, T } from "./support";

/** The tls.PrivateKey outputs holding the private key (PEM, PKCS#8, OpenSSH); its public keys and fingerprints are not. */
const KEY_OUTPUTS = ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"];
const DEPLOY_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFwu3NorCnke+4W3tWap/t5afXAhZDpmCfHUfqO8PhAV";

/** Key material: a PEM private key or a kubeconfig's client-key-data, also base64-encoded (a push's stdin carries each file so). */
function holdsKey(text: string, depth = 2): boolean {
  return (
    /PRIVATE KEY-----|client-key-data/.test(text) ||
    (depth > 0 &&
      (text.match(/[A-Za-z0-9+/]{64,}={0,2}/g) ?? []).some((b) => holdsKey(Buffer.from(b, "base64").toString("latin1"), depth - 1)))
  );
}

/** Walks a resource's inputs: paths of key material outside a secret, and `<type>.<path>` of each secret that holds some. */
function keyMaterial(value: unknown, path: string, type: string, out: { exposed: string[]; secret: Set<string> }): void {
  if (isWrappedSecret(value)) {
    if (holdsKey(JSON.stringify(unwrapSecrets(value)))) out.secret.add(`${type}.${path.replace(/^[^.]*\.inputs\./, "")}`);
  } else if (typeof value === "string") {
    if (holdsKey(value)) out.exposed.push(path);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => keyMaterial(v, `${path}[${i}]`, type, out));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) keyMaterial(v, `${path}.${k}`, type, out);
  }
}

describe("secrets", () => {
  let ev: Evaluation<StackProgram>;
  /** additionalSecretOutputs as kube-pki passes them to each tls.PrivateKey, by resource name. */
  const declared = new Map<string, readonly string[] | undefined>();
  const sdkPrivateKey = Object.getOwnPropertyDescriptor(tls, "PrivateKey")!;
  before(async () => {
    class RecordingPrivateKey extends tls.PrivateKey {
      constructor(name: string, args: tls.PrivateKeyArgs, opts?: pulumi.CustomResourceOptions) {
        declared.set(name, opts?.additionalSecretOutputs && [...opts.additionalSecretOutputs]);
        super(name, args, opts);
      }
    }
    Object.defineProperty(tls, "PrivateKey", { configurable: true, enumerable: true, get: () => RecordingPrivateKey });
    // SSH delivery with a deploy key (pushes, restarts, connections) and a user in two groups (kube-pki's GroupsCertRequest).
    const raw = clusterConfig("s", 3, 2, {
      users: [{ name: "alice", groups: ["dev", "ops"] }],
      caKeys: "control-plane",
      delivery: { mode: "ssh" },
    });
    raw.nodes.forEach((n: any) => {
      n.ssh = { hostKey: HOST_KEY };
    });
    const env = { stack: "s", secret: (k: string) => (k === "sshPrivateKey" ? pulumi.output(DEPLOY_KEY) : undefined) };
    try {
      ev = await evaluate(() => defineStack(planClusters([raw]), env), { tls: { markSecretOutputs: false } });
    } finally {
      Object.defineProperty(tls, "PrivateKey", sdkPrivateKey);
    }
  });

  it("no input of any resource carries key material outside a secret, and every kind of consumer receives some", () => {
    const found = { exposed: [] as string[], secret: new Set<string>() };
    for (const r of ev.resources) keyMaterial(r.inputs, `${r.name}.inputs`, r.type, found);
    assert.deepEqual(found.exposed, []);
    assert.deepEqual(
      [...found.secret].sort(),
      [
        "command:remote:Command.connection", // the deploy key (the command SDK makes the whole connection secret)
        "command:remote:Command.stdin", // the pushed bundles
        `${GROUPS_CSR_TYPE}.privateKeyPem`,
        `${T.csr}.privateKeyPem`,
        `${T.signed}.caPrivateKeyPem`,
        `${T.selfSigned}.privateKeyPem`,
      ].sort(),
    );
  });

  it("every private key is wrapped secret where it flows into a certificate request or certificate", () => {
    const flows = ev.resources.flatMap((r: RegisteredResource) =>
      (["privateKeyPem", "caPrivateKeyPem"] as const).filter((k) => k in r.inputs).map((k) => [r, k] as const),
    );
    assert.equal(flows.length, ev.resources.filter((r) => [T.csr, GROUPS_CSR_TYPE, T.selfSigned, T.signed].includes(r.type as any)).length);
    for (const [r, k] of flows) assert.ok(isWrappedSecret(r.inputs[k]), `${r.name}.${k} is not secret`);
  });

  it("kube-pki itself declares exactly the key outputs of every tls.PrivateKey secret (additionalSecretOutputs)", () => {
    const keys = ev.resources.filter((r) => r.type === T.key);
    assert.equal(keys.length, 43 + 1 + 1, "one key per certificate of the 3+2 table, alice and the service account");
    for (const k of keys) assert.deepEqual([...(declared.get(k.name) ?? [])].sort(), KEY_OUTPUTS, k.name);
    // The constant against the (unmarked) outputs the stand-in makes: of privateKeyPem and publicKeyPem, it holds the one with the key.
    const made = Object.entries(keys[0]!.state).filter(([k]) => k.endsWith("Pem"));
    assert.deepEqual(
      made.filter(([k]) => KEY_OUTPUTS.includes(k)).map(([k]) => k),
      ["privateKeyPem"],
    );
    assert.deepEqual(
      made.filter(([, v]) => holdsKey(String(v))).map(([k]) => k),
      ["privateKeyPem"],
    );
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
    const caKeyFiles = pki.catalog.bundles.flatMap((b) =>
      b.files
        .filter((f) => f.content === "private-key" && ["ca", "front-proxy-ca", "etcd-ca"].includes(f.source))
        .map((f) => `${b.node}:${f.path}`),
    );
    assert.equal(caKeyFiles.length, 9);
    assert.ok(
      caKeyFiles.every((f) => f.startsWith("cp-")),
      caKeyFiles.join(" "),
    );
  });
});
