// What the rendered PKI of the e2e cluster must contain, written from docs/kubeadm.md (§1 the
// certificate table, §2 SAN rules, §4 kubeconfigs, §6 files per role, §8 external-CA mode) and NOT from
// components/model/catalog.ts, so that a catalog mistake makes the e2e tests fail instead of moving the expectation with
// it. The one addition the reference does not list is kube-proxy.conf (CN system:kube-proxy, O system:node-proxier,
// the identity Kubernetes' default RBAC binds), which this project ships to every node.
import { apiServerDnsNames } from "../support-kubeadm";
import { CONTROL_PLANE, E2eNode, NODES, OPERATOR } from "./rendered";

export type CaName = "ca" | "front-proxy-ca" | "etcd-ca";

const PKI = "/etc/kubernetes/pki";
const K8S = "/etc/kubernetes";
const KUBELET_PKI = "/var/lib/kubelet/pki";

/** §1: the three self-signed CAs, their CN and certificate file. */
export const CAS: Readonly<Record<CaName, { readonly cn: string; readonly path: string }>> = {
  ca: { cn: "kubernetes", path: `${PKI}/ca.crt` },
  "front-proxy-ca": { cn: "front-proxy-ca", path: `${PKI}/front-proxy-ca.crt` },
  "etcd-ca": { cn: "etcd-ca", path: `${PKI}/etcd/ca.crt` },
};
export const CA_NAMES = Object.keys(CAS) as CaName[];

export interface ExpectedCert {
  /** Readable id: `apiserver@cp-1`, `admin.conf@cp-1`, `ca@w-1`. */
  readonly id: string;
  readonly node: string;
  readonly kind: "ca" | "leaf" | "kubeconfig";
  /** The certificate file, or the kubeconfig file for kind "kubeconfig". */
  readonly path: string;
  /** The private key file of a leaf (kubeconfigs embed theirs; CA keys are not rendered by default, §8). */
  readonly keyPath?: string;
  /** Issuing CA; undefined for the self-signed CAs. */
  readonly signer?: CaName;
  readonly cn: string;
  readonly o?: string;
  readonly serverAuth: boolean;
  readonly clientAuth: boolean;
  readonly dns: readonly string[];
  readonly ips: readonly string[];
  /** Names and addresses the certificate must NOT be valid for (another node's, loopback where §2 has none, …). */
  readonly notDns: readonly string[];
  readonly notIps: readonly string[];
  /** Kubeconfigs: the server URL kubeadm writes (CPE or LOCAL, §4). */
  readonly server?: string;
  readonly validityHours: number;
}

/** The control-plane endpoint as kubeconfigs name it (§4 CPE). */
export const CPE = "https://127.0.0.10:6443";
const local = (n: E2eNode) => `https://${n.address}:6443`;
const others = (n: E2eNode) => CONTROL_PLANE.filter((o) => o.name !== n.name);
const otherNodes = (n: E2eNode) => NODES.filter((o) => o.name !== n.name);
const NOT_A_SAN = "not-in-cert.e2e.example.com";
const LEAF_HOURS = 8760;
const CA_HOURS = 87600;

/** §2: apiserver.crt of a control-plane node of the e2e cluster. */
function apiserverSans(n: E2eNode) {
  return {
    dns: [...apiServerDnsNames(n.name), "k8s.e2e.example.com"],
    // first address of 10.96.0.0/12, the advertise address, the controlPlaneEndpoint host (an IP), the IP certSAN
    ips: ["10.96.0.1", n.address, "127.0.0.10", "192.0.2.10"],
    // another node's name and address; the etcd-only SAN; no loopback IP in current kubeadm (§2 rule 6)
    notDns: [NOT_A_SAN, "localhost", "etcd.e2e.example.com", ...others(n).map((o) => o.name)],
    notIps: ["127.0.0.1", "192.0.2.11", ...others(n).map((o) => o.address)],
  };
}

/** §2: etcd/server.crt and etcd/peer.crt (same defaults; serverCertSANs only on the server certificate). */
function etcdSans(n: E2eNode, extra: readonly string[], notExtra: readonly string[]) {
  return {
    dns: [n.name, "localhost", ...extra],
    ips: [n.address, "127.0.0.1", "::1"],
    notDns: [NOT_A_SAN, "kubernetes", ...notExtra, ...others(n).map((o) => o.name)],
    notIps: ["127.0.0.10", "10.96.0.1", ...others(n).map((o) => o.address)],
  };
}

/** §6: the kubelet serving certificate covers the node's name and address only. */
function kubeletServingSans(n: E2eNode) {
  return {
    dns: [n.name],
    ips: [n.address],
    notDns: [NOT_A_SAN, "localhost", ...otherNodes(n).map((o) => o.name)],
    notIps: ["127.0.0.1", ...otherNodes(n).map((o) => o.address)],
  };
}

const NO_SANS = { dns: [], ips: [], notDns: [], notIps: [] };

