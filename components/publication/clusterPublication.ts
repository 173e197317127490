import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ClusterPki } from "../pki/clusterPki";
import { withCertSANs } from "../model/kubeadmConfig";
import { childName, PublicationChild } from "../model/names";

export interface ClusterPublicationArgs {
  /** The cluster's PKI (required). */
  readonly pki: ClusterPki;
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
    const { pki } = args;
    const child = (c: PublicationChild) => childName(name, c);
    const written: pulumi.CustomResource[] = [];
    const after = { dependsOn: args.rollout ? [args.rollout] : [] };
    const cluster = pki.catalog.cluster;
    const spec = cluster.publication;
    if (spec.managementCluster && args.managementKubeconfig === undefined) {
      throw new Error(`ClusterPublication ${name}: managementKubeconfig is required to export to a management cluster`);
    }

    if (spec.kubeadmConfig) {
      const workload = new k8s.Provider(child("workload"), { kubeconfig: pki.adminKubeconfig }, { parent: this, ...after });
      const current = k8s.core.v1.ConfigMap.get(child("kubeadm-config-current"), "kube-system/kubeadm-config", { parent: this, provider: workload });
      written[written.length] = new k8s.core.v1.ConfigMapPatch(child("kubeadm-config"), {
        metadata: {
          name: "kubeadm-config", namespace: "kube-system",
          // kubeadm owns the ConfigMap; our server-side apply takes over only the ClusterConfiguration field.
          annotations: { "pulumi.com/patchForce": "true" },
        },
        data: {
          ClusterConfiguration: current.data.apply((data) => withCertSANs(data?.ClusterConfiguration ?? "", {
            apiServerCertSANs: cluster.apiServer.certSANs,
            etcdServerCertSANs: cluster.etcd.serverCertSANs, etcdPeerCertSANs: cluster.etcd.peerCertSANs,
          })),
        },
      }, {
        parent: this, provider: workload, ...after,
        // Deleting a patch relinquishes its fields, here the whole ClusterConfiguration: turning publication off,
        // removing the cluster or `pulumi destroy` must leave kubeadm's ConfigMap as it is.
        retainOnDelete: true,
      });
    }

    const management = spec.managementCluster;
    if (management) {
      // enableSecretMutable: a changed Secret is updated in place instead of deleted and re-created, so Cluster API
      // never sees `<cluster>-kubeconfig` or `-ca` missing.
      const provider = new k8s.Provider(child("management"),
        { kubeconfig: pulumi.secret(args.managementKubeconfig!), enableSecretMutable: true }, { parent: this, ...after });
      const secret = (suffix: "ca" | "etcd" | "proxy" | "sa" | "kubeconfig", stringData: Record<string, pulumi.Input<string>>) =>
        written[written.length] = new k8s.core.v1.Secret(child(`capi-${suffix}`), {
          metadata: { name: `${management.clusterName}-${suffix}`, namespace: management.namespace, labels: { [CAPI_CLUSTER_LABEL]: management.clusterName } },
          type: CAPI_SECRET_TYPE,
          stringData: pulumi.secret(pulumi.all(stringData)),
        }, { parent: this, provider, ...after });
      const ca = (id: "ca" | "etcd-ca" | "front-proxy-ca"): Record<string, pulumi.Input<string>> => {
        const m = pki.caMaterial(id);
        return management.includeCaKeys ? { "tls.crt": m.certPem, "tls.key": m.privateKeyPem } : { "tls.crt": m.certPem };
      };
      secret("ca", ca("ca"));
      secret("etcd", ca("etcd-ca"));
      secret("proxy", ca("front-proxy-ca"));
      secret("sa", { "tls.crt": pki.serviceAccountPublicKey, "tls.key": pki.serviceAccountPrivateKey });
      secret("kubeconfig", { value: pki.adminKubeconfig });
    }
    this.published = pulumi.all(written.map((r) => r.id)).apply(() => true);
    this.registerOutputs({});
  }
}
