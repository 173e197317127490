import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CaName } from "../model/catalog";
import { Signer } from "../pki/certificateAuthority";
import { PublicationSpec } from "../model/config";
import { KubeadmSans, withCertSANs, withControllerManagerArgs } from "../model/kubeadmConfig";
import { Flag } from "../model/controlPlaneFlags";
import { childName, PublicationChild } from "../model/names";

export interface ClusterPublicationArgs {
  /** What is published where: the cluster's `publication` (required). */
  readonly spec: PublicationSpec;
  /** The SAN lists kubeadm-config's ClusterConfiguration is kept equal to (required). */
  readonly sans: KubeadmSans;
  /** The controller-manager flags the config implies (controlPlaneFlags.ts), kept in its extraArgs (default none). */
  readonly controllerManagerFlags?: readonly Flag[];
  /** The cluster's admin.conf (secret): how publication reaches the cluster, and its `-kubeconfig` export (required). */
  readonly adminKubeconfig: pulumi.Input<string>;
  /** Each CA's signing certificate and (secret) key, exported to a management cluster (required). */
  readonly cas: Readonly<Record<CaName, Signer>>;
  /** sa.pub (every generation's public key) and sa.key (secret), exported to a management cluster (required). */
  readonly serviceAccount: { readonly publicKeyPem: pulumi.Input<string>; readonly privateKeyPem: pulumi.Input<string> };
  /** Kubeconfig of the management cluster (secret), required when the config exports to one. */
  readonly managementKubeconfig?: pulumi.Input<string>;
  /**
   * The cluster's delivery (its pushes and restarts), if any: publication waits for all of it, so it reads and
   * writes through API servers that already serve the new certificates.
   */
  readonly rollout?: pulumi.Resource;
}

/** Cluster API's secret type and label (kubernetes-sigs/cluster-api util/secret). */
const CAPI_SECRET_TYPE = "cluster.x-k8s.io/secret";
const CAPI_CLUSTER_LABEL = "cluster.x-k8s.io/cluster-name";

/**
 * Publishes a cluster's PKI into Kubernetes: keeps kube-system/kubeadm-config's certSANs equal to the config (through
 * the cluster's own admin.conf), and exports the CAs, the service-account key pair and admin.conf to a management
 * cluster as Cluster API secrets (`<cluster>-ca`, `-etcd`, `-proxy`, `-sa`, `-kubeconfig`).
 */
export class ClusterPublication extends pulumi.ComponentResource {
  /** Resolves once everything published has been written; never after a failure. */
  public readonly published: pulumi.Output<boolean>;

  constructor(name: string, args: ClusterPublicationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kube-pki:publication:ClusterPublication", name, {}, opts);
    const { spec } = args;
    const child = (c: PublicationChild) => childName(name, c);
    const written: pulumi.CustomResource[] = [];
    const after = { dependsOn: args.rollout ? [args.rollout] : [] };
    if (spec.managementCluster && args.managementKubeconfig === undefined) {
      throw new pulumi.ResourceError("managementKubeconfig is required to export to a management cluster", this);
    }

    if (spec.kubeadmConfig) {
      const workload = new k8s.Provider(child("workload"), { kubeconfig: pulumi.secret(args.adminKubeconfig) }, { parent: this, ...after });
      const current = k8s.core.v1.ConfigMap.get(child("kubeadm-config-current"), "kube-system/kubeadm-config", {
        parent: this,
        provider: workload,
      });
      written[written.length] = new k8s.core.v1.ConfigMapPatch(
        child("kubeadm-config"),
        {
          metadata: {
            name: "kubeadm-config",
            namespace: "kube-system",
            // kubeadm owns the ConfigMap; our server-side apply takes over only the ClusterConfiguration field.
            annotations: { "pulumi.com/patchForce": "true" },
          },
          data: {
            ClusterConfiguration: current.data.apply((data) =>
              withControllerManagerArgs(withCertSANs(data?.ClusterConfiguration ?? "", args.sans), args.controllerManagerFlags ?? []),
            ),
          },
        },
        {
          parent: this,
          provider: workload,
          ...after,
          // Deleting a patch relinquishes its fields, here the whole ClusterConfiguration: turning publication off,
          // removing the cluster or `pulumi destroy` must leave kubeadm's ConfigMap as it is.
          retainOnDelete: true,
        },
      );
    }

    const management = spec.managementCluster;
    if (management) {
      // enableSecretMutable: a changed Secret is updated in place instead of deleted and re-created, so Cluster API
      // never sees `<cluster>-kubeconfig` or `-ca` missing.
      const provider = new k8s.Provider(
        child("management"),
        { kubeconfig: pulumi.secret(args.managementKubeconfig!), enableSecretMutable: true },
        { parent: this, ...after },
      );
      const secret = (suffix: "ca" | "etcd" | "proxy" | "sa" | "kubeconfig", stringData: Record<string, pulumi.Input<string>>) =>
        (written[written.length] = new k8s.core.v1.Secret(
          child(`capi-${suffix}`),
          {
            metadata: {
              name: `${management.clusterName}-${suffix}`,
              namespace: management.namespace,
              labels: { [CAPI_CLUSTER_LABEL]: management.clusterName },
            },
            type: CAPI_SECRET_TYPE,
            stringData: pulumi.secret(pulumi.all(stringData)),
          },
          { parent: this, provider, ...after },
        ));
      const ca = (id: CaName): Record<string, pulumi.Input<string>> => {
        const m = args.cas[id];
        return management.includeCaKeys ? { "tls.crt": m.certPem, "tls.key": m.privateKeyPem } : { "tls.crt": m.certPem };
      };
      secret("ca", ca("ca"));
      secret("etcd", ca("etcd-ca"));
      secret("proxy", ca("front-proxy-ca"));
      secret("sa", { "tls.crt": args.serviceAccount.publicKeyPem, "tls.key": args.serviceAccount.privateKeyPem });
      secret("kubeconfig", { value: args.adminKubeconfig });
    }
    this.published = pulumi.all(written.map((r) => r.id)).apply(() => true);
    this.registerOutputs({});
  }
}
