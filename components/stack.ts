// The stack program as a function of the raw `kube-pki:clusters` value, shared by index.ts (pulumi up), the
// offline render, the benchmarks and the tests. Everything is validated before the first resource is registered.
import * as pulumi from "@pulumi/pulumi";
import { CaName } from "./catalog";
import { ClusterPki, IssuedInventoryEntry } from "./clusterPki";
import { ClusterDelivery } from "./clusterDelivery";
import { ClusterPublication } from "./clusterPublication";
import { DestroyGuard } from "./destroyGuard";
import { ClusterSpec, ConfigError } from "./config";
import { adoptionProblems, rotationProblems, RotationState, TRUST_ROOT_KEYS, TRUST_ROOTS, TrustRoot } from "./trust";
import { planClusters } from "./plan";

export interface StackOutputs {
  /** Per cluster: the three CA certificates (public). */
  readonly caCertificates: pulumi.Output<Record<string, Record<CaName, string>>>;
  /** Per cluster: admin.conf. Secret. */
  readonly adminKubeconfigs: pulumi.Output<Record<string, string>>;
  /** Per cluster: the extra users' kubeconfigs. Secret. */
  readonly userKubeconfigs: pulumi.Output<Record<string, Record<string, string>>>;
  /** Per cluster: every certificate with CN, O, SANs, signer, validity, expiry, serial and files. */
  readonly inventory: pulumi.Output<Record<string, IssuedInventoryEntry[]>>;
  /** Per cluster: the rotation phases of this update, which the next update checks its phases against. */
  readonly rotation: Record<string, RotationState>;
}

export interface StackProgram {
  readonly clusters: readonly ClusterPki[];
  readonly deliveries: readonly (ClusterDelivery | undefined)[];
  readonly outputs: StackOutputs;
}

/** What the program needs from its stack besides `kube-pki:clusters`. */
export interface StackEnvironment {
  /** Stack name: local delivery writes under `out/<stack>` by default. */
  readonly stack: string;
  /** Reads a secret stack config key (`kube-pki:<key>`); undefined when unset. */
  readonly secret?: (key: string) => pulumi.Output<string> | undefined;
  /** Register the delivery resources (default true). The offline render writes files itself and sets false. */
  readonly deliver?: boolean;
  /**
   * Reads a secret stack config key in plain text, to check adopted keys before anything is registered. Without it
   * (the offline tools, which cannot decrypt the stack's secrets) adopted roots are simulated by generated ones.
   */
  readonly plainSecret?: (key: string) => string | undefined;
  /** The rotation state the stack recorded at its last update (output `rotation`), by cluster; undefined: none yet. */
  readonly previousRotation?: Readonly<Record<string, RotationState>>;
}

const byCluster = <T>(pkis: readonly ClusterPki[], f: (p: ClusterPki) => pulumi.Output<T>) =>
  pulumi.all(Object.fromEntries(pkis.map((p) => [p.catalog.cluster.name, f(p)]))) as pulumi.Output<Record<string, T>>;

/** SSH delivery with the deploy key in the stack's secret config (not `sshAuth: agent`). */
const usesKey = (cluster: ClusterSpec) => cluster.delivery.mode === "ssh" && cluster.delivery.sshAuth === "key";

