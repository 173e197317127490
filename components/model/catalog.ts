// The certificate catalog: everything kubeadm makes for one cluster, as one declarative table (modelled on kubeadm's
// certlist.go), and the small pure functions that expand it for a validated cluster: which certificates exist, with
// which subject, usages, SANs and validity, which files they become, and which node receives which files.
// Sources are the sections of docs/kubeadm.md. No Pulumi here.
import { createHash } from "node:crypto";
import { ClusterSpec, KeyAlgorithm, NodeSpec, Reader } from "./config";
import { AltNames, apiServerAltNames, etcdAltNames, kubeletServingAltNames } from "./sans";
import { httpsUrl } from "./net";
import { APPROVER_NAME, APPROVER_USER } from "./approverRbac";
import { buildName, CA_SIGNER_PATH, catalogId, KEY_PAIR_PATHS, KeyPairName, kubeconfigPath, SA_PATHS, userCatalogId } from "./names";

export type CaName = "ca" | "front-proxy-ca" | "etcd-ca";

/** The tls provider's allowedUses strings (docs/tls-provider.md §7.3) for kubeadm's profiles (docs/kubeadm.md §1). */
export const USES = {
  ca: ["digital_signature", "key_encipherment", "cert_signing"],
  server: ["digital_signature", "key_encipherment", "server_auth"],
  client: ["digital_signature", "key_encipherment", "client_auth"],
  serverAndClient: ["digital_signature", "key_encipherment", "server_auth", "client_auth"],
} as const;

/** How many of a certificate there are: one per cluster, one per control-plane node, or one per node. */
export type Scope = "cluster" | "control-plane" | "node";

/** Which nodes get a cluster-scoped bundle (per-node certificates always go to their own node only). */
export type Audience = "control-plane" | "init-node" | "every-node" | "operator-only";

interface CaProfile {
  readonly name: CaName;
  readonly commonName: string;
  readonly readers: readonly Reader[];
}

interface LeafProfile {
  /** kubeadm's name (`kubeadm certs check-expiration` rows); its files are KEY_PAIR_PATHS[name]. */
  readonly name: KeyPairName;
  readonly signer: CaName;
  readonly scope: Scope;
  readonly commonName: (node: NodeSpec) => string;
  readonly organization?: string;
  readonly uses: readonly string[];
  readonly altNames?: (cluster: ClusterSpec, node: NodeSpec) => AltNames;
  readonly readers: readonly Reader[];
  /** TCP port on the node's address where a reader serves this certificate (for post-push health checks). */
  readonly servedOnPort?: (cluster: ClusterSpec) => number;
}

interface KubeconfigProfile {
  /** File name in /etc/kubernetes (the check-expiration row name): kubeconfigPath(name). */
  readonly name: string;
  readonly scope: Scope;
  readonly audience: Audience;
  readonly commonName: (node: NodeSpec) => string;
  readonly organization?: string;
  /** CPE: the control-plane endpoint; LOCAL: the node's own API server (docs/kubeadm.md §4). */
  readonly server: "CPE" | "LOCAL";
  readonly readers: readonly Reader[];
  /** Only in clusters where this holds (default: every cluster). */
  readonly when?: (cluster: ClusterSpec) => boolean;
}

// ---- the table ----------------------------------------------------------------------------------------------------

/** §1: three self-signed CAs (CN, DNS SAN = CN). */
export const CERTIFICATE_AUTHORITIES: readonly CaProfile[] = [
  { name: "ca", commonName: "kubernetes", readers: ["kube-apiserver", "kube-controller-manager", "kubelet"] },
  { name: "front-proxy-ca", commonName: "front-proxy-ca", readers: ["kube-apiserver", "kube-controller-manager"] },
  { name: "etcd-ca", commonName: "etcd-ca", readers: ["etcd", "kube-apiserver"] },
];

const fixed = (cn: string) => () => cn;
const nodeName = (node: NodeSpec) => node.name;
const nodeIdentity = (node: NodeSpec) => `system:node:${node.name}`;

