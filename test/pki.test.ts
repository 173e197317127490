// The real stack program under Pulumi's mock runtime: every certificate of the kubeadm reference table is registered
// with exactly the expected inputs, asserted against the table below (written from docs/kubeadm.md, not from the
// catalog code), for a 3+2 cluster, a single-node cluster and a dual-stack service subnet.
import assert from "node:assert/strict";
import { parse } from "yaml";
import { X509Certificate } from "node:crypto";
import { evaluate, Evaluation, GROUPS_CSR_TYPE, isWrappedSecret, valueOf } from "../emulator/evaluate";
import { offlineReport, renderMarkdown } from "../offline/certDiff";
import * as pulumi from "@pulumi/pulumi";
import { ClusterDelivery, issueCertificate, ClusterPlan, defineStack, planClusters, StackProgram } from "../components";
import { clusterConfig, find, plain, plainState, protectedByProtectCAs, runStack, T } from "./support";
import { apiServerDnsNames } from "./support-kubeadm";

const CA = ["digital_signature", "key_encipherment", "cert_signing"];
const SERVER = ["digital_signature", "key_encipherment", "server_auth"];
const CLIENT = ["digital_signature", "key_encipherment", "client_auth"];
const BOTH = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];

interface Node {
  name: string;
  address: string;
  role: string;
}
interface Ctx {
  cluster: string;
  vip: string;
  cpeHost?: string;
  server: (n?: Node) => string;
  local: (n: Node) => string;
}
interface Row {
  /** Resource name stem: `<cluster>-<stem>[-<node>]`. */
  stem: string;
  per: "cluster" | "control-plane" | "node";
  kind: "leaf" | "kubeconfig";
  cn: (n: Node) => string;
  o?: string;
  uses: string[];
  signer: "ca" | "front-proxy-ca" | "etcd-ca";
  sans?: (n: Node, c: Ctx) => { dns: string[]; ip: string[] };
  server?: "CPE" | "LOCAL";
}

const etcdSans = (n: Node) => ({ dns: [n.name, "localhost"].sort(), ip: [n.address, "127.0.0.1", "::1"] });
const TABLE: Row[] = [
  {
    stem: "apiserver",
    per: "control-plane",
    kind: "leaf",
    cn: () => "kube-apiserver",
    uses: SERVER,
    signer: "ca",
    sans: (n, c) => ({
      dns: [...apiServerDnsNames(n.name), "k8s.example.com", ...(c.cpeHost ? [c.cpeHost] : [])].sort(),
      ip: [c.vip, n.address, "192.0.2.10"],
    }),
  },
  {
    stem: "apiserver-kubelet-client",
    per: "control-plane",
    kind: "leaf",
    cn: () => "kube-apiserver-kubelet-client",
    o: "kubeadm:cluster-admins",
    uses: CLIENT,
    signer: "ca",
  },
  {
    stem: "front-proxy-client",
    per: "control-plane",
    kind: "leaf",
    cn: () => "front-proxy-client",
    uses: CLIENT,
    signer: "front-proxy-ca",
  },
  {
    stem: "apiserver-etcd-client",
    per: "control-plane",
    kind: "leaf",
    cn: () => "kube-apiserver-etcd-client",
    uses: CLIENT,
    signer: "etcd-ca",
  },
  {
    stem: "etcd-healthcheck-client",
    per: "control-plane",
    kind: "leaf",
    cn: () => "kube-etcd-healthcheck-client",
    uses: CLIENT,
    signer: "etcd-ca",
  },
  { stem: "etcd-server", per: "control-plane", kind: "leaf", cn: (n) => n.name, uses: BOTH, signer: "etcd-ca", sans: etcdSans },
  { stem: "etcd-peer", per: "control-plane", kind: "leaf", cn: (n) => n.name, uses: BOTH, signer: "etcd-ca", sans: etcdSans },
  {
    stem: "kubelet-serving",
    per: "node",
    kind: "leaf",
    cn: (n) => `system:node:${n.name}`,
    o: "system:nodes",
    uses: SERVER,
    signer: "ca",
    sans: (n) => ({ dns: [n.name], ip: [n.address] }),
  },
  {
    stem: "admin-kubeconfig",
    per: "cluster",
    kind: "kubeconfig",
    cn: () => "kubernetes-admin",
    o: "kubeadm:cluster-admins",
    uses: CLIENT,
    signer: "ca",
    server: "CPE",
  },
  {
    stem: "super-admin-kubeconfig",
    per: "cluster",
    kind: "kubeconfig",
    cn: () => "kubernetes-super-admin",
    o: "system:masters",
    uses: CLIENT,
    signer: "ca",
    server: "CPE",
  },
  {
    stem: "controller-manager-kubeconfig",
    per: "control-plane",
    kind: "kubeconfig",
    cn: () => "system:kube-controller-manager",
    uses: CLIENT,
    signer: "ca",
    server: "LOCAL",
  },
  {
    stem: "scheduler-kubeconfig",
    per: "control-plane",
    kind: "kubeconfig",
    cn: () => "system:kube-scheduler",
    uses: CLIENT,
    signer: "ca",
    server: "LOCAL",
  },
  {
    stem: "kubelet-kubeconfig",
    per: "node",
    kind: "kubeconfig",
    cn: (n) => `system:node:${n.name}`,
    o: "system:nodes",
    uses: CLIENT,
    signer: "ca",
    server: "CPE",
  },
  {
    stem: "kube-proxy-kubeconfig",
    per: "cluster",
    kind: "kubeconfig",
    cn: () => "system:kube-proxy",
    o: "system:node-proxier",
    uses: CLIENT,
    signer: "ca",
    server: "CPE",
  },
];
const CAS = [
  ["ca", "kubernetes"],
  ["front-proxy-ca", "front-proxy-ca"],
  ["etcd-ca", "etcd-ca"],
] as const;

