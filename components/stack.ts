// The stack program as a function of the raw `kube-pki:clusters` value, shared by index.ts (pulumi up), the
// offline render, the benchmarks and the tests. Everything is validated before the first resource is registered.
import * as pulumi from "@pulumi/pulumi";
import { validateClusters } from "./config";
import { buildCatalogs, CaName } from "./catalog";
import { ClusterPki, IssuedInventoryEntry } from "./clusterPki";

export interface StackOutputs {
  /** Per cluster: the three CA certificates (public). */
  readonly caCertificates: pulumi.Output<Record<string, Record<CaName, string>>>;
  /** Per cluster: admin.conf. Secret. */
  readonly adminKubeconfigs: pulumi.Output<Record<string, string>>;
  /** Per cluster: the extra users' kubeconfigs. Secret. */
  readonly userKubeconfigs: pulumi.Output<Record<string, Record<string, string>>>;
  /** Per cluster: every certificate with CN, O, SANs, signer, validity, expiry, serial and files. */
  readonly inventory: pulumi.Output<Record<string, IssuedInventoryEntry[]>>;
}

export interface StackProgram {
  readonly clusters: readonly ClusterPki[];
  readonly outputs: StackOutputs;
}

const byCluster = <T>(pkis: readonly ClusterPki[], f: (p: ClusterPki) => pulumi.Output<T>) =>
  pulumi.all(Object.fromEntries(pkis.map((p) => [p.catalog.cluster.name, f(p)]))) as pulumi.Output<Record<string, T>>;

export function defineStack(rawClusters: unknown): StackProgram {
  const catalogs = buildCatalogs(validateClusters(rawClusters));
  const clusters = catalogs.map((catalog) => new ClusterPki(catalog.cluster.name, { catalog }));
  return {
    clusters,
    outputs: {
      caCertificates: byCluster(clusters, (p) => p.caCertificates),
      adminKubeconfigs: pulumi.secret(byCluster(clusters, (p) => p.adminKubeconfig)),
      userKubeconfigs: pulumi.secret(byCluster(clusters, (p) => p.userKubeconfigs)),
      inventory: byCluster(clusters, (p) => p.inventory),
    },
  };
}