/** §1: etcd's server and peer certificates are one profile; each has its own extra SANs and port. */
const etcdServing = (name: KeyPairName, extraSans: "serverCertSANs" | "peerCertSANs", port: number): LeafProfile => ({
  name,
  signer: "etcd-ca",
  scope: "control-plane",
  commonName: nodeName,
  uses: USES.serverAndClient,
  altNames: (c, n) => etcdAltNames(n, c.etcd[extraSans]),
  readers: ["etcd"],
  servedOnPort: () => port,
});

/** §1 leaves, plus the kubelet serving certificate of §6. */
export const LEAF_CERTIFICATES: readonly LeafProfile[] = [
  {
    name: "apiserver",
    signer: "ca",
    scope: "control-plane",
    commonName: fixed("kube-apiserver"),
    uses: USES.server,
    altNames: apiServerAltNames,
    readers: ["kube-apiserver"],
    servedOnPort: (c) => c.apiServer.bindPort,
  },
  {
    name: "apiserver-kubelet-client",
    signer: "ca",
    scope: "control-plane",
    commonName: fixed("kube-apiserver-kubelet-client"),
    organization: "kubeadm:cluster-admins",
    uses: USES.client,
    readers: ["kube-apiserver"],
  },
  {
    name: "front-proxy-client",
    signer: "front-proxy-ca",
    scope: "control-plane",
    commonName: fixed("front-proxy-client"),
    uses: USES.client,
    readers: ["kube-apiserver"],
  },
  {
    name: "apiserver-etcd-client",
    signer: "etcd-ca",
    scope: "control-plane",
    commonName: fixed("kube-apiserver-etcd-client"),
    uses: USES.client,
    readers: ["kube-apiserver"],
  },
  {
    name: "etcd-healthcheck-client",
    signer: "etcd-ca",
    scope: "control-plane",
    commonName: fixed("kube-etcd-healthcheck-client"),
    uses: USES.client,
    readers: [],
  },
  etcdServing("etcd-server", "serverCertSANs", 2379),
  etcdServing("etcd-peer", "peerCertSANs", 2380),
  {
    name: "kubelet-serving",
    signer: "ca",
    scope: "node",
    commonName: nodeIdentity,
    organization: "system:nodes",
    uses: USES.server,
    altNames: (_, n) => kubeletServingAltNames(n),
    readers: ["kubelet"],
    servedOnPort: () => 10250,
  },
];

/** §4 kubeconfigs, plus kube-proxy's (a client-certificate kubeconfig, as self-managed clusters run it). */
export const KUBECONFIGS: readonly KubeconfigProfile[] = [
  {
    name: "admin.conf",
    scope: "cluster",
    audience: "control-plane",
    commonName: fixed("kubernetes-admin"),
    organization: "kubeadm:cluster-admins",
    server: "CPE",
    readers: [],
  },
  {
    name: "super-admin.conf",
    scope: "cluster",
    audience: "init-node",
    commonName: fixed("kubernetes-super-admin"),
    organization: "system:masters",
    server: "CPE",
    readers: [],
  },
  {
    name: "controller-manager.conf",
    scope: "control-plane",
    audience: "control-plane",
    commonName: fixed("system:kube-controller-manager"),
    server: "LOCAL",
    readers: ["kube-controller-manager"],
  },
  {
    name: "scheduler.conf",
    scope: "control-plane",
    audience: "control-plane",
    commonName: fixed("system:kube-scheduler"),
    server: "LOCAL",
    readers: ["kube-scheduler"],
  },
  {
    name: "kubelet.conf",
    scope: "node",
    audience: "every-node",
    commonName: nodeIdentity,
    organization: "system:nodes",
    server: "CPE",
    readers: ["kubelet"],
  },
  {
    name: "kube-proxy.conf",
    scope: "cluster",
    audience: "every-node",
    commonName: fixed("system:kube-proxy"),
    organization: "system:node-proxier",
    server: "CPE",
    readers: ["kube-proxy"],
  },
  {
    // kube-pki's kubelet serving-certificate approver (approver/), on every control-plane node, leader-elected.
    name: `${APPROVER_NAME}.conf`,
    scope: "control-plane",
    audience: "control-plane",
    commonName: fixed(APPROVER_USER),
    server: "LOCAL",
    readers: ["kube-pki-csr-approver"],
    when: (c) => c.workers === "bootstrap",
  },
];

