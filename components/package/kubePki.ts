// kube-pki as a component package: the whole stack program (every cluster's PKI, its delivery and publication) as one
// ComponentResource whose args are the clusters' config, for programs in any Pulumi language (`pulumi package add
// <kube-pki>/component`: README, "From other languages"). Its token is `kube-pki:index:KubePki` because a component
// package serves `<package>:index:<Class>`; the stack program (index.ts) does not use it, so its URNs stay as they are.
import * as pulumi from "@pulumi/pulumi";
import { planClusters } from "../model/plan";
import { defineStack, stackEnvironment, StackOutputs } from "../stack";
import { Cluster } from "./clusterArgs";

export * from "./clusterArgs";

/** The clusters, as the stack config `kube-pki:clusters` lists them (schema/stack.schema.json). Plain values only. */
export interface KubePkiArgs {
  /** The clusters: at least one. */
  clusters: Cluster[];
}

/**
 * The kubeadm PKI of one or more clusters, delivered and published as the config says. Export its `rotation` and
 * `trustRoots` as the stack outputs of those names: the next update reads them back (as the TypeScript program does)
 * to hold CA rotations and the trust roots' identities to what the stack recorded.
 */
export class KubePki extends pulumi.ComponentResource {
  /** Per cluster: the three CA certificates (public), by CA. */
  readonly caCertificates: pulumi.Output<Record<string, Record<string, string>>>;
  /** Per cluster: admin.conf. Secret. */
  readonly adminKubeconfigs: pulumi.Output<Record<string, string>>;
  /** Per cluster: the extra users' kubeconfigs, by user. Secret. */
  readonly userKubeconfigs: pulumi.Output<Record<string, Record<string, string>>>;
  // `any`: the analyzer that writes the package schema maps it to pulumi.json#/Any (it has no type for `unknown`).
  /** Per cluster: every certificate with CN, O, SANs, signer, validity, expiry, serial and files. */
  readonly inventory: pulumi.Output<Record<string, any>>;
  /** Per cluster: the rotation phases of this update (export it as the stack output `rotation`). */
  readonly rotation: pulumi.Output<Record<string, any>>;
  /** Per cluster: each trust root's generations with their identity (export it as the stack output `trustRoots`). */
  readonly trustRoots: pulumi.Output<Record<string, any>>;

  constructor(name: string, args: KubePkiArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validated before the component itself is registered: a bad config registers nothing, and names its path
    // (clusters[0].nodes[2].address) as the stack config's problems do.
    const plans = planClusters(args.clusters);
    super("kube-pki:index:KubePki", name, {}, opts);
    const outputs = stackEnvironment(`${name}-self`, { parent: this }).then((env) => defineStack(plans, { ...env, parent: this }).outputs);
    // One Output per key, so that only the kubeconfigs are secret.
    const out = <T>(pick: (o: StackOutputs) => pulumi.Output<T>) => pulumi.output(outputs.then(pick)) as pulumi.Output<T>;
    this.caCertificates = out((o) => o.caCertificates as pulumi.Output<Record<string, Record<string, string>>>);
    this.adminKubeconfigs = out((o) => o.adminKubeconfigs);
    this.userKubeconfigs = out((o) => o.userKubeconfigs);
    this.inventory = out((o) => o.inventory);
    this.rotation = out((o) => o.rotation);
    this.trustRoots = out((o) => o.trustRoots);
    this.registerOutputs({
      caCertificates: this.caCertificates,
      adminKubeconfigs: this.adminKubeconfigs,
      userKubeconfigs: this.userKubeconfigs,
      inventory: this.inventory,
      rotation: this.rotation,
      trustRoots: this.trustRoots,
    });
  }
}
