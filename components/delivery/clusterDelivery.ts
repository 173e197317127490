import * as pulumi from "@pulumi/pulumi";
import { local, remote } from "@pulumi/command";
import { FileSpec } from "../model/catalog";
import { ClusterSpec, NodeSpec, SshTarget } from "../model/config";
import { DeliveryPlan, PushPlan } from "../model/deliveryPlan";
import {
  bundleDigest,
  bundlePayload,
  certificateFingerprint,
  installCommand,
  nodeToolsPayload,
  removeCommand,
  restartCommand,
  restartInput,
  toolsCommand,
} from "../node/nodeProgram";

/** What delivery needs of the cluster's spec: its name (local directories) and how it is delivered to. */
export type DeliveredCluster = Pick<ClusterSpec, "name" | "delivery">;

export interface ClusterDeliveryArgs {
  /** The cluster's name and delivery spec (required). */
  readonly cluster: DeliveredCluster;
  /** What to push where and what to restart (deliveryPlan(catalog)) (required). */
  readonly plan: DeliveryPlan;
  /** The content of a file the plan pushes (ClusterPki.contentOf), secret where it holds a key (required). */
  readonly contentOf: (file: FileSpec) => pulumi.Output<string>;
  /** SSH private key (OpenSSH or PEM) for SSH delivery; kept secret. Required in SSH mode with `sshAuth: key`. */
  readonly sshPrivateKey?: pulumi.Input<string>;
  /** Local delivery: files go to `<localDirectory>/<cluster>/<node>/…`. Required in local mode. */
  readonly localDirectory?: string;
}

/**
 * The SSH connection to a node: its host key pinned, the deploy key secret. Without a key (`sshAuth: agent`) the
 * provider authenticates with the agent at SSH_AUTH_SOCK when the command runs; nothing about it is in the inputs.
 */
const connectionOf = (ssh: SshTarget, privateKey: pulumi.Output<string> | undefined) => ({
  host: ssh.host,
  port: ssh.port,
  user: ssh.user,
  hostKey: ssh.hostKey,
  ...(privateKey ? { privateKey } : {}),
});

/**
 * A push that removes its files on delete must be deleted before it is re-created when replaced (`pulumi up
 * --replace`, a rename): the default create-then-delete would let the old push's removal delete the files the new one
 * had just installed (same content, so the content check cannot tell them apart).
 */
const replaceOptions = (cluster: DeliveredCluster) => (cluster.delivery.removeFiles ? { deleteBeforeReplace: true } : {});

/** Command options shared by every push and restart: their output could echo file content, so it stays secret. */
const COMMAND_OPTIONS = { additionalSecretOutputs: ["stdout", "stderr"] };

/**
 * Pushes every bundle of the plan to its node, each as one command with a fixed, secret-free command string and the
 * bundle on stdin (re-sent only when the bundle's content changes), then restarts what reads the changed bundles and
 * checks the node serves the new certificate. Control-plane restarts run one node at a time.
 */
export class ClusterDelivery extends pulumi.ComponentResource {
  /** Digest of every pushed bundle by push resource name (a change means that push re-sends). */
  public readonly bundleDigests: pulumi.Output<Record<string, string>>;
  /** Resolves once every command of the rollout (tools, pushes, restarts) has succeeded; never after a failure. */
  public readonly rolledOut: pulumi.Output<boolean>;

