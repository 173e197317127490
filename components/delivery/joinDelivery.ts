import * as pulumi from "@pulumi/pulumi";
import { local } from "@pulumi/command";
import { JoinShard } from "../model/bootstrap";
import { DeliveredCluster } from "./clusterDelivery";
import { joinPushCommand, joinPushInput, JoinTarget } from "../node/nodeProgram";

export interface JoinDeliveryArgs {
  /** The cluster's name and delivery spec, `local` or `ssh` (required). */
  readonly cluster: DeliveredCluster;
  /** The shards of listed workers (joinShards(cluster)) (required). */
  readonly shards: readonly JoinShard[];
  /** The join bundle (bundlePayload of ca.crt, bootstrap-kubelet.conf, kube-proxy.conf). Secret (required). */
  readonly bundle: pulumi.Output<string>;
  /** The deploy key with `sshAuth: key`; otherwise the ssh-agent at SSH_AUTH_SOCK. */
  readonly sshPrivateKey?: pulumi.Output<string>;
  /** Local delivery: files go to `<localDirectory>/<cluster>/<node>/…`. */
  readonly localDirectory?: string;
  /** What must exist before a worker may use the files (the token Secrets). */
  readonly after?: pulumi.Input<pulumi.Resource>[];
}

/**
 * The join files of a bootstrap cluster on its listed workers: one command per shard (not per worker), run where
 * `pulumi up` runs, whose input is the shard's members and the files. An unchanged fleet is unchanged inputs: a
 * preview compares 64 resources at most, whatever the number of workers; a new worker changes its shard only; a token
 * rollover or a CA rotation changes every shard. The files need no restart: the kubelet reads bootstrap-kubelet.conf
 * only when it has no valid client certificate (first join, or one that expired), reads ca.crt as its client CA
 * dynamically, and kube-proxy.conf's previous certificate stays valid beyond its renewal window.
 */
export class JoinDelivery extends pulumi.ComponentResource {
  /** Resolves once every shard's push succeeded. */
  public readonly rolledOut: pulumi.Output<boolean>;

  constructor(name: string, args: JoinDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kube-pki:delivery:JoinDelivery", name, {}, opts);
    const { cluster } = args;
    const mode = cluster.delivery.mode;
    if (mode !== "local" && mode !== "ssh") throw new pulumi.ResourceError(`join files need local or ssh delivery, not ${mode}`, this);
    if (mode === "local" && !args.localDirectory) throw new pulumi.ResourceError("localDirectory is required for local delivery", this);
    const command = joinPushCommand(mode);
    const pushes = args.shards.map((shard) => {
      const targets: JoinTarget[] = shard.members.map((n) =>
        mode === "local"
          ? { name: n.name, root: `${args.localDirectory!.replace(/\/+$/, "")}/${cluster.name}/${n.name}` }
          : { name: n.name, root: n.ssh!.root, ssh: { host: n.ssh!.host, port: n.ssh!.port, user: n.ssh!.user, hostKey: n.ssh!.hostKey } },
      );
      const stdin = pulumi
        .all([args.bundle, args.sshPrivateKey ?? pulumi.output(undefined)])
        .apply(([bundle, key]) => joinPushInput(targets, bundle, key));
      return new local.Command(
        shard.resourceName,
        { create: command, update: command, stdin: pulumi.secret(stdin), logging: "none", addPreviousOutputInEnv: false },
        { parent: this, additionalSecretOutputs: ["stdout", "stderr"], dependsOn: args.after ?? [] },
      );
    });
    this.rolledOut = pulumi.all(pushes.map((p) => p.id)).apply(() => true);
    this.registerOutputs({});
  }
}
