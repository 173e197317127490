// Workers' TLS bootstrap proved with Kubernetes' own code (issue 21, item 5): real kubelets v1.36.3, each in its own
// network and mount namespace beside its own fake CRI runtime (test/cluster/kubelets.ts), join a control plane made by
// kubeadm with nothing but a bootstrap kubeconfig and the cluster CA (the join material), get their client
// certificates from the controller-manager and their serving certificates through the CSR API, and are then held to
// what the cluster declares: the API server verifies the kubelet with --kubelet-certificate-authority, the Node
// authorizer and NodeRestriction hold for the bootstrapped identity, an expired token joins nobody, and deleting the
// token the nodes joined with (a rotation) leaves them working while a new token joins the next node. One
// control-plane node (etcd, kube-apiserver, kube-controller-manager with kube-pki's flags for workers: bootstrap), as
// lean as the bootstrap needs. The serving CSRs are approved by kube-pki's approver (approver/), started once they are
// pending, as user kube-pki:csr-approver with its RBAC (approverRbacObjects), never by an admin. Then a cluster CA
// rotation (issue 21, item 3) with two more kubelets joined with kube-pki's join material and 150 s certificates: each
// phase's files from kube-pki's program, the kubelets' ca.crt replaced as the shard push does (and their restart where
// it restarts them), the certificates re-issued by the kubelets themselves, the early drop refused.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { dirname, join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { defineStack, planClusters, StackProgram } from "../../components";
import { bootstrapKubeconfig as joinBootstrapKubeconfig, JOIN_PATHS, kubeletRestartNeeded } from "../../components/model/bootstrap";
import { controllerManagerFlags } from "../../components/model/controlPlaneFlags";
import { pemBlocks, RotationPhase, RotationState } from "../../components/model/trust";
import { evaluate, Evaluation, valueOf } from "../../emulator/evaluate";
import { run } from "../e2e/proc";
import { API_PORT } from "./controlPlane";
import { bootstrapKubeconfig, holdKernelTunables, KubeadmControlPlane, must, newBootstrapToken, RealKubelet, waitFor } from "./kubelets";

const WORKERS = [
  { name: "k-1", address: "10.88.0.31" },
  { name: "k-2", address: "10.88.0.32" },
  { name: "k-3", address: "10.88.0.33" },
  // The CA rotation's kubelets (joined with kube-pki's join material and short-lived certificates).
  { name: "k-4", address: "10.88.0.34" },
  { name: "k-5", address: "10.88.0.35" },
] as const;

interface Csr {
  metadata: { name: string };
  spec: { signerName: string; username: string; groups: string[] };
  status: { conditions?: { type: string; reason?: string; message?: string }[]; certificate?: string };
}

/** The CA rotation's kubelets: joined with kube-pki's join material, their certificates signed for SIGNING. */
const ROTATED = WORKERS.slice(3);
/**
 * The controller-manager's --cluster-signing-duration in the rotation: kube-pki renders `<signingHours>h` (whole hours,
 * at least 1); the test shortens that one flag to 150 s so that rotations happen within it. The signer backdates by
 * 5 min, so a certificate lives 7.5 min and its kubelet rotates at 70-90 % of that: 0.25-1.75 min after issuance.
 */
const SIGNING_SECONDS = 150;
const CA_KEY = "lab-ca-key";

/** A file kube-pki delivers to the control-plane node, with the readers it restarts when the file's bundle changed. */
interface NodeFile {
  readonly path: string;
  readonly mode: number;
  readonly content: string;
  readonly readers: readonly string[];
}
interface Phase {
  readonly ev: Evaluation<StackProgram | undefined>;
  /** cp-1's files under the cluster CA (the CA, its key and ca-signer.crt, every leaf and kubeconfig it signs). */
  readonly files: readonly NodeFile[];
  /** The workers' /etc/kubernetes/pki/ca.crt as the join material carries it. */
  readonly workerCa: string;
}

/**
 * kube-pki's program (defineStack, evaluated offline with the tls stand-in, each phase given the previous evaluation
 * as its state: one `pulumi up` each) for the lab as a kube-pki cluster: kubeadm's CA adopted, workers: bootstrap, the
 * rotation's kubelets listed. Throws the program's ConfigError (e.g. a drop refused).
 */