  constructor(name: string, args: ClusterDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kube-pki:delivery:ClusterDelivery", name, {}, opts);
    const { cluster, plan, contentOf } = args;
    const delivery = cluster.delivery;
    if (delivery.mode === "ssh" && delivery.sshAuth === "key" && args.sshPrivateKey === undefined) {
      throw new pulumi.ResourceError(`sshPrivateKey is required for SSH delivery with sshAuth "key"`, this);
    }
    if (delivery.mode === "local" && !args.localDirectory)
      throw new pulumi.ResourceError("localDirectory is required for local delivery", this);
    const sshKey = args.sshPrivateKey === undefined ? undefined : pulumi.secret(args.sshPrivateKey);

    // The node program, once per node; it stays on the node (with kube-pki's ledger) when the node leaves the config.
    const tools = new Map<string, pulumi.Resource>();
    for (const t of plan.tools) {
      const root = this.rootOf(cluster, t.node, args.localDirectory);
      const command = toolsCommand(root);
      const inputs = {
        create: command,
        update: command,
        stdin: nodeToolsPayload(),
        logging: "none" as const,
        addPreviousOutputInEnv: false,
      };
      tools.set(
        t.node.name,
        cluster.delivery.mode === "local"
          ? new local.Command(t.resourceName, inputs, { ...COMMAND_OPTIONS, parent: this })
          : new remote.Command(
              t.resourceName,
              { ...inputs, connection: connectionOf(t.node.ssh!, sshKey) },
              { ...COMMAND_OPTIONS, parent: this },
            ),
      );
    }

    const payloads = new Map<string, pulumi.Output<string>>();
    const pushes = new Map<string, pulumi.Resource>();
    for (const push of plan.pushes) {
      const payload = pulumi.all(push.bundle.files.map((f) => contentOf(f))).apply((contents) =>
        bundlePayload(
          push.bundle.files.map((f, i) => ({ path: f.path, mode: f.mode, owner: f.owner, content: contents[i]! })),
          push.bundle.absent,
          { keepPrevious: push.keepPrevious },
        ),
      );
      const stdin = push.secret ? pulumi.secret(payload) : payload;
      payloads.set(push.resourceName, payload);
      pushes.set(push.resourceName, this.push(cluster, push, stdin, sshKey, tools.get(push.node.name)!, args.localDirectory));
    }

    const pushPlans = new Map(plan.pushes.map((p) => [p.resourceName, p]));
    const restarts = new Map<string, pulumi.Resource>();
    for (const restart of plan.restarts) {
      const ssh = restart.node.ssh!;
      const fingerprints = restart.checks.map((c) => {
        const certFile = plan.pushes
          .find((p) => p.bundle.id === c.certificate && p.node.name === restart.node.name)!
          .bundle.files.find((f) => f.content === "certificate")!;
        return contentOf(certFile).apply(certificateFingerprint);
      });
      const digests = pulumi.all(restart.reads.map((r) => payloads.get(r.push)!.apply(bundleDigest)));
      const files = restart.reads.flatMap((r) =>
        pushPlans.get(r.push)!.bundle.files.map((f) => ({ path: f.path, bundle: r.bundle, sharedWith: r.sharedWith })),
      );
      const stdin = pulumi.all([pulumi.all(fingerprints), digests]).apply(([fps, ds]) =>
        restartInput(
          restart.checks.map((c, i) => ({ host: c.host, port: c.port, fingerprint: fps[i]!, clientCert: c.clientCert })),
          Object.fromEntries(restart.reads.map((r, i) => [r.bundle, ds[i]!])),
          files,
          (restart.healthz ?? []).map((h) => ({ ...h, node: restart.node.name })),
        ),
      );
      const command = (mode: "create" | "update") =>
        restartCommand(restart.command, ssh.root, restart.reader, delivery.healthCheckTimeoutSeconds, mode);
      restarts.set(
        restart.resourceName,
        new remote.Command(
          restart.resourceName,
          {
            connection: connectionOf(ssh, sshKey),
            create: command("create"),
            update: command("update"),
            stdin,
            logging: "none",
            addPreviousOutputInEnv: false,
          },
          {
            ...COMMAND_OPTIONS,
            parent: this,
            dependsOn: [
              tools.get(restart.node.name)!,
              ...restart.after.map((p) => pushes.get(p)!),
              ...(restart.previousNode ? [restarts.get(restart.previousNode)!] : []),
            ],
          },
        ),
      );
    }
    this.bundleDigests = pulumi.all(Object.fromEntries([...payloads].map(([k, v]) => [k, v.apply(bundleDigest)])));
    // A command's id is known once its create or update has run: all of them, the rollout has succeeded.
    this.rolledOut = pulumi
      .all([...tools.values(), ...pushes.values(), ...restarts.values()].map((r) => (r as pulumi.CustomResource).id))
      .apply(() => true);
    this.registerOutputs({ bundleDigests: this.bundleDigests });
  }

  /** Where the node's filesystem is: a directory per node for local delivery, the configured root over SSH. */
  private rootOf(cluster: DeliveredCluster, node: NodeSpec, localDirectory?: string): string {
    return cluster.delivery.mode === "local" ? `${localDirectory!.replace(/\/+$/, "")}/${cluster.name}/${node.name}` : node.ssh!.root;
  }

  private push(
    cluster: DeliveredCluster,
    push: PushPlan,
    stdin: pulumi.Output<string>,
    sshKey: pulumi.Output<string> | undefined,
    tools: pulumi.Resource,
    localDirectory?: string,
  ): pulumi.Resource {
    const root = this.rootOf(cluster, push.node, localDirectory);
    const install = installCommand(root);
    const inputs = {
      create: install,
      update: install,
      stdin,
      logging: "none" as const,
      addPreviousOutputInEnv: false,
      ...(cluster.delivery.removeFiles ? { delete: removeCommand(root) } : {}),
    };
    const opts = { ...COMMAND_OPTIONS, parent: this, dependsOn: [tools], ...replaceOptions(cluster) };
    return cluster.delivery.mode === "local"
      ? new local.Command(push.resourceName, inputs, opts)
      : new remote.Command(push.resourceName, { ...inputs, connection: connectionOf(push.node.ssh!, sshKey) }, opts);
  }
}