// ---- the expanded catalog -----------------------------------------------------------------------------------------

/** A path the node must not have: `signingKey` ones (CA keys, sa.key) always go; others only if kube-pki put them there. */
export interface AbsentPath {
  readonly path: string;
  readonly signingKey: boolean;
}

export interface CertificateSpec {
  /** Unique in the cluster and readable: `apiserver@cp-1`, `admin.conf`, `ca`, `user:alice`. */
  readonly id: string;
  /** kubeadm's name of the certificate or kubeconfig (`apiserver`, `admin.conf`). */
  readonly name: string;
  readonly kind: "ca" | "leaf" | "kubeconfig";
  /** Pulumi resource name, stable: derived only from the cluster, the certificate and the node names. */
  readonly resourceName: string;
  readonly node?: string;
  /** Undefined for the (self-signed) CAs. */
  readonly signer?: CaName;
  readonly commonName: string;
  /** Subject O values (Kubernetes groups): one for kubeadm's identities, any number for extra users. */
  readonly organizations: readonly string[];
  readonly allowedUses: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly validityHours: number;
  readonly earlyRenewalHours: number;
  readonly keyAlgorithm: KeyAlgorithm;
  /** For kubeconfigs: what goes into the file besides the certificate. */
  readonly kubeconfig?: { readonly clusterName: string; readonly server: string; readonly user: string };
  /** Where a reader serves it, for health checks after delivery. */
  readonly servedAt?: { readonly host: string; readonly port: number };
}

/** `signer-certificate`: a CA's signing generation alone, where `certificate` is its trust bundle. */
export type FileContent = "certificate" | "signer-certificate" | "private-key" | "kubeconfig" | "public-key";

export interface FileSpec {
  /** Absolute path on the node. */
  readonly path: string;
  /** Octal mode: 0o600 for keys and kubeconfigs, 0o644 for certificates. */
  readonly mode: number;
  readonly owner: "root";
  /** Catalog id of the certificate (or `sa`) this file is made from. */
  readonly source: string;
  readonly content: FileContent;
}

/** What moves to a node as one unit: a key with its certificate, one kubeconfig, one CA (with its key if placed). */
export interface Bundle {
  /** Unique per node: the source's id. */
  readonly id: string;
  readonly node: string;
  readonly files: readonly FileSpec[];
  /** Processes on the node that must reload after the bundle changes. */
  readonly readers: readonly Reader[];
  readonly servedAt?: { readonly host: string; readonly port: number };
  /**
   * Paths kube-pki manages that this node is not (or no longer) entitled to, removed with the bundle's swap: signing
   * keys always, other files if they still hold what kube-pki installed. Carried by each node's `ca` bundle.
   */
  readonly absent?: readonly AbsentPath[];
}

export interface ClusterCatalog {
  readonly cluster: ClusterSpec;
  /** The first control-plane node: the one `kubeadm init` ran on (gets super-admin.conf). */
  readonly initNode: NodeSpec;
  readonly certificates: readonly CertificateSpec[];
  /** The service-account key pair (§5): not X.509. */
  readonly serviceAccount: { readonly id: "sa"; readonly resourceName: string; readonly keyAlgorithm: KeyAlgorithm };
  readonly bundles: readonly Bundle[];
}

const certificateFile = (source: string, path: string): FileSpec => ({ path, mode: 0o644, owner: "root", source, content: "certificate" });
const privateKeyFile = (source: string, path: string): FileSpec => ({ path, mode: 0o600, owner: "root", source, content: "private-key" });

/** The URL kubeconfigs reach the API servers at: the control-plane endpoint, else the init node's API server. */
export function endpointUrl(cluster: ClusterSpec, initNode: NodeSpec): string {
  const cpe = cluster.controlPlaneEndpoint;
  return cpe ? httpsUrl(cpe.host, cpe.port) : httpsUrl(initNode.address, cluster.apiServer.bindPort);
}

/**
 * The nodes kube-pki gives files and identities: all of them, or with `workers: bootstrap` the control plane only
 * (workers get the join material, the same for all, and their kubelet identity by TLS bootstrap: model/bootstrap.ts).
 */