async function kubePki(
  lab: KubeadmControlPlane,
  gen1: { cert: string; key: string },
  phase: RotationPhase | undefined,
  prior: Phase | undefined,
  previous: RotationState,
  now = new Date(),
): Promise<Phase> {
  const raw = {
    name: "lab",
    controlPlaneEndpoint: `${lab.node.address}:${API_PORT}`,
    serviceSubnet: "10.96.0.0/12",
    nodes: [{ name: lab.node.name, role: "control-plane", address: lab.node.address }, ...ROTATED.map((w) => ({ ...w, role: "worker" }))],
    workers: "bootstrap",
    caKeys: "control-plane",
    bootstrap: { signingHours: 1 },
    adopt: { ca: { certificate: gen1.cert, keyConfig: CA_KEY } },
    ...(phase ? { rotation: { ca: { generation: 2, phase } } } : {}),
  };
  let error: unknown;
  const ev = await evaluate(
    () => {
      try {
        return defineStack(planClusters([raw]), {
          stack: "lab",
          deliver: false,
          secret: (k) => (k === CA_KEY ? pulumi.secret(gen1.key) : undefined),
          plainSecret: (k) => (k === CA_KEY ? gen1.key : undefined),
          previousRotation: { lab: previous },
          now,
        });
      } catch (e) {
        error = e;
        return undefined;
      }
    },
    { stack: "lab", prior: prior?.ev },
  );
  if (error) throw error;
  const pki = ev.result!.clusters[0]!;
  const underCa = new Set(pki.catalog.certificates.filter((c) => c.id === "ca" || c.signer === "ca").map((c) => c.id));
  const files: NodeFile[] = [];
  for (const b of pki.catalog.bundles.filter((b) => b.node === lab.node.name && underCa.has(b.id))) {
    for (const f of b.files) files.push({ path: f.path, mode: f.mode, content: await valueOf(pki.contentOf(f)), readers: b.readers });
  }
  return { ev, files, workerCa: await valueOf(pki.trustBundle("ca")) };
}

/**
 * Installs a phase's files on the control-plane node as the push does (each renamed over the old one) and restarts
 * the readers of what changed, as kube-pki does (the lab runs neither a scheduler nor a kubelet there).
 */
async function pushControlPlane(lab: KubeadmControlPlane, phase: Phase): Promise<string[]> {
  const changed = new Set<string>();
  for (const f of phase.files) {
    const target = join(lab.node.root, f.path);
    if (existsSync(target) && readFileSync(target, "utf8") === f.content) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(`${target}.kube-pki-new`, f.content, { mode: f.mode });
    renameSync(`${target}.kube-pki-new`, target);
    f.readers.forEach((r) => changed.add(r));
  }
  if (changed.has("kube-apiserver")) await lab.restartComponent("kube-apiserver");
  if (changed.has("kube-controller-manager")) await lab.restartComponent("kube-controller-manager");
  if (changed.has("kube-pki-csr-approver")) {
    await lab.stopApprover();
    await lab.startApprover();
  }
  return [...changed].sort();
}

/** A worker's ca.crt replaced by its shard push, and its kubelet restarted where kube-pki's push restarts it. */
async function pushWorker(k: RealKubelet, ca: string): Promise<boolean> {
  const before = readFileSync(k.path(JOIN_PATHS.ca.slice(1)), "utf8");
  k.setCa(ca);
  if (!kubeletRestartNeeded(before, ca)) return false;
  await k.restart();
  return true;
}

/** The status of a GET with a client certificate (key in memory only); the server verified with `ca`, or not at all. */
function statusOf(url: string, client: { cert: string; key: string }, ca?: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.get(
      url,
      { cert: client.cert, key: client.key, agent: false, timeout: 5_000, ...(ca ? { ca } : { rejectUnauthorized: false }) },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve(e.message));
  });
}

/** The client certificate and key of a kubeconfig with embedded data (kept in memory). */
function clientOf(kubeconfig: string): { cert: string; key: string } {
  const user = parse(kubeconfig).users[0].user;
  const data = (k: string) => Buffer.from(user[k], "base64").toString("utf8");
  return { cert: data("client-certificate-data"), key: data("client-key-data") };
}

