import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { withoutStackTraces } from "../stackTraces";
import { local } from "@pulumi/command";
import { JoinShard } from "../model/bootstrap";
import { DeliveredCluster } from "./clusterDelivery";
import { JoinFile, joinProgramFile, joinPushCommand, joinPushInput, JoinTarget, joinWorkerFile } from "../node/nodeProgram";

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
 * Where the shard pushes find their worker lists and the node program: `$KUBE_PKI_CACHE/join`, by default
 * `~/.cache/kube-pki/join`, the rule the push's command applies to the same environment (the engine starts the program
 * and the command provider from one CLI). Absolute, since a command runs in the consumer's project directory, not
 * where this code is (the component package).
 */
export function joinCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.KUBE_PKI_CACHE || (env.HOME ? join(env.HOME, ".cache", "kube-pki") : "");
  if (!isAbsolute(base)) {
    throw new Error(
      `the join files' cache needs KUBE_PKI_CACHE or HOME to be an absolute path (KUBE_PKI_CACHE=${JSON.stringify(env.KUBE_PKI_CACHE ?? "")})`,
    );
  }
  return join(base, "join");
}

/**
 * Puts a join cache file in place: left alone when it is there and holds its digest (other stacks and runs share the
 * cache), otherwise written beside it and renamed over it, mode 0644 (it holds no secret).
 */
export function storeJoinFile(dir: string, file: JoinFile): void {
  const path = join(dir, file.digest);
  if (existsSync(path) && createHash("sha256").update(readFileSync(path)).digest("hex") === file.digest) return;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const scratch = join(dir, `.${file.digest}.${process.pid}.${randomBytes(6).toString("hex")}`);
  try {
    writeFileSync(scratch, file.text, { mode: 0o644 });
    chmodSync(scratch, 0o644); // whatever the umask
    renameSync(scratch, path);
  } finally {
    rmSync(scratch, { force: true });
  }
}

/**
 * The join files of a bootstrap cluster on its listed workers: one command per shard (not per worker), run where
 * `pulumi up` runs, whose input is a digest of the shard's members and the files: the members themselves, and the
 * node program, are files of the join cache that this program writes before the engine runs any command (a
 * preview writes none), so the state does not grow with the workers. An unchanged fleet is unchanged inputs: a
 * preview compares 64 resources at most, whatever the number of workers; a new worker changes its shard only; a token
 * rollover or a CA rotation changes every shard. The kubelet reads bootstrap-kubelet.conf only when it has no valid
 * client certificate (first join, or one that expired) and ca.crt as its client CA dynamically, but its API client
 * keeps the CA it started with: over SSH a worker whose ca.crt gained or lost a CA has its kubelet restarted
 * (JOIN_NODE). kube-proxy.conf's previous certificate stays valid beyond its renewal window.
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
    // Over SSH, a worker's kubelet restarts when its CAs changed (add, drop): it keeps the API server's CA it started
    // with. Local delivery (labs) restarts nothing, as everywhere.
    const restart = cluster.delivery.restart.kubelet;
    const kubeletRestart =
      mode === "ssh" && restart
        ? { command: restart, timeoutSeconds: cluster.delivery.healthCheckTimeoutSeconds, healthz: cluster.delivery.healthCheck }
        : undefined;
    let cache: string;
    try {
      cache = joinCacheDir();
    } catch (e) {
      throw new pulumi.ResourceError(e instanceof Error ? e.message : String(e), this);
    }
    const store = (file: JoinFile) => {
      if (!pulumi.runtime.isDryRun()) storeJoinFile(cache, file);
      return file;
    };
    store(joinProgramFile());
    // No stacks while the shard pushes are registered: 16 promises per Command, 4,096 mapped stacks for 64 shards.
    const pushes = withoutStackTraces(() =>
      args.shards.map((shard) => {
        const targets: JoinTarget[] = shard.members.map((n) =>
          mode === "local"
            ? { name: n.name, root: `${args.localDirectory!.replace(/\/+$/, "")}/${cluster.name}/${n.name}` }
            : {
                name: n.name,
                root: n.ssh!.root,
                ssh: { host: n.ssh!.host, port: n.ssh!.port, user: n.ssh!.user, hostKey: n.ssh!.hostKey },
              },
        );
        const workers = store(joinWorkerFile(targets));
        const stdin = pulumi
          .all([args.bundle, args.sshPrivateKey ?? pulumi.output(undefined)])
          .apply(([bundle, key]) => joinPushInput(workers, bundle, key, kubeletRestart));
        return new local.Command(
          shard.resourceName,
          { create: command, update: command, stdin: pulumi.secret(stdin), logging: "none", addPreviousOutputInEnv: false },
          { parent: this, additionalSecretOutputs: ["stdout", "stderr"], dependsOn: args.after ?? [] },
        );
      }),
    );
    this.rolledOut = pulumi.all(pushes.map((p) => p.id)).apply(() => true);
    this.registerOutputs({});
  }
}
