// The delivery plan of one cluster: which bundle is pushed to which node by which resource, and which component is
// restarted (and health-checked) on which node after which bundles changed. Pure: derived from the catalog alone.
import { Bundle, ClusterCatalog } from "./catalog";
import { NodeSpec, Reader } from "./config";
import { buildName, KEY_PAIR_PATHS, splitCatalogId } from "./names";

export interface PushPlan {
  /** Stable: `<cluster>-<node>-push-<bundle>`. */
  readonly resourceName: string;
  readonly node: NodeSpec;
  readonly bundle: Bundle;
  /** True when the bundle holds a private key or a kubeconfig. */
  readonly secret: boolean;
  /** A restart reads it: its previous version stays on the node until that restart passed its health check. */
  readonly keepPrevious: boolean;
}

export interface HealthCheckPlan {
  readonly host: string;
  readonly port: number;
  /** Catalog id of the certificate that must be served there. */
  readonly certificate: string;
  /** Client certificate paths for servers that require one (etcd's client and peer ports). */
  readonly clientCert?: { readonly cert: string; readonly key: string };
}

export interface RestartPlan {
  /** Stable: `<cluster>-<node>-restart-<reader>`. */
  readonly resourceName: string;
  readonly node: NodeSpec;
  readonly reader: Reader;
  readonly command: string;
  /**
   * The node's bundles this reader reads, with their push (a change to any of them re-runs the restart) and the other
   * readers of the bundle restarted on this node (its previous version stays until they all passed).
   */
  readonly reads: readonly { readonly bundle: string; readonly push: string; readonly sharedWith: readonly Reader[] }[];
  /** Push resources it waits for: what it reads, and the client certificate its health check uses. */
  readonly after: readonly string[];
  /** The same reader's restart on the previous control-plane node: one node at a time keeps the API up. */
  readonly previousNode?: string;
  readonly checks: readonly HealthCheckPlan[];
  /** Plain-HTTP `/healthz` endpoints on the node that must answer `ok` after the restart (components serving no certificate). */
  readonly healthz?: readonly { readonly host: string; readonly port: number }[];
}

/** kube-pki's node program installed on one node: every push and restart there runs it. */
export interface ToolsPlan {
  /** Stable: `<cluster>-<node>-tools`. */
  readonly resourceName: string;
  readonly node: NodeSpec;
}

export interface DeliveryPlan {
  /** One per node that receives a bundle; its pushes and restarts wait for it. */
  readonly tools: readonly ToolsPlan[];
  readonly pushes: readonly PushPlan[];
  readonly restarts: readonly RestartPlan[];
}

/** Readers that run on control-plane nodes only and so are restarted one node at a time. */
const CONTROL_PLANE_READERS: readonly Reader[] = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "etcd",
  "kube-pki-csr-approver",
];

/** etcd requires a client certificate on both ports; the healthcheck client is the identity kubeadm made for that. */
const ETCD_HEALTH_CLIENT = {
  cert: KEY_PAIR_PATHS["etcd-healthcheck-client"].certificate,
  key: KEY_PAIR_PATHS["etcd-healthcheck-client"].key,
};

/**
 * The approver serves no certificate, so its gate is its `/healthz`: the default `--healthz-bind-address` of
 * approver/main.go, which its unit file keeps; it fails while the leader stopped renewing, so it fails when the new
 * kubeconfig does not let it reach the API server.
 */
const HEALTHZ: Partial<Record<Reader, { host: string; port: number }>> = {
  "kube-pki-csr-approver": { host: "127.0.0.1", port: 10271 },
};

export function deliveryPlan(catalog: ClusterCatalog): DeliveryPlan {
  const { cluster } = catalog;
  if (cluster.delivery.mode === "none") return { tools: [], pushes: [], restarts: [] };
  const restarted = (bundle: Bundle) => cluster.delivery.mode === "ssh" && bundle.readers.some((r) => !!cluster.delivery.restart[r]);
  // By node name: a bootstrap cluster's 10,000 workers get no bundle, and are not scanned once per bundle.
  const nodes = new Map(cluster.nodes.map((n) => [n.name, n]));
  const pushes: PushPlan[] = catalog.bundles.map((bundle) => ({
    resourceName: buildName({ kind: "push", cluster: cluster.name, node: bundle.node, bundle: splitCatalogId(bundle.id).name }),
    node: nodes.get(bundle.node)!,
    bundle,
    secret: bundle.files.some((f) => f.content === "private-key" || f.content === "kubeconfig"),
    keepPrevious: restarted(bundle),
  }));
  const pushesOf = new Map<string, PushPlan[]>();
  for (const p of pushes) {
    if (pushesOf.has(p.node.name)) pushesOf.get(p.node.name)!.push(p);
    else pushesOf.set(p.node.name, [p]);
  }
  const tools: ToolsPlan[] = cluster.nodes
    .filter((n) => pushesOf.has(n.name))
    .map((node) => ({ resourceName: buildName({ kind: "tools", cluster: cluster.name, node: node.name }), node }));
  // Local delivery writes files for inspection and labs: nothing runs there to restart.
  if (cluster.delivery.mode === "local") return { tools, pushes, restarts: [] };

  const restarts: RestartPlan[] = [];
  const previousOnControlPlane = new Map<Reader, string>();
  for (const node of cluster.nodes) {
    const nodePushes = pushesOf.get(node.name) ?? [];
    const readers = [...new Set(nodePushes.flatMap((p) => p.bundle.readers))].filter((r) => !!cluster.delivery.restart[r]);
    for (const reader of readers) {
      const command = cluster.delivery.restart[reader];
      const reads = nodePushes.filter((p) => p.bundle.readers.includes(reader));
      const checks: HealthCheckPlan[] = !cluster.delivery.healthCheck
        ? []
        : reads
            .filter((p) => p.bundle.servedAt)
            .map((p) => ({
              host: p.bundle.servedAt!.host,
              port: p.bundle.servedAt!.port,
              certificate: p.bundle.id,
              ...(reader === "etcd" ? { clientCert: ETCD_HEALTH_CLIENT } : {}),
            }));
      const resourceName = buildName({ kind: "restart", cluster: cluster.name, node: node.name, reader });
      const sequential = node.role === "control-plane" && CONTROL_PLANE_READERS.includes(reader);
      const checkClient = checks.some((c) => c.clientCert)
        ? nodePushes.filter((p) => p.bundle.files.some((f) => f.path === ETCD_HEALTH_CLIENT.cert)).map((p) => p.resourceName)
        : [];
      restarts.push({
        resourceName,
        node,
        reader,
        command,
        checks,
        ...(cluster.delivery.healthCheck && HEALTHZ[reader] ? { healthz: [HEALTHZ[reader]!] } : {}),
        reads: reads.map((p) => ({
          bundle: p.bundle.id,
          push: p.resourceName,
          sharedWith: p.bundle.readers.filter((r) => r !== reader && readers.includes(r)),
        })),
        after: [...new Set([...reads.map((p) => p.resourceName), ...checkClient])],
        ...(sequential && previousOnControlPlane.has(reader) ? { previousNode: previousOnControlPlane.get(reader)! } : {}),
      });
      if (sequential) previousOnControlPlane.set(reader, resourceName);
    }
  }
  return { tools, pushes, restarts };
}

/** Resource names the plan adds, for the stack-wide uniqueness check. */
export const deliveryResourceNames = (plan: DeliveryPlan) => [
  ...plan.tools.map((t) => t.resourceName),
  ...plan.pushes.map((p) => p.resourceName),
  ...plan.restarts.map((r) => r.resourceName),
];
