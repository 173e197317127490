// TLS bootstrap of workers (`workers: bootstrap`, README "Workers"): the bootstrap-token windows, the join material
// every worker gets (the same for all of them, so no per-worker resource), and the stable shards listed workers are
// pushed in. Pure code: what exists at a given time and what the files say; the tokens' secrets are made by
// components/bootstrap/bootstrapTokens.ts and only substituted here.
import { createHash, X509Certificate } from "node:crypto";
import { stringify } from "yaml";
import type { ClusterSpec, NodeSpec } from "./config";
import { buildName, JOIN_SHARD_COUNT, KEY_PAIR_PATHS, kubeconfigPath } from "./names";
import { pemBlocks } from "./trust";

const HOUR = 3_600_000;

/** kubeadm's bootstrap-token conventions (k8s.io/cluster-bootstrap/token/api, kubeadm constants). */
export const BOOTSTRAP_TOKEN = {
  user: "tls-bootstrap-token-user",
  /** kubeadm's default extra group: an adopted kubeadm cluster's RBAC already binds it. */
  group: "system:bootstrappers:kubeadm:default-node-token",
  secretType: "bootstrap.kubernetes.io/token",
  namespace: "kube-system",
  idPattern: /^[a-z0-9]{6}$/,
  secretPattern: /^[a-z0-9]{16}$/,
} as const;

/** Where the join files go on a worker (kubeadm's paths). */
export const JOIN_PATHS = {
  bootstrapKubeconfig: kubeconfigPath("bootstrap-kubelet.conf"),
  ca: KEY_PAIR_PATHS.ca.certificate,
  kubeProxy: kubeconfigPath("kube-proxy.conf"),
} as const;

export interface TokenWindow {
  /** Window number: the token of window w starts at w·tokenHours/2 (Unix epoch) and lives tokenHours. */
  readonly window: number;
  /** The token id (6 characters, public), derived from the cluster and the window: stable, so a preview knows it. */
  readonly id: string;
  /** Pulumi resource name of its secret and of its Secret object: `<cluster>-bootstrap-token-<id>`. */
  readonly resourceName: string;
  readonly startsAt: string;
  /** RFC 3339, the Secret's `expiration` (the token cleaner deletes it then). */
  readonly expiresAt: string;
}

/**
 * The tokens an `up` at `now` keeps: the current window's (the one the join material carries) and the previous one,
 * still valid for up to half a lifetime, so join material handed out by the last `up` keeps working until it expires
 * by itself; older ones go. A new token starts every tokenHours/2, so the next one exists (made by the daily `up`)
 * well before the current one expires, and no token lives longer than tokenHours from its window's start.
 */
export function tokenWindows(cluster: Pick<ClusterSpec, "name" | "bootstrap">, now: Date): { current: TokenWindow; kept: TokenWindow[] } {
  const half = (cluster.bootstrap.tokenHours * HOUR) / 2;
  const w = Math.floor(now.getTime() / half);
  const at = (window: number): TokenWindow => {
    const id = tokenId(cluster.name, window);
    return {
      window,
      id,
      resourceName: buildName({ kind: "bootstrap-token", cluster: cluster.name, id }),
      startsAt: new Date(window * half).toISOString(),
      expiresAt: new Date(window * half + cluster.bootstrap.tokenHours * HOUR).toISOString().replace(/\.000Z$/, "Z"),
    };
  };
  const current = at(w);
  return { current, kept: [at(w - 1), current] };
}

/** 6 characters of [a-z0-9] from the cluster and window (public: the id names the token; its secret is random). */
export function tokenId(cluster: string, window: number): string {
  const digest = createHash("sha256").update(`kube-pki bootstrap token ${cluster} ${window}`).digest();
  let id = "";
  for (let i = 0; id.length < 6; i++) id += (digest[i]! % 36).toString(36);
  return id;
}

/** kubeadm's `--discovery-token-ca-cert-hash`: sha256 of the CA certificate's SubjectPublicKeyInfo (pubkeypin.Hash). */
export function caCertHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return `sha256:${createHash("sha256").update(spki).digest("hex")}`;
}

/** host:port of the API endpoint as kubeadm join takes it (IPv6 in brackets): the server URL without https://. */
export const joinEndpoint = (server: string) => server.replace(/^https:\/\//, "");

/**
 * `kubeadm join`: one `--discovery-token-ca-cert-hash` per CA of the bundle, so a node joining during a rotation
 * accepts cluster-info signed into either generation's trust (kubeadm accepts any listed pin).
 */
export function joinCommand(server: string, token: string, caBundle: string): string {
  const hashes = pemBlocks(caBundle).map((pem) => `--discovery-token-ca-cert-hash ${caCertHash(pem)}`);
  return ["kubeadm join", joinEndpoint(server), "--token", token, ...hashes].join(" ");
}

/**
 * bootstrap-kubelet.conf as kubeadm join writes it (cluster named clusterName, user tls-bootstrap-token-user with the
 * token, context `<user>@<cluster>`), with one difference: the CA is the path /etc/kubernetes/pki/ca.crt, not
 * embedded data. The kubelet copies the bootstrap file's cluster entry into the kubelet.conf it writes after
 * bootstrapping; a path there keeps following ca.crt, which kube-pki keeps as the rotation-aware bundle (old + new
 * during a CA rotation): embedded data would freeze the CA of the day the node joined and break the kubelet's trust in
 * the API server at the rotation's switch, restart or not. The kubelet reads that CA when it starts (its API client
 * does not reload it: kubeletRestartNeeded), so the shard push restarts it when the bundle's CAs change. The file
 * ca.crt is part of the join material.
 */
export function bootstrapKubeconfig(clusterName: string, server: string, token: string): string {
  const context = `${BOOTSTRAP_TOKEN.user}@${clusterName}`;
  return stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ cluster: { "certificate-authority": JOIN_PATHS.ca, server }, name: clusterName }],
      contexts: [{ context: { cluster: clusterName, user: BOOTSTRAP_TOKEN.user }, name: context }],
      "current-context": context,
      preferences: {},
      users: [{ name: BOOTSTRAP_TOKEN.user, user: { token } }],
    },
    { lineWidth: 0 },
  );
}

