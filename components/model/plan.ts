// The whole stack, planned before anything is registered: validated clusters, their certificate catalogs and
// delivery plans, and a check that every resource name is unique across the stack. Pure code.
import { buildCatalog, ClusterCatalog } from "./catalog";
import { ClusterSpec, ConfigError, validateClusters, WorkersFileReader } from "./config";
import { deliveryPlan, DeliveryPlan, deliveryResourceNames } from "./deliveryPlan";
import { buildName } from "./names";
import { joinShards } from "./bootstrap";

export interface ClusterPlan {
  readonly catalog: ClusterCatalog;
  readonly delivery: DeliveryPlan;
}

/**
 * Validates the raw `kube-pki:clusters` value and plans every cluster. Resource names are unique by construction
 * unless a node or cluster name happens to complete another resource's name, which is reported as a config error.
 * `readWorkersFile` reads a cluster's `workersFile` (the edge's readWorkersFile; without it such a cluster is refused).
 */
export function planClusters(rawClusters: unknown, readWorkersFile?: WorkersFileReader): ClusterPlan[] {
  const plans = validateClusters(rawClusters, readWorkersFile).map(planCluster);
  const owners = new Map<string, string>();
  const problems: string[] = [];
  plans.forEach(({ catalog, delivery }, ci) => {
    const cluster = catalog.cluster.name;
    const names = [
      ...catalog.certificates.map((c) => c.resourceName),
      catalog.serviceAccount.resourceName,
      ...(["delivery", "publication", "destroy-guard"] as const).map((kind) => buildName({ kind, cluster })),
      ...deliveryResourceNames(delivery),
      ...(catalog.cluster.workers === "bootstrap"
        ? [
            ...([undefined, "k8s", "join"] as const).map((child) => buildName({ kind: "bootstrap", cluster, ...(child ? { child } : {}) })),
            ...joinShards(catalog.cluster).map((s) => s.resourceName),
          ]
        : []),
    ];
    for (const name of names) {
      const where = `clusters[${ci}]`;
      const previous = owners.get(name);
      if (previous) problems.push(`${where}: resource name "${name}" is also made by ${previous}; rename a node or cluster`);
      owners.set(name, where);
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return plans;
}

/** The plan of one validated cluster (planClusters checks names across clusters; the render plans parts of one). */
export function planCluster(cluster: ClusterSpec): ClusterPlan {
  const catalog = buildCatalog(cluster);
  return { catalog, delivery: deliveryPlan(catalog) };
}
