// Adopting a cluster that real kubeadm made (`kubeadm init phase certs all`): `npm run adopt` reads its pki/, checks
// it, stores the keys as stack secrets through the real CLI (on stdin) and writes the certificates into the stack
// file; `pulumi up` then issues every leaf from the adopted CAs, which reach the nodes byte for byte, as do sa.key
// and sa.pub. Refused, with the file named and nothing written: a leaf as CA, a key that does not match, an expired
// CA, an RSA key shorter than 2048 bits.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { TlsStandIn } from "../../emulator/tlsStandIn";
import { makeTempDir, run } from "../e2e/proc";
import { clusterConfig } from "../support";
import { describeRun, REPO, Workspace } from "./workspace";

describe("engine: adopting a kubeadm-made PKI (npm run adopt, pulumi up)", function () {
  this.timeout(900_000);
  let ws: Workspace;
  let pki: string;
  const stackFile = () => join(ws.dir, "stacks", "Pulumi.t.yaml");
  const adopt = (dir: string) =>
    spawnSync(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        join(REPO, "scripts", "adopt.ts"),
        "--stack",
        "t",
        "--config",
        stackFile(),
        "--cluster",
        "lab",
        "--dir",
        dir,
      ],
      { encoding: "utf8", env: { ...ws.env, INIT_CWD: ws.dir }, cwd: REPO },
    );

  before(async () => {
    // kubeadm makes the PKI of a control-plane node, as `kubeadm init` would (kubeadm refuses loopback addresses).
    pki = join(makeTempDir("kubeadm"), "pki");
    const cfg = join(makeTempDir("kubeadm-cfg"), "kubeadm.yaml");
    writeFileSync(
      cfg,
      [
        {
          apiVersion: "kubeadm.k8s.io/v1beta4",
          kind: "InitConfiguration",
          localAPIEndpoint: { advertiseAddress: "10.0.0.11", bindPort: 6443 },
          nodeRegistration: { name: "cp-1" },
        },
        {
          apiVersion: "kubeadm.k8s.io/v1beta4",
          kind: "ClusterConfiguration",
          kubernetesVersion: "v1.36.3",
          certificatesDir: pki,
          controlPlaneEndpoint: "api.lab.example:6443",
          networking: { serviceSubnet: "10.96.0.0/12" },
        },
      ]
        .map((d) => stringify(d))
        .join("---\n"),
    );
    const kubeadm = await run("kubeadm", ["init", "phase", "certs", "all", "--config", cfg], { timeoutMs: 60_000 });
    assert.equal(kubeadm.code, 0, kubeadm.stderr);
    ws = await Workspace.create("adopt", { t: [clusterConfig("lab", 1, 1, { delivery: { mode: "local", localDirectory: "out" } })] });
    await ws.init("t");
  });

  /** A copy of kubeadm's pki/ with `change` applied, for the refusals. */
  function variant(change: (dir: string) => void): string {
    const dir = join(makeTempDir("variant"), "pki");
    cpSync(pki, dir, { recursive: true });
    change(dir);
    return dir;
  }

  it("refuses, naming the file, and writes nothing: a leaf as CA, a key that does not match, an expired CA, RSA < 2048", async () => {
    const before = readFileSync(stackFile(), "utf8");
    const dir = makeTempDir("bad");
    const expired = await (async () => {
      const old = new Date(Date.now() - 3 * 86_400_000);
      const tls = new TlsStandIn({ now: () => old });
      const key = await tls.newResource({
        type: "tls:index/privateKey:PrivateKey",
        name: "k",
        inputs: { algorithm: "ECDSA", ecdsaCurve: "P256" },
      } as any);
      const keyPem = (key.state as any).privateKeyPem.value ?? (key.state as any).privateKeyPem;
      const cert = await tls.newResource({
        type: "tls:index/selfSignedCert:SelfSignedCert",
        name: "c",
        inputs: {
          privateKeyPem: keyPem,
          subject: { commonName: "kubernetes" },
          isCaCertificate: true,
          validityPeriodHours: 24,
          allowedUses: ["cert_signing"],
        },
      } as any);
      return { cert: (cert.state as any).certPem as string, key: keyPem as string };
    })();
    execFileSync("openssl", ["genrsa", "-traditional", "-out", join(dir, "weak.key"), "1024"], { stdio: "pipe" });
    execFileSync(
      "openssl",
      ["req", "-x509", "-new", "-key", join(dir, "weak.key"), "-subj", "/CN=kubernetes", "-days", "30", "-out", join(dir, "weak.crt")],
      { stdio: "pipe" },
    );
    const cases: [string, (d: string) => void, RegExp][] = [
      [
        "a leaf as CA",
        (d) => {
          cpSync(join(d, "apiserver.crt"), join(d, "ca.crt"));
          cpSync(join(d, "apiserver.key"), join(d, "ca.key"));
        },
        /pki\/ca\.crt: is not a CA certificate/,
      ],
      [
        "a key that does not match",
        (d) => cpSync(join(d, "front-proxy-ca.key"), join(d, "ca.key")),
        /pki\/ca\.key: the key does not match the certificate/,
      ],
      [
        "an expired CA",
        (d) => {
          writeFileSync(join(d, "ca.crt"), expired.cert);
          writeFileSync(join(d, "ca.key"), expired.key);
        },
        /pki\/ca\.crt: the CA expired on/,
      ],
      [
        "an RSA key shorter than 2048 bits",
        (d) => {
          cpSync(join(dir, "weak.crt"), join(d, "ca.crt"));
          cpSync(join(dir, "weak.key"), join(d, "ca.key"));
        },
        /pki\/ca\.key: the RSA key has 1024 bits/,
      ],
    ];
    for (const [what, change, message] of cases) {
      const r = adopt(variant(change));
      assert.equal(r.status, 1, `${what}: refused\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, what);
      assert.match(r.stderr, /nothing was written/);
      assert.ok(!/PRIVATE KEY/.test(r.stdout + r.stderr), `${what}: no key material in the output`);
      assert.equal(readFileSync(stackFile(), "utf8"), before, `${what}: the stack file is unchanged`);
    }
  });

  it("adopts: keys become stack secrets (encrypted in the file), certificates go into the cluster's adopt section", async () => {
    const r = adopt(pki);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!/PRIVATE KEY/.test(r.stdout + r.stderr));
    const text = readFileSync(stackFile(), "utf8");
    assert.ok(!/PRIVATE KEY/.test(text), "no private key in plain text in the stack file");
    const doc = parse(text);
    assert.equal(doc.config["kube-pki:adopted-lab-ca-key"].secure.startsWith("v1:"), true);
    const adoptSection = doc.config["kube-pki:clusters"][0].adopt;
    assert.equal(adoptSection.ca.certificate, readFileSync(join(pki, "ca.crt"), "utf8"));
    assert.equal(adoptSection.serviceAccount.publicKey, readFileSync(join(pki, "sa.pub"), "utf8"));
    const key = await ws.ok(["config", "get", "adopted-lab-ca-key", "--stack", "t"]);
    assert.equal(key.stdout.trim(), readFileSync(join(pki, "ca.key"), "utf8").trim(), "the secret is the CA key");
  });

  it("pulumi up: every leaf is signed by the adopted CAs; the CAs and the service-account key reach the nodes byte for byte", async () => {
    const up = await ws.up("t");
    assert.equal(up.code, 0, describeRun(up));
    const node = (n: string, f: string) => join(ws.dir, "out", "lab", n, "etc/kubernetes/pki", f);
    for (const f of ["ca.crt", "front-proxy-ca.crt", "etcd/ca.crt", "sa.key", "sa.pub"]) {
      assert.equal(readFileSync(node("cp-1", f), "utf8"), readFileSync(join(pki, f), "utf8"), `${f} byte for byte`);
    }
    assert.equal(readFileSync(node("w-1", "ca.crt"), "utf8"), readFileSync(join(pki, "ca.crt"), "utf8"));
    for (const [leaf, ca] of [
      ["apiserver.crt", "ca.crt"],
      ["front-proxy-client.crt", "front-proxy-ca.crt"],
      ["etcd/server.crt", "etcd/ca.crt"],
    ]) {
      const v = await run("openssl", ["verify", "-CAfile", join(pki, ca!), node("cp-1", leaf!)]);
      assert.equal(v.code, 0, `${leaf} verifies against kubeadm's ${ca}: ${v.stderr}`);
      assert.notEqual(readFileSync(node("cp-1", leaf!), "utf8"), readFileSync(join(pki, leaf!), "utf8"), `${leaf} is kube-pki's own`);
    }
    const state = JSON.stringify(await ws.exportState("t"));
    assert.ok(!/PRIVATE KEY/.test(state), "the adopted keys are encrypted in the state");
    assert.ok(!state.includes(readFileSync(join(pki, "ca.key"), "utf8").split("\n")[1]!), "not even a line of the CA key");
  });
});
