// Every name kube-pki makes, built and read back in one place: the Pulumi resource names (stable: a deployed stack's
// URNs are made of them), the catalog ids, the config keys of the trust roots, and the files on a node (kubeadm's
// layout, docs/kubeadm.md §1, §4–§6). Names are ambiguous as text (cluster and node names may contain "-"), so they are
// read back against the stack's plans: the names those plans can make, built here and looked up. Pure code.
import { join, relative } from "node:path";
import type { CaName } from "./catalog";
import type { Reader } from "./config";
import type { ClusterPlan } from "./plan";
import type { TrustRoot } from "./trust";
import { approverRbacObjects } from "./approverRbac";
import { BOOTSTRAP_RBAC, CLUSTER_INFO, manifestSlug } from "./bootstrapRbac";

// ---- files on a node --------------------------------------------------------------------------------------------

export const KUBERNETES_DIR = "/etc/kubernetes";
export const PKI_DIR = `${KUBERNETES_DIR}/pki`;
export const KUBELET_PKI_DIR = "/var/lib/kubelet/pki";

/** A key pair's two files: `<base>.crt` and `<base>.key`. */
export interface KeyPairPaths {
  readonly certificate: string;
  readonly key: string;
}
const keyPair = (dir: string, base: string): KeyPairPaths => ({ certificate: `${dir}/${base}.crt`, key: `${dir}/${base}.key` });

/** Where each key pair lives, by the catalog's name of its certificate (§1; the kubelet serving certificate of §6). */
export const KEY_PAIR_PATHS = {
  ca: keyPair(PKI_DIR, "ca"),
  "front-proxy-ca": keyPair(PKI_DIR, "front-proxy-ca"),
  "etcd-ca": keyPair(PKI_DIR, "etcd/ca"),
  apiserver: keyPair(PKI_DIR, "apiserver"),
  "apiserver-kubelet-client": keyPair(PKI_DIR, "apiserver-kubelet-client"),
  "front-proxy-client": keyPair(PKI_DIR, "front-proxy-client"),
  "apiserver-etcd-client": keyPair(PKI_DIR, "apiserver-etcd-client"),
  "etcd-server": keyPair(PKI_DIR, "etcd/server"),
  "etcd-peer": keyPair(PKI_DIR, "etcd/peer"),
  "etcd-healthcheck-client": keyPair(PKI_DIR, "etcd/healthcheck-client"),
  "kubelet-serving": keyPair(KUBELET_PKI_DIR, "kubelet-serving"),
} as const satisfies Record<string, KeyPairPaths>;
export type KeyPairName = keyof typeof KEY_PAIR_PATHS;

/** §4: a kubeconfig, by its file name (`admin.conf`). */
export const kubeconfigPath = (file: string) => `${KUBERNETES_DIR}/${file}`;

/** §5: the service-account key pair. */
export const SA_PATHS = { privateKey: `${PKI_DIR}/sa.key`, publicKey: `${PKI_DIR}/sa.pub` } as const;

/** Beside ca.key: the cluster CA's signing certificate alone (kube-controller-manager's --cluster-signing-cert-file). */
export const CA_SIGNER_FILE = "ca-signer.crt";
export const CA_SIGNER_PATH = `${PKI_DIR}/${CA_SIGNER_FILE}`;

/** A trust root's two files: its certificate (a CA) or public key (sa), and its private key. */
export const trustRootPaths = (root: TrustRoot): { readonly pem: string; readonly key: string } =>
  root === "sa"
    ? { pem: SA_PATHS.publicKey, key: SA_PATHS.privateKey }
    : { pem: KEY_PAIR_PATHS[root].certificate, key: KEY_PAIR_PATHS[root].key };

/** A node path as found in a copy of a node's /etc/kubernetes at `kubernetesDir` (other paths are its siblings). */
export const pathBelow = (kubernetesDir: string, path: string) => join(kubernetesDir, relative(KUBERNETES_DIR, path));

// ---- config keys ----------------------------------------------------------------------------------------------------

/** How each trust root is spelt in the config (`adopt.<key>`, `rotation.<key>`). */
export const TRUST_ROOT_KEYS: Readonly<Record<TrustRoot, string>> = {
  ca: "ca",
  "front-proxy-ca": "frontProxyCa",
  "etcd-ca": "etcdCa",
  sa: "serviceAccount",
};

/** The secret stack config key `npm run adopt` stores an adopted root's private key in. */
export const adoptedKeyConfig = (cluster: string, root: TrustRoot) => `adopted-${cluster}-${root}-key`;