export const catalogNodes = (cluster: Pick<ClusterSpec, "nodes" | "workers">): readonly NodeSpec[] =>
  cluster.workers === "bootstrap" ? cluster.nodes.filter((n) => n.role === "control-plane") : cluster.nodes;

function nodesInScope(cluster: ClusterSpec, scope: Scope): readonly (NodeSpec | undefined)[] {
  if (scope === "cluster") return [undefined];
  return scope === "control-plane" ? cluster.nodes.filter((n) => n.role === "control-plane") : catalogNodes(cluster);
}

function audienceNodes(cluster: ClusterSpec, initNode: NodeSpec, audience: Audience): readonly NodeSpec[] {
  switch (audience) {
    case "control-plane":
      return cluster.nodes.filter((n) => n.role === "control-plane");
    case "init-node":
      return [initNode];
    case "every-node":
      return catalogNodes(cluster);
    case "operator-only":
      return [];
  }
}

const orgs = (o: string | undefined): readonly string[] => (o === undefined ? [] : [o]);

/**
 * Hours added to a per-node leaf's early renewal: leaves all issued on one day would otherwise all renew on one day
 * (one run re-issuing every node, each step a checkpoint of the whole state). Uniform in [0, S) by a hash of
 * cluster/node, so it is stable across runs and the same for all of a node's leaves (one restart per node), with
 * S = min(E, leafHours/2 - E): a leaf never renews before half its life, and a daily run renews about 24/S of the nodes.
 */
export function renewalSpreadHours(cluster: Pick<ClusterSpec, "name" | "validity">, node: string): number {
  const { leafHours, earlyRenewalHours } = cluster.validity;
  const span = Math.max(0, Math.min(earlyRenewalHours, Math.floor(leafHours / 2) - earlyRenewalHours));
  const unit = createHash("sha256").update(`${cluster.name}/${node}`).digest().readUInt32BE(0) / 2 ** 32;
  return Math.floor(unit * span);
}

