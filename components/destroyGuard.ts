import * as pulumi from "@pulumi/pulumi";
import { formerType } from "./typeToken";

export interface DestroyGuardArgs {
  /** Everything the guard stands in front of: the cluster's PKI, delivery and publication components (required). */
  readonly covers: readonly [pulumi.Resource, ...pulumi.Resource[]];
}

/**
 * With `protectCAs`: a protected resource that depends on every resource of its cluster. The engine deletes a
 * resource only after everything that depends on it, so `pulumi destroy` (or removing the cluster from the config)
 * tries the guard first and stops there, with the engine's protect error, before a single leaf, push or kubeconfig
 * is deleted. Without it, destroy deletes all of those and fails only at the CAs, leaving half a PKI in the state.
 */
export class DestroyGuard extends pulumi.ComponentResource {
  constructor(name: string, args: DestroyGuardArgs, opts?: pulumi.ComponentResourceOptions) {
    super(
      "kube-pki:stack:DestroyGuard",
      name,
      {},
      formerType("kube-pki:index:DestroyGuard", { ...opts, protect: true, dependsOn: [...args.covers] }),
    );
    this.registerOutputs({});
  }
}