// ---- catalog ids ----------------------------------------------------------------------------------------------------

const USER_ID = "user:";

/** A certificate's (and its bundle's) id in the catalog: `ca`, `admin.conf`, `apiserver@cp-1`. */
export const catalogId = (name: string, node?: string) => (node === undefined ? name : `${name}@${node}`);
/** An extra user's id (also its name) in the catalog: `user:alice`. */
export const userCatalogId = (user: string) => `${USER_ID}${user}`;

/** A catalog id's parts: the certificate's name, its node, or the user whose it is (user names hold no "@"). */
export function splitCatalogId(id: string): { readonly name: string; readonly node?: string; readonly user?: string } {
  if (id.startsWith(USER_ID)) return { name: id, user: id.slice(USER_ID.length) };
  const at = id.indexOf("@");
  return at < 0 ? { name: id } : { name: id.slice(0, at), node: id.slice(at + 1) };
}

// ---- Pulumi resource names ------------------------------------------------------------------------------------------

/** The tls resources of a key pair, below its component: `<parent>-key`, `-csr`, `-cert`. */
export const TLS_CHILDREN = ["key", "csr", "cert"] as const;
export type TlsChild = (typeof TLS_CHILDREN)[number];
/** A kubeconfig's client certificate (`<kubeconfig>-client`) and its tls resources. */
export type ClientPart = "client" | `client-${TlsChild}`;
/** The resources of a cluster's publication, below it. */
export const PUBLICATION_CHILDREN = [
  "workload",
  "kubeadm-config-current",
  "kubeadm-config",
  "management",
  "capi-ca",
  "capi-etcd",
  "capi-proxy",
  "capi-sa",
  "capi-kubeconfig",
] as const;
export type PublicationChild = (typeof PUBLICATION_CHILDREN)[number];

/** The resources of a cluster's TLS bootstrap objects, below it: its provider and one per object of bootstrapRbac.ts
 * and approverRbac.ts. */
export const BOOTSTRAP_CHILDREN = [
  "workload",
  ...[...BOOTSTRAP_RBAC, ...approverRbacObjects()].map(manifestSlug),
  manifestSlug({ kind: "ConfigMap", metadata: CLUSTER_INFO }),
] as const;

/** What a resource name stands for. `generation` counts a trust root's generations from 1 (the one without a suffix). */
export type ResourceName =
  | { readonly kind: "pki"; readonly cluster: string }
  | { readonly kind: "ca"; readonly cluster: string; readonly ca: CaName; readonly generation: number; readonly part?: "key" | "cert" }
  | { readonly kind: "service-account"; readonly cluster: string; readonly generation: number; readonly part?: "key" }
  | { readonly kind: "leaf"; readonly cluster: string; readonly certificate: string; readonly node: string; readonly part?: TlsChild }
  | {
      readonly kind: "kubeconfig";
      readonly cluster: string;
      readonly kubeconfig: string;
      readonly node?: string;
      readonly part?: ClientPart;
    }
  | { readonly kind: "user"; readonly cluster: string; readonly user: string; readonly part?: ClientPart }
  | { readonly kind: "delivery"; readonly cluster: string }
  | { readonly kind: "tools"; readonly cluster: string; readonly node: string }
  /** `bundle`: the bundle's name (its catalog id without the node: `apiserver`, `admin.conf`). */
  | { readonly kind: "push"; readonly cluster: string; readonly node: string; readonly bundle: string }
  /** A push read without the plans (its node or cluster left them): `<cluster>-<node>` and the bundle as the name has them. */
  | { readonly kind: "unplanned-push"; readonly owner: string; readonly bundle: string }
  | { readonly kind: "restart"; readonly cluster: string; readonly node: string; readonly reader: Reader }
  | { readonly kind: "publication"; readonly cluster: string; readonly child?: PublicationChild }
  | { readonly kind: "cluster-bootstrap"; readonly cluster: string; readonly child?: string }
  | { readonly kind: "destroy-guard"; readonly cluster: string }
  /**
   * TLS bootstrap (workers: bootstrap): the tokens' component, the join pushes' component
   * (`-join`), a token (`-secret`: its Secret object), a shard push.
   */
  | { readonly kind: "bootstrap"; readonly cluster: string; readonly child?: "k8s" | "join" }
  | { readonly kind: "bootstrap-token"; readonly cluster: string; readonly id: string; readonly part?: "secret" }
  | { readonly kind: "join-shard"; readonly cluster: string; readonly shard: number };