/** Expands the table for one validated cluster. */
export function buildCatalog(cluster: ClusterSpec): ClusterCatalog {
  const initNode = cluster.nodes.find((n) => n.role === "control-plane");
  if (!initNode) throw new Error(`cluster ${cluster.name} has no control-plane node (validateClusters checks this)`);
  const { leafHours, caHours, earlyRenewalHours } = cluster.validity;
  const keyAlgorithm = cluster.keyAlgorithm;
  const certificates: CertificateSpec[] = [];
  const bundles: Bundle[] = [];
  const controlPlane = cluster.nodes.filter((n) => n.role === "control-plane");
  /** What every kubeconfig's client certificate has, kubeadm's and the extra users': a leaf without SANs. */
  const kubeconfigClient = (server: string, user: string) => ({
    allowedUses: USES.client,
    dnsNames: [],
    ipAddresses: [],
    validityHours: leafHours,
    earlyRenewalHours,
    keyAlgorithm,
    kubeconfig: { clusterName: cluster.clusterName, server, user },
  });

  for (const ca of CERTIFICATE_AUTHORITIES) {
    certificates.push({
      id: ca.name,
      name: ca.name,
      kind: "ca",
      resourceName: buildName({ kind: "ca", cluster: cluster.name, ca: ca.name, generation: 1 }),
      commonName: ca.commonName,
      organizations: [],
      allowedUses: USES.ca,
      dnsNames: [ca.commonName],
      ipAddresses: [],
      // CAs are never renewed behind the operator's back: replacing one re-issues everything under it (§11).
      validityHours: caHours,
      earlyRenewalHours: 0,
      keyAlgorithm,
    });
    const withKey = cluster.caKeys === "control-plane";
    // ca.crt is the one PKI file workers need (§6); CA keys go to control-plane nodes only, and only on opt-in (§8).
    const targets = ca.name === "ca" ? catalogNodes(cluster) : controlPlane;
    for (const node of targets) {
      const paths = KEY_PAIR_PATHS[ca.name];
      const files = [certificateFile(ca.name, paths.certificate)];
      if (withKey && node.role === "control-plane") {
        files.push(privateKeyFile(ca.name, paths.key));
        // kube-controller-manager signs with one certificate and refuses a bundle ("expected 1 certificate, found
        // 2"), while ca.crt is one during a rotation: its --cluster-signing-cert-file reads this file instead, which
        // always holds just the certificate of ca.key, and changes with it.
        if (ca.name === "ca") files.push({ ...certificateFile(ca.name, CA_SIGNER_PATH), content: "signer-certificate" });
      }
      const readers = node.role === "control-plane" ? ca.readers : ca.readers.filter((r) => r === "kubelet");
      bundles.push({ id: ca.name, node: node.name, files, readers });
    }
  }

  for (const leaf of LEAF_CERTIFICATES) {
    for (const node of nodesInScope(cluster, leaf.scope)) {
      if (!node) continue; // every leaf profile is per node (kubeadm issues them on each control-plane node)
      const sans = leaf.altNames?.(cluster, node) ?? { dnsNames: [], ipAddresses: [] };
      const id = catalogId(leaf.name, node.name);
      const servedAt = leaf.servedOnPort ? { host: node.address, port: leaf.servedOnPort(cluster) } : undefined;
      certificates.push({
        id,
        name: leaf.name,
        kind: "leaf",
        resourceName: buildName({ kind: "leaf", cluster: cluster.name, certificate: leaf.name, node: node.name }),
        node: node.name,
        signer: leaf.signer,
        commonName: leaf.commonName(node),
        organizations: orgs(leaf.organization),
        allowedUses: leaf.uses,
        dnsNames: sans.dnsNames,
        ipAddresses: sans.ipAddresses,
        validityHours: leafHours,
        earlyRenewalHours: earlyRenewalHours + renewalSpreadHours(cluster, node.name),
        keyAlgorithm,
        servedAt,
      });
      bundles.push({
        id,
        node: node.name,
        readers: leaf.readers,
        servedAt,
        files: [certificateFile(id, KEY_PAIR_PATHS[leaf.name].certificate), privateKeyFile(id, KEY_PAIR_PATHS[leaf.name].key)],
      });
    }
  }

  const endpoint = endpointUrl(cluster, initNode);
  for (const kc of KUBECONFIGS.filter((k) => k.when?.(cluster) ?? true)) {
    for (const node of nodesInScope(cluster, kc.scope)) {
      const commonName = kc.commonName(node ?? initNode);
      const id = catalogId(kc.name, node?.name);
      const server = kc.server === "LOCAL" && node ? httpsUrl(node.address, cluster.apiServer.bindPort) : endpoint;
      certificates.push({
        id,
        name: kc.name,
        kind: "kubeconfig",
        resourceName: buildName({ kind: "kubeconfig", cluster: cluster.name, kubeconfig: kc.name, ...(node ? { node: node.name } : {}) }),
        node: node?.name,
        signer: "ca",
        commonName,
        organizations: orgs(kc.organization),
        ...kubeconfigClient(server, commonName),
        ...(node ? { earlyRenewalHours: earlyRenewalHours + renewalSpreadHours(cluster, node.name) } : {}),
      });
      const targets = node ? [node] : audienceNodes(cluster, initNode, kc.audience);
      for (const target of targets) {
        bundles.push({
          id,
          node: target.name,
          readers: kc.readers,
          files: [{ path: kubeconfigPath(kc.name), mode: 0o600, owner: "root", source: id, content: "kubeconfig" }],
        });
      }
    }
  }

  for (const user of cluster.users) {
    const id = userCatalogId(user.name);
    certificates.push({
      id,
      name: id,
      kind: "kubeconfig",
      resourceName: buildName({ kind: "user", cluster: cluster.name, user: user.name }),
      signer: "ca",
      commonName: user.name,
      organizations: user.groups,
      ...kubeconfigClient(endpoint, user.name),
    });
  }

  // §5: identical on every control-plane node, like the CAs; never on workers.
  for (const node of controlPlane) {
    bundles.push({
      id: "sa",
      node: node.name,
      readers: ["kube-apiserver", "kube-controller-manager"],
      files: [
        { path: SA_PATHS.privateKey, mode: 0o600, owner: "root", source: "sa", content: "private-key" },
        { path: SA_PATHS.publicKey, mode: 0o600, owner: "root", source: "sa", content: "public-key" },
      ],
    });
  }

  return {
    cluster,
    initNode,
    certificates,
    bundles: withEntitlements(cluster, bundles),
    serviceAccount: { id: "sa", resourceName: buildName({ kind: "service-account", cluster: cluster.name, generation: 1 }), keyAlgorithm },
  };
}

