// Workers' TLS bootstrap proved with Kubernetes' own code (issue 21, item 5): real kubelets v1.36.3, each in its own
// network and mount namespace beside its own fake CRI runtime (test/cluster/kubelets.ts), join a control plane made by
// kubeadm with nothing but a bootstrap kubeconfig and the cluster CA (the join material), get their client
// certificates from the controller-manager and their serving certificates through the CSR API, and are then held to
// what the cluster declares: the API server verifies the kubelet with --kubelet-certificate-authority, the Node
// authorizer and NodeRestriction hold for the bootstrapped identity, an expired token joins nobody, and deleting the
// token the nodes joined with (a rotation) leaves them working while a new token joins the next node. One
// control-plane node (etcd, kube-apiserver, kube-controller-manager with kube-pki's flags for workers: bootstrap), as
// lean as the bootstrap needs. The serving CSRs are approved by kube-pki's approver (approver/), started once they are
// pending, as user kube-pki:csr-approver with its RBAC (approverRbacObjects), never by an admin.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { run } from "../e2e/proc";
import { bootstrapKubeconfig, holdKernelTunables, KubeadmControlPlane, must, newBootstrapToken, RealKubelet, waitFor } from "./kubelets";

const WORKERS = [
  { name: "k-1", address: "10.88.0.31" },
  { name: "k-2", address: "10.88.0.32" },
  { name: "k-3", address: "10.88.0.33" },
] as const;

interface Csr {
  metadata: { name: string };
  spec: { signerName: string; username: string; groups: string[] };
  status: { conditions?: { type: string; reason?: string; message?: string }[]; certificate?: string };
}

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
});