/** A resource below a component, named after it. */
export const childName = (parent: string, child: string) => `${parent}-${child}`;
const withPart = (name: string, part: string | undefined) => (part === undefined ? name : childName(name, part));
const dashed = (...parts: readonly (string | undefined)[]) => parts.filter((p) => p !== undefined).join("-");
const GENERATION = "-g";
const generationName = (base: string, generation: number) => (generation === 1 ? base : `${base}${GENERATION}${generation}`);
const PUSH = "-push-";
/** A bundle's name as a resource name has it: `admin.conf` → `admin-conf`. */
const bundleSlug = (bundle: string) => bundle.replace(/[^a-z0-9-]+/gi, "-");
const CONF = ".conf";
/** `admin.conf` → `admin-kubeconfig`. */
const kubeconfigStem = (file: string) => (file.endsWith(CONF) ? `${file.slice(0, -CONF.length)}-kubeconfig` : file);

/** The resource name of `x`: `<cluster>-<certificate>[-<node>]`, `<cluster>-<node>-push-<bundle>`, … */
export function buildName(x: ResourceName): string {
  switch (x.kind) {
    case "pki":
      return x.cluster;
    case "ca":
      return withPart(generationName(dashed(x.cluster, x.ca), x.generation), x.part);
    case "service-account":
      return withPart(generationName(dashed(x.cluster, "sa"), x.generation), x.part);
    case "leaf":
      return withPart(dashed(x.cluster, x.certificate, x.node), x.part);
    case "kubeconfig":
      return withPart(dashed(x.cluster, kubeconfigStem(x.kubeconfig), x.node), x.part);
    case "user":
      return withPart(dashed(x.cluster, "user", x.user), x.part);
    case "delivery":
      return dashed(x.cluster, "delivery");
    case "tools":
      return dashed(x.cluster, x.node, "tools");
    case "push":
      return `${dashed(x.cluster, x.node)}${PUSH}${bundleSlug(x.bundle)}`;
    case "unplanned-push":
      return `${x.owner}${PUSH}${x.bundle}`;
    case "restart":
      return dashed(x.cluster, x.node, "restart", x.reader);
    case "publication":
      return withPart(dashed(x.cluster, "publication"), x.child);
    case "cluster-bootstrap":
      return withPart(dashed(x.cluster, "cluster-bootstrap"), x.child);
    case "destroy-guard":
      return dashed(x.cluster, "destroy-guard");
    case "bootstrap":
      return withPart(dashed(x.cluster, "bootstrap"), x.child);
    case "bootstrap-token":
      return withPart(dashed(x.cluster, "bootstrap-token", x.id), x.part);
    case "join-shard":
      return dashed(x.cluster, "join", String(x.shard).padStart(2, "0"));
  }
}

/** The parent of a key pair's tls resource (`<parent>-key`, `-csr`, `-cert`), for any name, known or not. */
export function splitTlsChild(name: string): { readonly parent: string; readonly part?: TlsChild } {
  const part = TLS_CHILDREN.find((p) => name.endsWith(`-${p}`));
  return part ? { parent: name.slice(0, -part.length - 1), part } : { parent: name };
}

const CA_PARTS = [undefined, "key", "cert"] as const;
const CLIENT_PARTS = [undefined, "client", ...TLS_CHILDREN.map((p) => `client-${p}` as const)] as const;
const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));

/** What one certificate of the catalog is called: its component and, with `part`, what is below it. */
function certificateNames(cluster: string, c: ClusterPlan["catalog"]["certificates"][number]): ResourceName[] {
  const { name, node, user } = splitCatalogId(c.id);
  if (c.kind === "ca")
    return CA_PARTS.map((part) => ({ kind: "ca", cluster, ca: c.id as CaName, generation: 1, ...optional("part", part) }));
  if (c.kind === "leaf")
    return [undefined, ...TLS_CHILDREN].map((part) => ({
      kind: "leaf",
      cluster,
      certificate: name,
      node: node!,
      ...optional("part", part),
    }));
  return CLIENT_PARTS.map((part) =>
    user !== undefined
      ? { kind: "user", cluster, user, ...optional("part", part) }
      : { kind: "kubeconfig", cluster, kubeconfig: name, ...optional("node", node), ...optional("part", part) },
  );
}