/**
 * Every kind of bundle by its id (without the node), with the paths its files can have on a node: what a push that
 * left a node held, for reports (a cert diff names the files a node loses).
 */
export function bundlePathsById(): ReadonlyMap<string, readonly string[]> {
  return new Map<string, readonly string[]>([
    ...[...CERTIFICATE_AUTHORITIES, ...LEAF_CERTIFICATES].map(
      ({ name }) => [name, [KEY_PAIR_PATHS[name].certificate, KEY_PAIR_PATHS[name].key]] as const,
    ),
    ...KUBECONFIGS.map((k) => [k.name, [kubeconfigPath(k.name)]] as const),
    ["sa", [SA_PATHS.privateKey, SA_PATHS.publicKey]] as const,
  ]);
}

/** Signing keys: wherever the config does not place them, they must not exist (docs/kubeadm.md §6, §8). */
export const SIGNING_KEY_PATHS: readonly string[] = [
  ...CERTIFICATE_AUTHORITIES.map((ca) => KEY_PAIR_PATHS[ca.name].key),
  SA_PATHS.privateKey,
];

/**
 * Least privilege, also after a change (caKeys back to none, a control-plane node turned worker, another init node):
 * every node's `ca` bundle lists every path kube-pki manages in this cluster that the node does not receive, and
 * installing it removes them (the signing keys always; other files only while they hold what kube-pki put there).
 */
function withEntitlements(cluster: ClusterSpec, bundles: readonly Bundle[]): Bundle[] {
  const managed = new Set([...bundles.flatMap((b) => b.files.map((f) => f.path)), ...SIGNING_KEY_PATHS, CA_SIGNER_PATH]);
  const received = new Map<string, Set<string>>();
  for (const b of bundles) {
    const paths = received.get(b.node) ?? new Set<string>();
    b.files.forEach((f) => paths.add(f.path));
    received.set(b.node, paths);
  }
  return bundles.map((b) =>
    b.id !== "ca"
      ? b
      : {
          ...b,
          absent: [...managed]
            .filter((path) => !received.get(b.node)!.has(path))
            .sort()
            .map((path) => ({ path, signingKey: SIGNING_KEY_PATHS.includes(path) })),
        },
  );
}

/** Readable one-line summary of a certificate's subject, for inventories and diffs. */
export function subjectText(cert: Pick<CertificateSpec, "commonName" | "organizations">): string {
  return [`CN=${cert.commonName}`, ...cert.organizations.map((o) => `O=${o}`)].join(", ");
}

/**
 * One row of the readable inventory (a stack output; the PR diff and expiry report read the same fields): the spec's
 * fields but those only the engine needs (resource name, kubeconfig contents, health-check address).
 */
export type InventoryEntry = Omit<CertificateSpec, "resourceName" | "signer" | "kubeconfig" | "servedAt"> & {
  readonly subject: string;
  /** `self` for CAs. */
  readonly signer: string;
  /** `node:path` of every file made from it. */
  readonly files: readonly string[];
};

export function inventoryOf(catalog: ClusterCatalog): InventoryEntry[] {
  return catalog.certificates.map((c) => ({
    id: c.id,
    name: c.name,
    kind: c.kind,
    ...(c.node ? { node: c.node } : {}),
    subject: subjectText(c),
    commonName: c.commonName,
    organizations: c.organizations,
    dnsNames: c.dnsNames,
    ipAddresses: c.ipAddresses,
    signer: c.signer ?? "self",
    allowedUses: c.allowedUses,
    keyAlgorithm: c.keyAlgorithm,
    validityHours: c.validityHours,
    earlyRenewalHours: c.earlyRenewalHours,
    files: catalog.bundles.flatMap((b) => b.files.filter((f) => f.source === c.id).map((f) => `${b.node}:${f.path}`)),
  }));
}