/** Every certificate on every node of the e2e cluster (default config: external-CA mode, no CA keys anywhere). */
export function expectedCertificates(): ExpectedCert[] {
  const out: ExpectedCert[] = [];
  const initNode = CONTROL_PLANE[0]!;
  for (const n of NODES) {
    const cp = n.role === "control-plane";
    const leaf = (
      name: string,
      base: string,
      signer: CaName,
      cn: string,
      o: string | undefined,
      serverAuth: boolean,
      clientAuth: boolean,
      sans: Omit<ExpectedCert, "id" | "node" | "kind" | "path" | "cn" | "serverAuth" | "clientAuth" | "validityHours">,
    ) =>
      out.push({
        id: `${name}@${n.name}`,
        node: n.name,
        kind: "leaf",
        path: `${base}.crt`,
        keyPath: `${base}.key`,
        signer,
        cn,
        ...(o ? { o } : {}),
        serverAuth,
        clientAuth,
        validityHours: LEAF_HOURS,
        ...sans,
      });
    const kubeconfig = (file: string, cn: string, o: string | undefined, server: string) =>
      out.push({
        id: `${file}@${n.name}`,
        node: n.name,
        kind: "kubeconfig",
        path: `${K8S}/${file}`,
        signer: "ca",
        cn,
        ...(o ? { o } : {}),
        serverAuth: false,
        clientAuth: true,
        server,
        validityHours: LEAF_HOURS,
        ...NO_SANS,
      });

    // §1/§6: ca.crt everywhere, the other two CAs on control-plane nodes only; CA SAN = DNS CN.
    for (const ca of CA_NAMES) {
      if (!cp && ca !== "ca") continue;
      out.push({
        id: `${ca}@${n.name}`,
        node: n.name,
        kind: "ca",
        path: CAS[ca].path,
        cn: CAS[ca].cn,
        serverAuth: false,
        clientAuth: false,
        dns: [CAS[ca].cn],
        ips: [],
        notDns: [],
        notIps: [],
        validityHours: CA_HOURS,
      });
    }
    if (cp) {
      leaf("apiserver", `${PKI}/apiserver`, "ca", "kube-apiserver", undefined, true, false, apiserverSans(n));
      leaf(
        "apiserver-kubelet-client",
        `${PKI}/apiserver-kubelet-client`,
        "ca",
        "kube-apiserver-kubelet-client",
        "kubeadm:cluster-admins",
        false,
        true,
        NO_SANS,
      );
      leaf("front-proxy-client", `${PKI}/front-proxy-client`, "front-proxy-ca", "front-proxy-client", undefined, false, true, NO_SANS);
      leaf(
        "apiserver-etcd-client",
        `${PKI}/apiserver-etcd-client`,
        "etcd-ca",
        "kube-apiserver-etcd-client",
        undefined,
        false,
        true,
        NO_SANS,
      );
      leaf(
        "etcd-healthcheck-client",
        `${PKI}/etcd/healthcheck-client`,
        "etcd-ca",
        "kube-etcd-healthcheck-client",
        undefined,
        false,
        true,
        NO_SANS,
      );
      // etcd server and peer: CN = node name, serverAuth + clientAuth (§1).
      leaf("etcd-server", `${PKI}/etcd/server`, "etcd-ca", n.name, undefined, true, true, etcdSans(n, ["etcd.e2e.example.com"], []));
      leaf("etcd-peer", `${PKI}/etcd/peer`, "etcd-ca", n.name, undefined, true, true, etcdSans(n, [], ["etcd.e2e.example.com"]));
      kubeconfig("admin.conf", "kubernetes-admin", "kubeadm:cluster-admins", CPE);
      if (n.name === initNode.name) kubeconfig("super-admin.conf", "kubernetes-super-admin", "system:masters", CPE);
      kubeconfig("controller-manager.conf", "system:kube-controller-manager", undefined, local(n));
      kubeconfig("scheduler.conf", "system:kube-scheduler", undefined, local(n));
    }
    leaf(
      "kubelet-serving",
      `${KUBELET_PKI}/kubelet-serving`,
      "ca",
      `system:node:${n.name}`,
      "system:nodes",
      true,
      false,
      kubeletServingSans(n),
    );
    kubeconfig("kubelet.conf", `system:node:${n.name}`, "system:nodes", CPE);
    kubeconfig("kube-proxy.conf", "system:kube-proxy", "system:node-proxier", CPE);
  }
  return out;
}

/** The operator's admin.conf next to the node directories: the same identity and server as the nodes' admin.conf. */
export function operatorAdminConf(): ExpectedCert {
  return {
    id: `admin.conf@${OPERATOR}`,
    node: OPERATOR,
    kind: "kubeconfig",
    path: "/admin.conf",
    signer: "ca",
    cn: "kubernetes-admin",
    o: "kubeadm:cluster-admins",
    serverAuth: false,
    clientAuth: true,
    server: CPE,
    validityHours: LEAF_HOURS,
    ...NO_SANS,
  };
}

/** The files each node must receive (§6, external-CA mode of §8: no CA key anywhere), as absolute paths. */
export function expectedFiles(node: E2eNode): string[] {
  const certs = expectedCertificates().filter((c) => c.node === node.name);
  const files = certs.flatMap((c) => (c.keyPath ? [c.path, c.keyPath] : [c.path]));
  if (node.role === "control-plane") files.push(`${PKI}/sa.key`, `${PKI}/sa.pub`); // §5
  return files.sort();
}

/** Modes (§4: kubeconfigs 0600; keys 0600; certificates readable). */
export function expectedMode(path: string): string {
  return path.endsWith(".crt") ? "0644" : "0600";
}