/** Every name one cluster's plan can make (a trust root at generation 1), with what it stands for; first one wins. */
function plannedNames({ catalog }: ClusterPlan): Map<string, ResourceName> {
  const cluster = catalog.cluster.name;
  // Every bundle and reader on every node, not only those it has now: a push or restart the node lost is still read.
  const bundles = [...new Set(catalog.bundles.map((b) => splitCatalogId(b.id).name))];
  const readers = [...new Set(catalog.bundles.flatMap((b) => b.readers))];
  const names: ResourceName[] = [
    { kind: "pki", cluster },
    { kind: "delivery", cluster },
    { kind: "destroy-guard", cluster },
    ...[undefined, ...PUBLICATION_CHILDREN].map((child) => ({ kind: "publication" as const, cluster, ...optional("child", child) })),
    ...[undefined, ...BOOTSTRAP_CHILDREN].map((child) => ({ kind: "cluster-bootstrap" as const, cluster, ...optional("child", child) })),
    ...[undefined, "key" as const].map((part) => ({ kind: "service-account" as const, cluster, generation: 1, ...optional("part", part) })),
    ...catalog.certificates.flatMap((c) => certificateNames(cluster, c)),
    ...catalog.cluster.nodes.flatMap(({ name: node }): ResourceName[] => [
      { kind: "tools", cluster, node },
      ...bundles.map((bundle) => ({ kind: "push" as const, cluster, node, bundle })),
      ...readers.map((reader) => ({ kind: "restart" as const, cluster, node, reader })),
    ]),
    { kind: "bootstrap", cluster },
    { kind: "bootstrap", cluster, child: "k8s" },
    { kind: "bootstrap", cluster, child: "join" },
    ...Array.from({ length: JOIN_SHARD_COUNT }, (_, shard) => ({ kind: "join-shard" as const, cluster, shard })),
  ];
  const byName = new Map<string, ResourceName>();
  for (const x of names) if (!byName.has(buildName(x))) byName.set(buildName(x), x);
  return byName;
}

/** Shards of a bootstrap cluster's listed workers (model/bootstrap.ts JOIN_SHARDS; here to keep names free of it). */
export const JOIN_SHARD_COUNT = 64;

/** A bootstrap token's resource names carry its id, which depends on the time: read by shape. */
function bootstrapToken(name: string, cluster: string): ResourceName | undefined {
  const prefix = `${cluster}-bootstrap-token-`;
  const m = name.startsWith(prefix) ? /^([a-z0-9]{6})(-secret)?$/.exec(name.slice(prefix.length)) : null;
  return m ? { kind: "bootstrap-token", cluster, id: m[1]!, ...(m[2] ? { part: "secret" as const } : {}) } : undefined;
}

const planned = new WeakMap<ClusterPlan, Map<string, ResourceName>>();

/** A later generation of a trust root (`<root>-g<n>`, and its `-key`, `-cert`): generation 1 of the same resource is known. */
function laterGeneration(name: string, byName: ReadonlyMap<string, ResourceName>): ResourceName | undefined {
  const { parent, part } = splitTlsChild(name);
  for (const [base, suffix] of [[name, undefined], ...(part ? [[parent, part] as const] : [])] as const) {
    const mark = base.lastIndexOf(GENERATION);
    const first = mark > 0 ? byName.get(withPart(base.slice(0, mark), suffix)) : undefined;
    if (first?.kind !== "ca" && first?.kind !== "service-account") continue;
    const x = { ...first, generation: Number(base.slice(mark + GENERATION.length)) };
    if (x.generation > 1 && buildName(x) === name) return x;
  }
  return undefined;
}

/**
 * What a resource name stands for, read against the stack's plans (the names they can make, longest cluster name
 * first), else a push as the name alone tells it; undefined for a name kube-pki does not make.
 */
export function parseName(name: string, plans: readonly ClusterPlan[]): ResourceName | undefined {
  const byLength = [...plans].sort((a, b) => b.catalog.cluster.name.length - a.catalog.cluster.name.length);
  for (const plan of byLength) {
    if (name !== plan.catalog.cluster.name && !name.startsWith(`${plan.catalog.cluster.name}-`)) continue;
    if (!planned.has(plan)) planned.set(plan, plannedNames(plan));
    const byName = planned.get(plan)!;
    const x = byName.get(name) ?? laterGeneration(name, byName) ?? bootstrapToken(name, plan.catalog.cluster.name);
    if (x) return x;
  }
  const push = name.lastIndexOf(PUSH);
  return push > 0 && push + PUSH.length < name.length
    ? { kind: "unplanned-push", owner: name.slice(0, push), bundle: name.slice(push + PUSH.length) }
    : undefined;
}