export function defineStack(rawClusters: unknown, env: StackEnvironment = { stack: "dev" }): StackProgram {
  const plans = planClusters(rawClusters);
  // Secrets the delivery needs are checked with the rest of the config, before anything is registered.
  const deliver = env.deliver ?? true;
  const sshKeys = plans.map(({ catalog: { cluster } }) =>
    deliver && usesKey(cluster) ? env.secret?.(cluster.delivery.sshPrivateKeyConfig) : undefined);
  const managementKubeconfigs = plans.map(({ catalog: { cluster } }) => {
    const m = cluster.publication.managementCluster;
    return deliver && m ? env.secret?.(m.kubeconfigConfig) : undefined;
  });
  const missing = plans.flatMap(({ catalog: { cluster } }, i) => [
    ...(deliver && usesKey(cluster) && !sshKeys[i]
      ? [`clusters[${i}].delivery.sshPrivateKeyConfig: the secret stack config "kube-pki:${cluster.delivery.sshPrivateKeyConfig}" ` +
        `is not set (pulumi config set --secret ${cluster.delivery.sshPrivateKeyConfig} < ~/.ssh/<deploy key>)`] : []),
    ...(deliver && cluster.publication.managementCluster && !managementKubeconfigs[i]
      ? [`clusters[${i}].publication.managementCluster.kubeconfigConfig: the secret stack config ` +
        `"kube-pki:${cluster.publication.managementCluster.kubeconfigConfig}" is not set ` +
        `(pulumi config set --secret ${cluster.publication.managementCluster.kubeconfigConfig} < management.kubeconfig)`] : []),
  ]);
  if (missing.length > 0) throw new ConfigError(missing);

  // `pulumi config set --secret k < file` drops the file's final newline; the PEM goes to the nodes as the file was.
  const adoptedKey = (keyConfig: string) => { const v = env.plainSecret?.(keyConfig); return v === undefined ? undefined : `${v.trimEnd()}\n`; };
  // Adopted roots and rotation phases are checked, like the rest of the config, before anything is registered.
  const trustProblems = plans.flatMap(({ catalog: { cluster } }, i) => [
    ...Object.entries(cluster.adopt).flatMap(([root, adopted]) => !env.plainSecret ? []
      : adoptionProblems(`clusters[${i}].adopt.${TRUST_ROOT_KEYS[root as TrustRoot]}`, root as TrustRoot, adopted!, adoptedKey(adopted!.keyConfig))),
    ...(!env.previousRotation ? [] : TRUST_ROOTS.flatMap((root) => rotationProblems(`clusters[${i}].rotation.${TRUST_ROOT_KEYS[root]}`,
      env.previousRotation![cluster.name]?.[root], cluster.rotation[root]))),
  ]);
  if (trustProblems.length > 0) throw new ConfigError(trustProblems);
  const clusters = plans.map(({ catalog }) => {
    const cluster = catalog.cluster;
    if (!env.plainSecret) {
      // Offline: the adopted keys are out of reach, so generated roots stand in for them (same names and specs).
      return new ClusterPki(cluster.name, { catalog: { ...catalog, cluster: { ...cluster, adopt: {} } } });
    }
    const adoptedKeys = Object.fromEntries(Object.entries(cluster.adopt).map(([root, a]) => [root, pulumi.secret(adoptedKey(a!.keyConfig)!)]));
    return new ClusterPki(cluster.name, { catalog, adoptedKeys });
  });
  const deliveries = plans.map(({ catalog, delivery }, i) => !deliver || catalog.cluster.delivery.mode === "none" ? undefined
    : new ClusterDelivery(`${catalog.cluster.name}-delivery`, {
      pki: clusters[i]!, plan: delivery, sshPrivateKey: sshKeys[i],
      localDirectory: catalog.cluster.delivery.localDirectory ?? `out/${env.stack}`,
    }));
  // Publication talks to live clusters, so it is part of "deliver" too (the offline render skips it).
  const publications = plans.map(({ catalog: { cluster } }, i) => {
    const p = cluster.publication;
    return deliver && (p.kubeadmConfig || p.managementCluster)
      ? new ClusterPublication(`${cluster.name}-publication`,
        { pki: clusters[i]!, managementKubeconfig: managementKubeconfigs[i], rollout: deliveries[i] })
      : undefined;
  });
  plans.forEach(({ catalog: { cluster } }, i) => {
    if (!cluster.protectCAs) return;
    const covers = [clusters[i]!, deliveries[i], publications[i]].filter((r): r is pulumi.ComponentResource => r !== undefined);
    new DestroyGuard(`${cluster.name}-destroy-guard`, { covers });
  });
  return {
    clusters, deliveries,
    outputs: {
      caCertificates: byCluster(clusters, (p) => p.caCertificates),
      adminKubeconfigs: pulumi.secret(byCluster(clusters, (p) => p.adminKubeconfig)),
      userKubeconfigs: pulumi.secret(byCluster(clusters, (p) => p.userKubeconfigs)),
      inventory: byCluster(clusters, (p) => p.inventory),
      rotation: Object.fromEntries(plans.map(({ catalog: { cluster } }) => [cluster.name, { ...cluster.rotation }])),
    },
  };
}