/** Checks every row of the table against what the program registered; returns how many certificates it checked. */
async function assertTable(ev: Evaluation<StackProgram>, raw: any, ctx: Ctx): Promise<number> {
  const servers: { what: string; want: string; kubeconfig: Promise<string> }[] = [];
  const pki = ev.result.clusters[0]!;
  const nodes: Node[] = raw.nodes;
  const cluster = raw.name;
  const caCert = (ca: string) => plainState(find(ev, T.selfSigned, `${cluster}-${ca}-cert`)).certPem;
  const caKey = (ca: string) => plainState(find(ev, T.key, `${cluster}-${ca}-key`)).privateKeyPem;
  const algorithm = { algorithm: "ECDSA", ecdsaCurve: "P256" };
  let checked = 0;
  const renewalOf: Record<string, number> = {};

  for (const [ca, cn] of CAS) {
    const cert = plain(find(ev, T.selfSigned, `${cluster}-${ca}-cert`));
    assert.deepEqual(cert.subject, { commonName: cn }, ca);
    assert.deepEqual(cert.dnsNames, [cn], ca);
    assert.equal(cert.isCaCertificate, true, ca);
    assert.deepEqual(cert.allowedUses, CA, ca);
    assert.equal(cert.validityPeriodHours, 87600, ca);
    assert.equal(cert.earlyRenewalHours, 0, ca);
    assert.equal(cert.privateKeyPem, caKey(ca), `${ca} is self-signed with its own key`);
    assert.deepEqual(plain(find(ev, T.key, `${cluster}-${ca}-key`)), algorithm);
    checked++;
  }

  for (const row of TABLE) {
    const targets: (Node | undefined)[] =
      row.per === "cluster" ? [undefined] : nodes.filter((n) => row.per === "node" || n.role === "control-plane");
    for (const node of targets) {
      const base = [cluster, row.stem, ...(node ? [node.name] : [])].join("-") + (row.kind === "kubeconfig" ? "-client" : "");
      const subjectNode = node ?? nodes[0]!;
      const what = `${row.stem}${node ? `@${node.name}` : ""}`;
      const key = find(ev, T.key, `${base}-key`);
      const csr = plain(find(ev, T.csr, `${base}-csr`));
      const cert = plain(find(ev, T.signed, `${base}-cert`));
      assert.deepEqual(plain(key), algorithm, what);
      assert.deepEqual(
        csr.subject,
        row.o ? { commonName: row.cn(subjectNode), organization: row.o } : { commonName: row.cn(subjectNode) },
        what,
      );
      const sans = row.sans?.(subjectNode, ctx);
      assert.deepEqual(csr.dnsNames, sans?.dns, `${what} DNS SANs`);
      assert.deepEqual(csr.ipAddresses, sans?.ip, `${what} IP SANs`);
      assert.equal(csr.privateKeyPem, plainState(key).privateKeyPem, `${what} CSR uses its own key`);
      assert.deepEqual(cert.allowedUses, row.uses, what);
      assert.equal(cert.validityPeriodHours, 8760, what);
      if (!node) assert.equal(cert.earlyRenewalHours, 720, what);
      else {
        // Per-node leaves renew between 30 and 60 days before expiry, all of a node's leaves at the same hour.
        assert.ok(cert.earlyRenewalHours >= 720 && cert.earlyRenewalHours < 1440, `${what}: ${cert.earlyRenewalHours}`);
        assert.equal(cert.earlyRenewalHours, (renewalOf[node.name] ??= cert.earlyRenewalHours), what);
      }
      assert.equal(cert.caCertPem, caCert(row.signer), `${what} is signed by ${row.signer}`);
      assert.equal(cert.caPrivateKeyPem, caKey(row.signer), `${what} is signed with ${row.signer}'s key`);
      assert.equal(cert.isCaCertificate, undefined, what);
      if (row.kind === "kubeconfig") {
        const spec = pki.catalog.certificates.find((c) => c.kind === "kubeconfig" && c.resourceName === base.replace(/-client$/, ""));
        assert.ok(spec, `${what}: no kubeconfig in the catalog`);
        servers.push({
          what,
          want: row.server === "LOCAL" ? ctx.local(node!) : ctx.server(node),
          kubeconfig: valueOf(pki.contentOf({ path: "/x", mode: 0o600, owner: "root", source: spec.id, content: "kubeconfig" })),
        });
      }
      checked++;
    }
  }
  for (const s of servers) assert.equal(parse(await s.kubeconfig).clusters[0].cluster.server, s.want, `${s.what} server`);
  // Nothing beyond the table (no extra users configured in these cases).
  assert.equal(ev.resources.filter((r) => r.type === T.signed).length, checked - CAS.length, "no certificate outside the table");
  assert.equal(ev.resources.filter((r) => r.type === T.selfSigned).length, CAS.length);
  // Keys: one per certificate plus the service-account key.
  assert.equal(ev.resources.filter((r) => r.type === T.key).length, checked + 1);
  assert.deepEqual(plain(find(ev, T.key, `${cluster}-sa-key`)), algorithm);
  return checked;
}

