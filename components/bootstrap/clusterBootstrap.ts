import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { approverRbacObjects } from "../model/approverRbac";
import { BOOTSTRAP_RBAC, CLUSTER_INFO, clusterInfoKubeconfig, manifestSlug, RbacManifest } from "../model/bootstrapRbac";
import { childName } from "../model/names";

export interface ClusterBootstrapArgs {
  /** The cluster's admin.conf (secret): how the objects are written (required). */
  readonly adminKubeconfig: pulumi.Input<string>;
  /** The control-plane endpoint's URL, which cluster-info points joining nodes to (required). */
  readonly server: string;
  /** The cluster CA's trust bundle (every generation during a rotation), cluster-info's CA (required). */
  readonly caBundle: pulumi.Input<string>;
  /**
   * Write the objects as manifests into this directory instead of to the cluster (the provider's
   * renderYamlToDirectory): local delivery, whose clusters are labs with no API server the program could reach.
   */
  readonly renderDirectory?: string;
  /** The cluster's delivery, if any: the objects are written through API servers that already serve its certificates. */
  readonly rollout?: pulumi.Resource;
}

/**
 * Server-side apply, forced: a kubeadm cluster kube-pki adopts already has these objects under the same names, made by
 * `kubeadm init`; creating them takes them over instead of failing (an object that is not there is created).
 */
const UPSERT = { "pulumi.com/patchForce": "true" };

const RESOURCES = {
  ClusterRole: k8s.rbac.v1.ClusterRole,
  ClusterRoleBinding: k8s.rbac.v1.ClusterRoleBinding,
  Role: k8s.rbac.v1.Role,
  RoleBinding: k8s.rbac.v1.RoleBinding,
} as const;

/**
 * What `workers: bootstrap` needs in the cluster besides its tokens: the RBAC kubeadm creates for bootstrap tokens and
 * nodes, and kube-public/cluster-info (components/model/bootstrapRbac.ts), written through the cluster's own admin.conf.
 */
export class ClusterBootstrap extends pulumi.ComponentResource {
  /** The provider writing to the cluster through its admin.conf, for whatever else bootstrap mode writes there. */
  public readonly provider: k8s.Provider;
  /** Resolves once every object has been written; never after a failure. */
  public readonly written: pulumi.Output<boolean>;

  constructor(name: string, args: ClusterBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kube-pki:bootstrap:ClusterBootstrap", name, {}, opts);
    const after = { dependsOn: args.rollout ? [args.rollout] : [] };
    this.provider = new k8s.Provider(
      childName(name, "workload"),
      // Never both: provider v4.25 refuses the pair and prints the whole kubeconfig, client key included, in its error.
      args.renderDirectory ? { renderYamlToDirectory: args.renderDirectory } : { kubeconfig: pulumi.secret(args.adminKubeconfig) },
      { parent: this, ...after },
    );
    // Deleting one of them (workers: managed again, the cluster removed, `pulumi destroy`) would take from an adopted
    // cluster what kubeadm made and its joins rely on: they stay. Without tokens no one is in the bootstrap group.
    const options = { parent: this, provider: this.provider, ...after, retainOnDelete: true };
    // kubeadm's bootstrap RBAC, and the access of kube-pki's serving-certificate approver (README, "Kubelet serving
    // certificates"), which runs on the control-plane nodes of every bootstrap cluster.
    const objects: pulumi.CustomResource[] = [...BOOTSTRAP_RBAC, ...approverRbacObjects()].map((m: RbacManifest) => {
      const Resource = RESOURCES[m.kind] as new (n: string, a: object, o: pulumi.CustomResourceOptions) => pulumi.CustomResource;
      return new Resource(childName(name, manifestSlug(m)), { ...m, metadata: { ...m.metadata, annotations: UPSERT } }, options);
    });
    // The bootstrapsigner adds a `jws-kubeconfig-<token id>` key per token: the apply owns only `kubeconfig` and
    // leaves those keys to their manager.
    objects.push(
      new k8s.core.v1.ConfigMap(
        childName(name, manifestSlug({ kind: "ConfigMap", metadata: CLUSTER_INFO })),
        {
          metadata: { ...CLUSTER_INFO, annotations: UPSERT },
          data: { kubeconfig: pulumi.output(args.caBundle).apply((ca) => clusterInfoKubeconfig(args.server, ca)) },
        },
        options,
      ),
    );
    this.written = pulumi.all(objects.map((r) => r.id)).apply(() => true);
    this.registerOutputs({});
  }
}