const signedBy = (pem: string, ca: string) =>
  new X509Certificate(pem.slice(0, pem.indexOf("-----END CERTIFICATE-----") + 25)).verify(new X509Certificate(ca).publicKey);

describe("workers join by TLS bootstrap: real kubelets v1.36.3 on a kubeadm control plane", function () {
  this.timeout(300_000);
  let lab: KubeadmControlPlane;
  let release: () => void = () => {};
  const kubelets: RealKubelet[] = [];
  const timings: Record<string, number> = {};

  const kubelet = (name: string, token: string) => {
    const w = WORKERS.find((x) => x.name === name)!;
    const k = new RealKubelet({
      ...w,
      netns: `kpki-${name}`,
      bootstrapKubeconfig: bootstrapKubeconfig(lab.server, lab.caPem, token),
      caPem: lab.caPem,
    });
    kubelets.push(k);
    return k;
  };
  const csrs = async (): Promise<Csr[]> => JSON.parse(must(await lab.kubectl(["get", "csr", "-o", "json"]))).items;
  const cert = (pem: string) => new X509Certificate(pem.slice(0, pem.indexOf("-----END CERTIFICATE-----") + 25));

  before(async function () {
    const t0 = Date.now();
    lab = await KubeadmControlPlane.start(WORKERS);
    timings.controlPlane = Date.now() - t0;
    release = holdKernelTunables();
  });

  after(async () => {
    await Promise.all(kubelets.map((k) => k.stop()));
    release();
    await lab?.stop();
    console.log(
      `      timings (s): ${Object.entries(timings)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`)
        .join(", ")}`,
    );
  });

  it("two kubelets join with the bootstrap token: each gets a client certificate for system:node:<name> in system:nodes, signed by the cluster CA after the controller-manager's auto-approval of a bootstrap-token request", async () => {
    const t0 = Date.now();
    const [k1, k2] = [kubelet("k-1", lab.token), kubelet("k-2", lab.token)];
    k1.start();
    k2.start();
    const ca = new X509Certificate(lab.caPem);
    for (const k of [k1, k2]) {
      const pem = await waitFor(
        () => k.current("client"),
        120_000,
        () => `${k.opts.name}'s client certificate:\n${k.log.slice(-3000)}`,
      );
      const c = cert(pem);
      assert.ok(c.verify(ca.publicKey), `${k.opts.name}'s client certificate is signed by the cluster CA`);
      assert.equal(c.subject, `O=system:nodes\nCN=system:node:${k.opts.name}`);
      // kube-pki's --cluster-signing-duration (bootstrap.signingHours, 72 h; the signer backdates by 5 min).
      assert.equal(Math.round((Date.parse(c.validTo) - Date.parse(c.validFrom)) / 3_600_000), 72);
    }
    timings.clientCertificates = Date.now() - t0;
    const client = (await csrs()).filter((c) => c.spec.signerName === "kubernetes.io/kube-apiserver-client-kubelet");
    assert.deepEqual(
      client.map((c) => [c.spec.username, c.status.conditions?.map((x) => `${x.type}/${x.reason}`)]),
      [0, 1].map(() => [`system:bootstrap:${lab.token.split(".")[0]}`, ["Approved/AutoApproved"]]),
    );
  });

  it("serving certificates: the kubelets ask for kubernetes.io/kubelet-serving as system:node:<name>; until one is approved the API server cannot reach that kubelet, once approved it reaches it verified with --kubelet-certificate-authority", async () => {
    const t0 = Date.now();
    const serving = await waitFor(
      async () => {
        const s = (await csrs()).filter((c) => c.spec.signerName === "kubernetes.io/kubelet-serving");
        return s.length === 2 ? s : undefined;
      },
      60_000,
      () => "two kubelet-serving CSRs",
    );
    assert.deepEqual(serving.map((c) => [c.spec.username, c.status.conditions ?? []]).sort(), [
      ["system:node:k-1", []],
      ["system:node:k-2", []],
    ]);
    // Not approved: the kubelet serves no certificate, so the API server's request to it fails.
    const before = await lab.kubectl(["get", "--raw", "/api/v1/nodes/k-1/proxy/healthz"]);
    // (the kubelet's TLS handshake fails: "no serving certificate available for the kubelet", a TLS internal error).
    assert.match(before.stderr, /tls: internal error/);
    // Started only now, so the pending state above is certain.
    await lab.startApprover();
    const [k1, k2] = kubelets;
    for (const k of [k1!, k2!]) {
      const pem = await waitFor(
        () => k.current("server"),
        60_000,
        () => `${k.opts.name}'s serving certificate:\n${k.log.slice(-3000)}\napprover:\n${lab.approverLog().slice(-3000)}`,
      );
      const c = cert(pem);
      assert.ok(c.verify(new X509Certificate(lab.caPem).publicKey));
      assert.equal(c.subjectAltName, `DNS:${k.opts.name}, IP Address:${k.opts.address}`);
    }
    const approvals = (await csrs())
      .filter((c) => c.spec.signerName === "kubernetes.io/kubelet-serving")
      .map((c) => [c.spec.username, c.status.conditions?.map((x) => [x.type, x.reason, x.message])])
      .sort();
    const by = (node: string) =>
      `kubelet serving certificate of Node "${node}": subject, usages and subject alternative names match the Node`;
    assert.deepEqual(approvals, [
      ["system:node:k-1", [["Approved", "KubePkiApproved", by("k-1")]]],
      ["system:node:k-2", [["Approved", "KubePkiApproved", by("k-2")]]],
    ]);
    const healthz = await waitFor(
      async () => {
        const r = await lab.kubectl(["get", "--raw", "/api/v1/nodes/k-2/proxy/healthz"]);
        return r.code === 0 ? r.stdout : undefined;
      },
      30_000,
      () => "the API server's proxy to k-2's healthz",
    );
    assert.equal(healthz, "ok");
    timings.servingCertificates = Date.now() - t0;
  });

  it("the Node authorizer and NodeRestriction hold for a bootstrapped kubelet: it labels its own Node, not another kubelet's, and reads no secrets", async () => {
    const k1 = kubelets[0]!;
    const as = (args: string[]) => lab.kubectl(["--kubeconfig", k1.kubeconfig, ...args], "admin.conf");
    assert.equal(must(await as(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])), "system:node:k-1");
    // A bare PATCH (kubectl reads the Node first, and the Node authorizer already stops k-1 reading another Node).
    const pem = k1.path("var/lib/kubelet/pki/kubelet-client-current.pem");
    const patch = (node: string) =>
      run("curl", [
        "-sS",
        "--cacert",
        lab.conf("pki/ca.crt"),
        "--cert",
        pem,
        "-X",
        "PATCH",
        "-H",
        "Content-Type: application/merge-patch+json",
        "-d",
        JSON.stringify({ metadata: { labels: { "example.com/by": "k-1" } } }),
        "-w",
        "\n%{http_code}",
        `${lab.server}/api/v1/nodes/${node}`,
      ]);
    assert.match((await patch("k-1")).stdout, /\n200$/);
    const other = (await patch("k-2")).stdout;
    assert.match(other, /\n403$/);
    // NodeRestriction's refusal (admission), after the Node authorizer let the patch through.
    assert.equal(
      JSON.parse(other.replace(/\n403$/, "")).message,
      'nodes "k-2" is forbidden: node "k-1" is not allowed to modify node "k-2"',
    );
    const secrets = await as(["get", "secrets", "-n", "kube-system"]);
    assert.match(secrets.stderr, /Forbidden|forbidden/);
  });

  it("an expired bootstrap token joins nobody: the kubelet's CSR is refused as Unauthorized and no CSR or certificate exists for it", async () => {
    const expired = newBootstrapToken();
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "bootstrap.kubernetes.io/token",
      metadata: { name: `bootstrap-token-${expired.id}`, namespace: "kube-system" },
      stringData: {
        "token-id": expired.id,
        "token-secret": expired.secret,
        expiration: new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, "Z"),
        "usage-bootstrap-authentication": "true",
        "usage-bootstrap-signing": "true",
        "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
      },
    };
    must(await lab.kubectl(["apply", "-f", "-"], "admin.conf", JSON.stringify(secret)));
    const k3 = kubelet("k-3", expired.token);
    k3.start();
    await waitFor(
      () => (/Unauthorized/.test(k3.log) ? true : undefined),
      60_000,
      () => `k-3 refused:\n${k3.log.slice(-3000)}`,
    );
    assert.equal(k3.current("client"), undefined);
    assert.deepEqual(
      (await csrs()).filter((c) => c.spec.username === `system:bootstrap:${expired.id}`),
      [],
    );
    await k3.stop();
  });

  it("a token rotation: with the token the nodes joined with deleted, the joined kubelets keep working on their certificates and the next kubelet joins with the new token", async () => {
    const next = newBootstrapToken();
    must(await lab.kubectl(["-n", "kube-system", "delete", "secret", `bootstrap-token-${lab.token.split(".")[0]}`]));
    must(
      await run("kubeadm", ["token", "create", next.token, "--ttl", "1h", "--kubeconfig", lab.conf("super-admin.conf")], {
        timeoutMs: 60_000,
      }),
    );
    const asOldToken = ["--kubeconfig", "/dev/null", "--server", lab.server, "--certificate-authority", lab.conf("pki/ca.crt")];
    // The API server's token authenticator reads the Secrets from its informer cache: the delete reaches it a moment later.
    const refused = await waitFor(
      async () => {
        const r = await lab.kubectl([...asOldToken, "--token", lab.token, "get", "--raw", "/api"], "admin.conf");
        return r.code !== 0 ? r.stderr : undefined;
      },
      10_000,
      () => "the deleted token refused",
    );
    assert.match(refused, /Unauthorized/);
    const k1 = kubelets[0]!;
    assert.equal(must(await lab.kubectl(["--kubeconfig", k1.kubeconfig, "get", "node", "k-1", "-o", "name"])).trim(), "node/k-1");
    const k3 = kubelets[2]!;
    k3.start(bootstrapKubeconfig(lab.server, lab.caPem, next.token));
    const pem = await waitFor(
      () => k3.current("client"),
      120_000,
      () => `k-3's client certificate:\n${k3.log.slice(-3000)}`,
    );
    assert.equal(cert(pem).subject, "O=system:nodes\nCN=system:node:k-3");
  });
  describe("CA rotation with bootstrapped kubelets (issue 21, item 3): add, switch, drop as kube-pki performs them", () => {
    // Each phase's files are kube-pki's program's (kubePki above: defineStack under the tls stand-in, not pulumi up: the
    // lab is kubeadm's, and the real engine would cost minutes per phase); the real binaries do the rest.
    let gen1: { cert: string; key: string };
    let kubeadmAdmin: { cert: string; key: string };
    const phases: Partial<Record<"none" | RotationPhase, Phase>> = {};
    let switchedAt: Date;
    const rotated: RealKubelet[] = [];
    const gen2 = () => pemBlocks(phases.switch!.workerCa)[0]!;
    const node = (k: RealKubelet) => k.opts.name;
    /** The API server reaches the kubelet (its serving certificate verified with --kubelet-certificate-authority). */
    const proxied = async (k: RealKubelet) => (await lab.kubectl(["get", "--raw", `/api/v1/nodes/${node(k)}/proxy/healthz`])).stdout;
    /** The kubelet's own client authenticates and is the Node (its client certificate, its kubelet.conf's CA). */
    const asKubelet = async (k: RealKubelet) =>
      (await lab.kubectl(["--kubeconfig", k.kubeconfig, "get", "node", node(k), "-o", "name"], "admin.conf")).stdout.trim();
    const renewedSince = async (k: RealKubelet, t: Date) => {
      const r = await lab.kubectl(["-n", "kube-node-lease", "get", "lease", node(k), "-o", "jsonpath={.spec.renewTime}"]);
      return r.code === 0 && Date.parse(r.stdout) > t.getTime() ? true : undefined;
    };
    /** After the kubelets' restart (now): each renews its lease, is its Node, and is reached by the API server. */
    const workAfterRestart = async () => {
      const restarted = new Date();
      for (const k of rotated) {
        await waitFor(
          () => renewedSince(k, restarted),
          60_000,
          () => `${node(k)}'s lease renewed:\n${k.log.slice(-2000)}`,
        );
        assert.equal(await asKubelet(k), `node/${node(k)}`);
        assert.equal(await proxied(k), "ok");
      }
    };

    it("set-up: the controller-manager signs with kube-pki's flags (--cluster-signing-duration shortened to 150 s); two kubelets join with kube-pki's join material, whose kubelet.conf follows ca.crt by path", async () => {
      const t0 = Date.now();
      // k-1..k-3 hold 72 h certificates of the old CA, signed under the lab's first duration: a drop counted from the
      // short one would strand them. Here, every kubelet is signed under the duration the drop waits for.
      await Promise.all(kubelets.map((k) => k.stop()));
      gen1 = { cert: lab.caPem, key: readFileSync(lab.conf("pki/ca.key"), "utf8") };
      kubeadmAdmin = clientOf(readFileSync(lab.conf("admin.conf"), "utf8"));
      phases.none = await kubePki(lab, gen1, undefined, undefined, {});
      const flags = controllerManagerFlags(phases.none.ev.result!.clusters[0]!.catalog.cluster).map((f) =>
        f.name === "cluster-signing-duration" ? { ...f, value: `${SIGNING_SECONDS}s` } : f,
      );
      await lab.cp.stopComponent(lab.node, "kube-controller-manager");
      lab.cp.startControllerManager(lab.node, flags);
      if (!lab.approverRunning) await lab.startApprover();
      const token = newBootstrapToken().token;
      must(
        await run("kubeadm", ["token", "create", token, "--ttl", "1h", "--kubeconfig", lab.conf("super-admin.conf")], {
          timeoutMs: 60_000,
        }),
      );
      for (const w of ROTATED) {
        const k = new RealKubelet({ ...w, netns: `kpki-${w.name}`, bootstrapKubeconfig: "", caPem: phases.none.workerCa });
        kubelets.push(k);
        rotated.push(k);
        k.start(k.onNode(joinBootstrapKubeconfig(phases.none.ev.result!.clusters[0]!.catalog.cluster.clusterName, lab.server, token)));
      }
      for (const k of rotated) {
        for (const kind of ["client", "server"] as const) {
          const pem = await waitFor(
            () => k.current(kind),
            120_000,
            () => `${node(k)}'s ${kind} certificate:\n${k.log.slice(-3000)}\napprover:\n${lab.approverLog().slice(-2000)}`,
          );
          const c = new X509Certificate(pem.slice(0, pem.indexOf("-----END CERTIFICATE-----") + 25));
          assert.ok(signedBy(pem, gen1.cert));
          // 150 s after signing, backdated 5 min: a short-lived certificate's end is not backdated.
          assert.equal((Date.parse(c.validTo) - Date.parse(c.validFrom)) / 1000, SIGNING_SECONDS + 300);
        }
        assert.equal(
          parse(readFileSync(k.kubeconfig, "utf8")).clusters[0].cluster["certificate-authority"],
          k.path("etc/kubernetes/pki/ca.crt"),
        );
      }
      timings.rotationSetUp = Date.now() - t0;
    });

    it("add: the API server trusts old + new, the workers' ca.crt becomes old + new; each kubelet re-reads it as its client CA without a restart (a client certificate of the new CA is authenticated), and kube-pki restarts it for its API client, which keeps the CA it started with", async () => {
      const t0 = Date.now();
      phases.add = await kubePki(lab, gen1, "add", phases.none, {});
      phases.switch = await kubePki(lab, gen1, "switch", phases.add, { ca: { generation: 2, phase: "add" } });
      await pushControlPlane(lab, phases.add);
      assert.deepEqual(pemBlocks(phases.add.workerCa), [pemBlocks(gen1.cert)[0], gen2()]);
      // A client certificate of the new CA: the API server's kubelet client as switch will re-issue it.
      const kubeletClient = {
        cert: phases.switch.files.find((f) => f.path.endsWith("/apiserver-kubelet-client.crt"))!.content,
        key: phases.switch.files.find((f) => f.path.endsWith("/apiserver-kubelet-client.key"))!.content,
      };
      const [k4, k5] = rotated as [RealKubelet, RealKubelet];
      const healthz = (k: RealKubelet) => statusOf(`https://${k.opts.address}:10250/healthz`, kubeletClient);
      assert.equal(await healthz(k4), 401);
      const before = rotated.map((k) => readFileSync(k.path(JOIN_PATHS.ca.slice(1)), "utf8"));
      for (const k of rotated) k.setCa(phases.add.workerCa);
      for (const k of rotated) {
        await waitFor(
          async () => ((await healthz(k)) === 200 ? true : undefined),
          90_000,
          () => `${node(k)} re-reads its client CA`,
        );
      }
      assert.equal(await healthz(k5), 200);
      // The shard push then restarts each kubelet whose ca.crt gained or lost a CA (kubeletRestartNeeded).
      assert.deepEqual(
        before.map((b) => kubeletRestartNeeded(b, phases.add!.workerCa)),
        [true, true],
      );
      await Promise.all(rotated.map((k) => k.restart()));
      await workAfterRestart();
      timings.rotationAdd = Date.now() - t0;
    });

    it("switch: the controller-manager signs with the new CA; within the signing duration every kubelet's client and serving certificate is re-issued by it, without a kubelet restart; the kubelets keep working throughout", async () => {
      const t0 = Date.now();
      switchedAt = new Date();
      await pushControlPlane(lab, phases.switch!);
      // The bundle's order changes (the signer first), not its set: no restart.
      assert.deepEqual(await Promise.all(rotated.map((k) => pushWorker(k, phases.switch!.workerCa))), [false, false]);
      // Within the signing duration of the switch (plus 30 s for the control plane's restarts, seconds in a real
      // cluster against signingHours): a kubelet rotates a certificate by 90 % of its 7.5 min, 105 s after issuance.
      const deadline = switchedAt.getTime() + SIGNING_SECONDS * 1000 + 30_000;
      for (const k of rotated) {
        for (const kind of ["client", "server"] as const) {
          await waitFor(
            () => {
              const pem = k.current(kind);
              return pem && signedBy(pem, gen2()) ? true : undefined;
            },
            Math.max(0, deadline - Date.now()),
            () => `${node(k)}'s ${kind} certificate from the new CA:\n${k.log.slice(-3000)}`,
          );
        }
        assert.equal(await asKubelet(k), `node/${node(k)}`);
        assert.equal(await proxied(k), "ok");
      }
      // kubeadm's admin certificate (old CA) still authenticates: both CAs are trusted until drop.
      assert.equal(await statusOf(`${lab.server}/api`, kubeadmAdmin, phases.switch!.workerCa), 200);
      timings.rotationSwitch = Date.now() - t0;
    });

    it("drop, too early: kube-pki refuses it, naming clusters[0].rotation.ca.phase, until signingHours + 1 h after the recorded switch", async () => {
      const switched = { ca: { generation: 2, phase: "switch" as const, switchedAt: switchedAt.toISOString() } };
      await assert.rejects(
        kubePki(lab, gen1, "drop", phases.switch, switched),
        /clusters\[0\]\.rotation\.ca\.phase: drop of the cluster CA must wait until .* \(switch at .* \+ bootstrap\.signingHours 1 h \+ 1 h\)/,
      );
    });

    it("drop, after the wait (the program's clock): the API server and the kubelets trust only the new CA; every kubelet still works both ways, and a certificate of the old CA is refused", async () => {
      const t0 = Date.now();
      const switched = { ca: { generation: 2, phase: "switch" as const, switchedAt: switchedAt.toISOString() } };
      phases.drop = await kubePki(lab, gen1, "drop", phases.switch, switched, new Date(switchedAt.getTime() + 2 * 3_600_000 + 1_000));
      assert.deepEqual(pemBlocks(phases.drop.workerCa), [gen2()]);
      await pushControlPlane(lab, phases.drop);
      // The CA set changed: the kubelets restart and stop trusting the old CA for the API server too.
      assert.deepEqual(await Promise.all(rotated.map((k) => pushWorker(k, phases.drop!.workerCa))), [true, true]);
      await workAfterRestart();
      assert.equal(await statusOf(`${lab.server}/api`, kubeadmAdmin, phases.drop.workerCa), 401);
      timings.rotationDrop = Date.now() - t0;
    });
  });
});