function ctxOf(raw: any, vip: string): Ctx {
  const cpe = raw.controlPlaneEndpoint as string | undefined;
  const first = raw.nodes.find((n: Node) => n.role === "control-plane");
  const url = (host: string, port: number) => `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    cluster: raw.name,
    vip,
    cpeHost: cpe?.split(":")[0],
    server: () => (cpe ? `https://${cpe}` : url(first.address, 6443)),
    local: (n) => url(n.address, 6443),
  };
}

describe("the cluster PKI under the mock runtime", () => {
  it("3 control-plane + 2 worker nodes: every certificate of the kubeadm table with exactly its inputs", async () => {
    const raw = clusterConfig("t", 3, 2);
    const ev = await runStack([raw]);
    const checked = await assertTable(ev, raw, ctxOf(raw, "10.96.0.1"));
    // 3 CAs + 7 per CP node × 3 + kubelet-serving × 5 + admin, super-admin, kube-proxy + 2 per CP × 3 + kubelet.conf × 5
    assert.equal(checked, 3 + 21 + 5 + 3 + 6 + 5);
  });

  it("a single-node cluster without a control-plane endpoint points every kubeconfig at the node", async () => {
    const raw = { ...clusterConfig("solo", 1, 0), controlPlaneEndpoint: undefined };
    const ev = await runStack([raw]);
    await assertTable(ev, raw, ctxOf(raw, "10.96.0.1"));
    const admin = parse(await new Promise<string>((r) => ev.result.outputs.adminKubeconfigs.apply((k) => r(k.solo!))));
    assert.equal(admin.clusters[0].cluster.server, "https://10.0.0.11:6443");
  });

  it("a dual-stack service subnet adds only the first family's VIP", async () => {
    const raw = { ...clusterConfig("ds", 3, 1), serviceSubnet: "fd00:10:96::/112,10.96.0.0/12" };
    const ev = await runStack([raw]);
    await assertTable(ev, raw, ctxOf(raw, "fd00:10:96::1"));
    const csr = plain(find(ev, T.csr, "ds-apiserver-cp-2-csr"));
    assert.ok(!csr.ipAddresses.includes("10.96.0.1"), "the IPv4 VIP of the second CIDR is not a SAN");
  });

  it("renders kubeconfigs as kubeadm does, embedding the issued CA, certificate and key", async () => {
    const raw = clusterConfig("t", 1, 1, { users: [{ name: "alice", groups: ["developers"] }] });
    const ev = await runStack([raw]);
    const values = await new Promise<any>((r) => ev.result.outputs.userKubeconfigs.apply(r));
    const admin = parse(await new Promise<string>((r) => ev.result.outputs.adminKubeconfigs.apply((k) => r(k.t!))));
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    assert.deepEqual(admin.contexts, [
      { context: { cluster: "kubernetes", user: "kubernetes-admin" }, name: "kubernetes-admin@kubernetes" },
    ]);
    assert.equal(admin["current-context"], "kubernetes-admin@kubernetes");
    assert.equal(admin.clusters[0].name, "kubernetes");
    assert.equal(admin.clusters[0].cluster.server, "https://api.t.example:6443");
    assert.equal(admin.clusters[0].cluster["certificate-authority-data"], b64(plainState(find(ev, T.selfSigned, "t-ca-cert")).certPem));
    assert.equal(admin.users[0].name, "kubernetes-admin");
    assert.equal(
      admin.users[0].user["client-certificate-data"],
      b64(plainState(find(ev, T.signed, "t-admin-kubeconfig-client-cert")).certPem),
    );
    assert.equal(admin.users[0].user["client-key-data"], b64(plainState(find(ev, T.key, "t-admin-kubeconfig-client-key")).privateKeyPem));
    const alice = parse(values.t.alice);
    assert.equal(alice["current-context"], "alice@kubernetes");
    assert.deepEqual(plain(find(ev, T.csr, "t-user-alice-client-csr")).subject, { commonName: "alice", organization: "developers" });
  });

  it("protects the CA resources and the service-account key when protectCAs is set, and nothing else", async () => {
    const ev = await runStack([clusterConfig("p", 1, 1, { protectCAs: true }), clusterConfig("q", 1, 0)]);
    const protectedNames = ev.resources
      .filter((r) => r.custom && r.protect)
      .map((r) => r.name)
      .sort();
    assert.deepEqual(protectedNames, protectedByProtectCAs("p"));
  });

  it("uses stable resource names: a cluster's names do not depend on other clusters, nodes or SANs", async () => {
    const names = async (raw: unknown[]) => new Set((await runStack(raw)).resources.map((r) => r.urn));
    const small = await names([clusterConfig("a", 1, 1)]);
    const bigger = await names([clusterConfig("a", 2, 3, { apiServer: { certSANs: ["x.example.com"] } }), clusterConfig("b", 1, 0)]);
    for (const urn of small) assert.ok(bigger.has(urn), `${urn} was renamed`);
  });

  it("orders every child under its component, with three-part type tokens", async () => {
    const ev = await runStack([clusterConfig("t", 1, 1)]);
    for (const r of ev.resources) {
      if (r.type.startsWith("kube-pki:")) assert.match(r.type, /^kube-pki:[a-z]+:[A-Z][A-Za-z]+$/);
      if (r.type !== "kube-pki:pki:ClusterPki") assert.notEqual(r.parent, "", `${r.name} has no parent`);
    }
  });

  it("types every component kube-pki:<module>:<Type>, the module its part of the program (pki, delivery, publication, stack)", async () => {
    const raw = clusterConfig("t", 1, 1, { protectCAs: true, delivery: { mode: "local" }, publication: { managementCluster: {} } });
    const ev = await evaluate(() => defineStack(planClusters([raw]), { stack: "t", secret: () => pulumi.secret("kubeconfig") }));
    const components = [...new Set(ev.resources.filter((r) => !r.custom).map((r) => r.type))].sort();
    assert.deepEqual(components, [
      "kube-pki:delivery:ClusterDelivery",
      "kube-pki:pki:CertificateAuthority",
      "kube-pki:pki:ClusterPki",
      "kube-pki:pki:ServiceAccountKey",
      "kube-pki:publication:ClusterPublication",
      "kube-pki:stack:DestroyGuard",
    ]);
  });

  it("a managed worker costs 11 resources: its two key pairs (key, CSR, certificate each) below the ClusterPki, 4 pushes and the node program", async () => {
    /** Resources by type and parent type. */
    const registered = async (workers: number) => {
      const ev = await runStack([clusterConfig("t", 1, workers, { delivery: { mode: "local" } })]);
      const counts = new Map<string, number>();
      for (const r of ev.resources) {
        const key = `${r.type} below ${(r.parent.split("::")[2] ?? "").split("$").pop()}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    };
    const [one, two] = [await registered(1), await registered(2)];
    const perWorker = Object.fromEntries([...two].filter(([k, n]) => n !== one.get(k)).map(([k, n]) => [k, n - (one.get(k) ?? 0)]));
    assert.deepEqual(perWorker, {
      "tls:index/privateKey:PrivateKey below kube-pki:pki:ClusterPki": 2,
      "tls:index/certRequest:CertRequest below kube-pki:pki:ClusterPki": 2,
      "tls:index/locallySignedCert:LocallySignedCert below kube-pki:pki:ClusterPki": 2,
      "command:local:Command below kube-pki:delivery:ClusterDelivery": 5,
    });
  });

  it("raises the config error before registering any resource", async () => {
    const bad = clusterConfig("t", 1, 1);
    bad.nodes[1].address = "10.0.0.300";
    let error: unknown;
    const ev = await evaluate(() => {
      try {
        defineStack(planClusters([clusterConfig("ok", 1, 0), bad]));
      } catch (e) {
        error = e;
      }
    });
    assert.match(String(error), /clusters\[1\]\.nodes\[1\]\.address: "10\.0\.0\.300" is not an IP address/);
    assert.equal(ev.resources.length, 0, "no resource was registered, not even for the valid cluster");
  });
});

describe("users in several groups (GroupsCertRequest) and break-glass users", () => {
  const withUsers = (users: unknown[]) => [clusterConfig("t", 1, 0, { users })];

  it("a user in several groups gets one certificate carrying every group, from a CSR made once and kept", async () => {
    const raw = withUsers([{ name: "alice", groups: ["developers", "oncall", "sre"] }]);
    const ev = await runStack(raw);
    assert.deepEqual(ev.failures, []);
    const csr = find(ev, GROUPS_CSR_TYPE, "t-user-alice-client-csr");
    assert.deepEqual(plain(csr).organizations, ["developers", "oncall", "sre"]);
    assert.ok(isWrappedSecret((csr.inputs as any).privateKeyPem), "the key reaches the dynamic provider as a secret");
    const cert = new X509Certificate(plainState(find(ev, T.signed, "t-user-alice-client-cert")).certPem);
    // One multi-valued RDN (O=a + O=b), as Go encodes a subject with several organizations.
    assert.deepEqual(cert.subject.split(/\n| \+ /).sort(), ["CN=alice", "O=developers", "O=oncall", "O=sre"]);
    const again = await runStack(raw, { prior: ev });
    assert.equal(find(again, GROUPS_CSR_TYPE, "t-user-alice-client-csr").op, "same", "the CSR is not re-made");
    assert.equal(find(again, T.signed, "t-user-alice-client-cert").op, "same", "nor the certificate re-issued");
    const regrouped = await runStack(withUsers([{ name: "alice", groups: ["developers", "oncall"] }]), { prior: ev });
    assert.equal(find(regrouped, T.signed, "t-user-alice-client-cert").op, "replace", "a group change re-issues it");
  });

  it("a break-glass user in system:masters is issued, and the cert diff warns about it", async () => {
    const r = await offlineReport("t", withUsers([]), withUsers([{ name: "oncall-root", groups: ["system:masters"], breakGlass: true }]));
    const change = r.certificates.find((c) => c.certificate === "user:oncall-root")!;
    assert.equal(change.operation, "new");
    assert.ok(
      change.causes.some((c) => /break-glass identity: system:masters bypasses RBAC/.test(c)),
      change.causes.join(),
    );
    assert.match(renderMarkdown(r), /break-glass identity/);
  });
});

describe("component errors name their component (pulumi.ResourceError)", () => {
  /** The error `make` throws while the program runs, with the component it names. */
  async function thrown(make: () => void): Promise<pulumi.ResourceError> {
    let error: unknown;
    await evaluate(() => {
      try {
        make();
      } catch (e) {
        error = e;
      }
    });
    assert.ok(error instanceof pulumi.ResourceError, `not a ResourceError: ${error}`);
    return error;
  }

  it("a certificate with an impossible validity: names the certificate and the component it belongs to", async () => {
    const signer = { certPem: pulumi.output(""), privateKeyPem: pulumi.output("") };
    let parent: pulumi.ComponentResource | undefined;
    const error = await thrown(() => {
      parent = new pulumi.ComponentResource("test:index:Owner", "owner");
      issueCertificate(
        "odd",
        { commonName: "x", allowedUses: CLIENT, validityHours: 0, earlyRenewalHours: 0, keyAlgorithm: "ECDSA-P256", signer },
        { parent, formerOwners: [] },
      );
    });
    assert.equal(error.resource, parent);
    assert.match(error.message, /^certificate odd: validityHours must be a positive whole number, got 0;/);
  });

  it("local delivery without its directory", async () => {
    const [
      {
        catalog: { cluster },
        delivery,
      },
    ] = planClusters([clusterConfig("t", 1, 0, { delivery: { mode: "local" } })]) as [ClusterPlan];
    const error = await thrown(() => new ClusterDelivery("t-delivery", { cluster, plan: delivery, contentOf: () => pulumi.output("") }));
    assert.ok(error.resource instanceof ClusterDelivery);
    assert.equal(error.message, "localDirectory is required for local delivery");
  });
});