/**
 * Whether a worker's kubelet must restart after its ca.crt changed from `before` to `after` (undefined: the first
 * install, before any kubelet ran with it): when the bundle gained or lost a CA (a rotation's add and drop), not when
 * only its order changed (switch). The kubelet re-reads ca.crt as its client CA (a file watch), but its API client
 * keeps the CA it started with: with rotateCertificates, the kubelet builds that client's TLS configuration once
 * (k8s.io/kubernetes v1.36 pkg/kubelet/certificate/transport.go, addCertRotation) and client-go's CA-file reload
 * never reaches it. A kubelet not restarted after add cannot verify the API server once switch re-issues its
 * certificate under the new CA (test/cluster/kubelets.test.ts); one not restarted after drop keeps trusting the old CA.
 */
export function kubeletRestartNeeded(before: string | undefined, after: string): boolean {
  if (before === undefined) return false;
  const cas = (bundle: string) =>
    pemBlocks(bundle)
      .map((pem) => new X509Certificate(pem).fingerprint256)
      .sort()
      .join(" ");
  return cas(before) !== cas(after);
}

/**
 * Listed workers are pushed in this many shards, a worker's shard fixed by a hash of its name. A fixed count (not a
 * fixed size over the sorted list) keeps every worker in its shard whatever else joins or leaves: adding one worker
 * changes one shard's members, so one push re-runs, and 10,000 workers are 64 resources (about 160 workers each).
 */
export const JOIN_SHARDS = JOIN_SHARD_COUNT;

export interface JoinShard {
  /** Stable: `<cluster>-join-<nn>`. */
  readonly resourceName: string;
  readonly index: number;
  /** Sorted by name, so the push's input does not depend on the config's order. */
  readonly members: readonly NodeSpec[];
}

export const shardOf = (node: string) => createHash("sha256").update(node).digest().readUInt32BE(0) % JOIN_SHARDS;

type Shardable = Pick<ClusterSpec, "name" | "workers" | "nodes" | "delivery">;
/** By cluster (a resolved spec never changes): the plan's name check and the stack both need a cluster's shards. */
const shardsOf = new WeakMap<Shardable, readonly JoinShard[]>();

/** The shards with members (workers of a bootstrap cluster delivered over SSH or locally); none otherwise. */
export function joinShards(cluster: Shardable): readonly JoinShard[] {
  const known = shardsOf.get(cluster);
  if (known) return known;
  const shards = new Map<number, NodeSpec[]>();
  if (cluster.workers === "bootstrap" && cluster.delivery.mode !== "none") {
    for (const node of cluster.nodes) {
      if (node.role !== "worker") continue;
      const i = shardOf(node.name);
      const members = shards.get(i);
      if (members) members.push(node);
      else shards.set(i, [node]);
    }
  }
  const planned = [...shards]
    .sort(([a], [b]) => a - b)
    .map(([index, members]) => ({
      index,
      resourceName: buildName({ kind: "join-shard", cluster: cluster.name, shard: index }),
      members: members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    }));
  shardsOf.set(cluster, planned);
  return planned;
}

/**
 * The cluster CA may leave (rotation *drop*) only once no kubelet can hold a certificate the old CA signed: the
 * controller-manager signs for signingHours, so every kubelet certificate issued before *switch* has expired
 * signingHours after it (plus an hour for clock skew and the kubelet's retry). Undefined: drop may go ahead.
 */
export const DROP_MARGIN_HOURS = 1;
export function dropWaitProblem(path: string, signingHours: number, switchedAt: string | undefined, now: Date): string | undefined {
  const wait = signingHours + DROP_MARGIN_HOURS;
  if (switchedAt === undefined) {
    return (
      `${path}: drop of the cluster CA with workers: bootstrap needs the time of its switch, which this stack has not recorded ` +
      `(deployed before kube-pki recorded it): run pulumi up at phase switch once more, then drop ${wait} h later`
    );
  }
  const ready = Date.parse(switchedAt) + wait * HOUR;
  if (now.getTime() >= ready) return undefined;
  return (
    `${path}: drop of the cluster CA must wait until ${new Date(ready).toISOString()} (switch at ${switchedAt} + ` +
    `bootstrap.signingHours ${signingHours} h + ${DROP_MARGIN_HOURS} h): until then a kubelet can still hold a certificate the old CA signed`
  );
}
