// The stack program as a function of the planned clusters (planClusters: `kube-pki:clusters` validated once, at the
// edge), shared by index.ts (pulumi up), the offline render, the benchmarks and the tests. What only the stack can
// tell (its secrets, what it recorded) is checked here, before the first resource is registered. Each component gets
// what it needs, not the ClusterPki: delivery its plan and the files' contents, publication what it exports.
import * as pulumi from "@pulumi/pulumi";
import { X509Certificate } from "node:crypto";
import { CaName } from "./model/catalog";
import { ClusterPki, IssuedInventoryEntry } from "./pki/clusterPki";
import { ClusterDelivery } from "./delivery/clusterDelivery";
import { ClusterPublication } from "./publication/clusterPublication";
import { ClusterBootstrap } from "./bootstrap/clusterBootstrap";
import { controlPlaneFlags, controllerManagerFlags } from "./model/controlPlaneFlags";
import { endpointUrl } from "./model/catalog";
import { DestroyGuard } from "./destroyGuard";
import { ClusterSpec, ConfigError } from "./model/config";
import {
  adoptionProblems,
  identityProblems,
  RecordedRoots,
  recordedRotation,
  rotationProblems,
  RotationState,
  signerExpiry,
  TRUST_ROOT_KEYS,
  TRUST_ROOTS,
  trustPlan,
  TrustRoot,
} from "./model/trust";
import { ClusterPlan } from "./model/plan";
import { buildName } from "./model/names";
import { bootstrapKubeconfig, dropWaitProblem, JOIN_PATHS, joinCommand, joinShards, tokenWindows } from "./model/bootstrap";
import { BootstrapTokens } from "./bootstrap/bootstrapTokens";
import { JoinDelivery } from "./delivery/joinDelivery";
import { bundlePayload } from "./node/nodeProgram";

export interface StackOutputs {
  /** Per cluster: the three CA certificates (public). */
  readonly caCertificates: pulumi.Output<Record<string, Record<CaName, string>>>;
  /** Per cluster: admin.conf. Secret. */
  readonly adminKubeconfigs: pulumi.Output<Record<string, string>>;
  /** Per cluster: the extra users' kubeconfigs. Secret. */
  readonly userKubeconfigs: pulumi.Output<Record<string, Record<string, string>>>;
  /** Per cluster: every certificate with CN, O, SANs, signer, validity, expiry, serial and files. */
  readonly inventory: pulumi.Output<Record<string, IssuedInventoryEntry[]>>;
  /**
   * Per cluster: the rotation phases of this update, which the next update checks its phases against. Resolved only
   * once every resource of the cluster (certificates, pushes, restarts, publication) has succeeded, so a failed rollout
   * records nothing and the next update repeats the phase instead of moving on.
   */
  readonly rotation: pulumi.Output<Record<string, RotationState>>;
  /** Per cluster: each trust root's generations with their identity, which the next update holds them to. */
  readonly trustRoots: pulumi.Output<Record<string, RecordedRoots>>;
  /**
   * Per cluster, by component: the flags its config implies beyond kubeadm's manifests (`--name=value`), for whatever
   * writes the static-pod manifests (README, "Workers").
   */
  readonly controlPlaneFlags: pulumi.Output<Record<string, ReturnType<typeof controlPlaneFlags>>>;
  /** Per cluster with `workers: bootstrap` (absent when there is none): the join material for provisioning. Secret. */
  readonly workerJoin?: pulumi.Output<Record<string, WorkerJoin>>;
}

/** What a worker of a bootstrap cluster needs to join: three files by their path, and kubeadm's join command. */
export interface WorkerJoin {
  readonly files: Readonly<Record<string, string>>;
  readonly joinCommand: string;
  /** When the token in them expires (RFC 3339): the material of a later `up` carries the next token. */
  readonly tokenExpires: string;
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
  /**
   * The rotation state the stack recorded at its last successful update (output `rotation`), by cluster. `{}` (or a
   * cluster missing from it) is "no rotation yet": only `add` may follow. Undefined: not known (the offline tools,
   * which check one config against another instead), and not checked.
   */
  readonly previousRotation?: Readonly<Record<string, RotationState>>;
  /**
   * The trust roots the stack recorded at its last update (output `trustRoots`), by cluster: a root never changes
   * identity unless a declared rotation says so, and a made generation keeps how it was made.
   */
  readonly previousTrust?: Readonly<Record<string, RecordedRoots>>;
  /** Refuse a config that changes a recorded root's identity (default true; the offline cert diff reports it instead). */
  readonly refuseTrustChanges?: boolean;
  /** The time expiry rules are judged at (default: now). */
  readonly now?: Date;
  /** The component the clusters' components belong to (the KubePki component); none in the stack program. */
  readonly parent?: pulumi.Resource;
}

const byCluster = <T>(pkis: readonly ClusterPki[], f: (p: ClusterPki) => pulumi.Output<T>) =>
  pulumi.all(Object.fromEntries(pkis.map((p) => [p.catalog.cluster.name, f(p)]))) as pulumi.Output<Record<string, T>>;

/** SSH delivery with the deploy key in the stack's secret config (not `sshAuth: agent`). */
const usesKey = (cluster: ClusterSpec) => cluster.delivery.mode === "ssh" && cluster.delivery.sshAuth === "key";

export function defineStack(plans: readonly ClusterPlan[], env: StackEnvironment = { stack: "dev" }): StackProgram {
  // Secrets the delivery needs are checked with the rest of the config, before anything is registered.
  const deliver = env.deliver ?? true;
  const sshKeys = plans.map(({ catalog: { cluster } }) =>
    deliver && usesKey(cluster) ? env.secret?.(cluster.delivery.sshPrivateKeyConfig) : undefined,
  );
  const managementKubeconfigs = plans.map(({ catalog: { cluster } }) => {
    const m = cluster.publication.managementCluster;
    return deliver && m ? env.secret?.(m.kubeconfigConfig) : undefined;
  });
  const missing = plans.flatMap(({ catalog: { cluster } }, i) => [
    ...(deliver && usesKey(cluster) && !sshKeys[i]
      ? [
          `clusters[${i}].delivery.sshPrivateKeyConfig: the secret stack config "kube-pki:${cluster.delivery.sshPrivateKeyConfig}" ` +
            `is not set (pulumi config set --secret ${cluster.delivery.sshPrivateKeyConfig} < ~/.ssh/<deploy key>)`,
        ]
      : []),
    ...(deliver && cluster.publication.managementCluster && !managementKubeconfigs[i]
      ? [
          `clusters[${i}].publication.managementCluster.kubeconfigConfig: the secret stack config ` +
            `"kube-pki:${cluster.publication.managementCluster.kubeconfigConfig}" is not set ` +
            `(pulumi config set --secret ${cluster.publication.managementCluster.kubeconfigConfig} < management.kubeconfig)`,
        ]
      : []),
  ]);
  if (missing.length > 0) throw new ConfigError(missing);

  // `pulumi config set --secret k < file` drops the file's final newline; the PEM goes to the nodes as the file was.
  const adoptedKey = (keyConfig: string) => {
    const v = env.plainSecret?.(keyConfig);
    return v === undefined ? undefined : `${v.trimEnd()}\n`;
  };
  // Adopted roots and rotation phases are checked, like the rest of the config, before anything is registered.
  const trustProblems = plans.flatMap(({ catalog: { cluster } }, i) => [
    ...Object.entries(cluster.adopt).flatMap(([root, adopted]) =>
      !env.plainSecret
        ? []
        : adoptionProblems(
            `clusters[${i}].adopt.${TRUST_ROOT_KEYS[root as TrustRoot]}`,
            root as TrustRoot,
            adopted!,
            adoptedKey(adopted!.keyConfig),
          ),
    ),
  ]);
  trustProblems.push(...rotationChangeProblems(plans, env.previousRotation), ...bootstrapDropProblems(plans, env));
  const expiry = expiryRules(plans, env);
  trustProblems.push(...(env.refuseTrustChanges === false ? [] : trustChangeProblems(plans, env.previousTrust)), ...expiry.problems);
  if (trustProblems.length > 0) throw new ConfigError(trustProblems);
  for (const warning of expiry.warnings) pulumi.log.warn(warning);
  // No options at all in the stack program, so its resources keep their URNs.
  const opts = env.parent ? { parent: env.parent } : undefined;
  const clusters = plans.map(({ catalog }) => {
    const cluster = catalog.cluster;
    if (!env.plainSecret) {
      // Offline: the adopted keys are out of reach, so generated roots stand in for them (same names and specs).
      return new ClusterPki(
        buildName({ kind: "pki", cluster: cluster.name }),
        {
          catalog: { ...catalog, cluster: { ...cluster, adopt: {} } },
          recorded: env.previousTrust?.[cluster.name],
        },
        opts,
      );
    }
    const adoptedKeys = Object.fromEntries(
      Object.entries(cluster.adopt).map(([root, a]) => [root, pulumi.secret(adoptedKey(a!.keyConfig)!)]),
    );
    return new ClusterPki(
      buildName({ kind: "pki", cluster: cluster.name }),
      {
        catalog,
        adoptedKeys,
        recorded: env.previousTrust?.[cluster.name],
      },
      opts,
    );
  });
  const deliveries = plans.map(({ catalog, delivery }, i) =>
    !deliver || catalog.cluster.delivery.mode === "none"
      ? undefined
      : new ClusterDelivery(
          buildName({ kind: "delivery", cluster: catalog.cluster.name }),
          {
            cluster: catalog.cluster,
            plan: delivery,
            contentOf: (file) => clusters[i]!.contentOf(file),
            sshPrivateKey: sshKeys[i],
            localDirectory: catalog.cluster.delivery.localDirectory ?? `out/${env.stack}`,
          },
          opts,
        ),
  );
  // Publication talks to live clusters, so it is part of "deliver" too (the offline render skips it).
  const publications = plans.map(({ catalog: { cluster } }, i) => {
    const p = cluster.publication;
    if (!deliver || !(p.kubeadmConfig || p.managementCluster)) return undefined;
    const pki = clusters[i]!;
    return new ClusterPublication(
      buildName({ kind: "publication", cluster: cluster.name }),
      {
        spec: p,
        sans: {
          apiServerCertSANs: cluster.apiServer.certSANs,
          etcdServerCertSANs: cluster.etcd.serverCertSANs,
          etcdPeerCertSANs: cluster.etcd.peerCertSANs,
        },
        adminKubeconfig: pki.adminKubeconfig,
        cas: pki.caSigners,
        serviceAccount: { publicKeyPem: pki.serviceAccountPublicKey, privateKeyPem: pki.serviceAccountPrivateKey },
        controllerManagerFlags: controllerManagerFlags(cluster),
        managementKubeconfig: managementKubeconfigs[i],
        rollout: deliveries[i],
      },
      opts,
    );
  });
  // Workers of a bootstrap cluster: kubeadm's bootstrap RBAC and cluster-info, the tokens, the join material, and its
  // push to listed workers by shard; in the cluster, written once delivery has rolled out.
  const now = env.now ?? new Date();
  const bootstraps: (ClusterBootstrap | undefined)[] = [];
  const joins = plans.map(({ catalog }, i) => {
    const cluster = catalog.cluster;
    if (!deliver || cluster.workers !== "bootstrap") return undefined;
    const pki = clusters[i]!;
    const windows = tokenWindows(cluster, now);
    const localDirectory = cluster.delivery.localDirectory ?? `out/${env.stack}`;
    const bootstrap = (bootstraps[i] = new ClusterBootstrap(
      buildName({ kind: "cluster-bootstrap", cluster: cluster.name }),
      {
        adminKubeconfig: pki.adminKubeconfig,
        server: endpointUrl(cluster, catalog.initNode),
        caBundle: pki.trustBundle("ca"),
        rollout: deliveries[i],
        ...(cluster.delivery.mode === "local" ? { renderDirectory: `${localDirectory}/${cluster.name}/_bootstrap` } : {}),
      },
      opts,
    ));
    const tokens = new BootstrapTokens(
      buildName({ kind: "bootstrap", cluster: cluster.name }),
      { cluster: cluster.name, windows: windows.kept, current: windows.current, provider: bootstrap.provider },
      opts,
    );
    const kubeProxy = catalog.certificates.find((c) => c.id === "kube-proxy.conf")!;
    const server = kubeProxy.kubeconfig!.server;
    const material = pulumi
      .all([
        tokens.token,
        pki.trustBundle("ca"),
        pki.contentOf({ path: JOIN_PATHS.kubeProxy, mode: 0o600, owner: "root", source: kubeProxy.id, content: "kubeconfig" }),
      ])
      .apply(([token, ca, proxy]) => ({
        files: {
          [JOIN_PATHS.bootstrapKubeconfig]: bootstrapKubeconfig(cluster.clusterName, server, token),
          [JOIN_PATHS.ca]: ca,
          [JOIN_PATHS.kubeProxy]: proxy,
        },
        joinCommand: joinCommand(server, token, ca),
        tokenExpires: windows.current.expiresAt,
      }));
    const shards = joinShards(cluster);
    const push =
      shards.length === 0
        ? undefined
        : new JoinDelivery(
            buildName({ kind: "bootstrap", cluster: cluster.name, child: "join" }),
            {
              cluster,
              shards,
              bundle: pulumi.secret(
                material.apply((m) =>
                  bundlePayload(
                    Object.entries(m.files).map(([path, content]) => ({
                      path,
                      content,
                      owner: "root",
                      mode: path === JOIN_PATHS.ca ? 0o644 : 0o600,
                    })),
                  ),
                ),
              ),
              sshPrivateKey: sshKeys[i],
              localDirectory,
              after: [tokens],
            },
            opts,
          );
    return { material: pulumi.secret(material), done: pulumi.all([bootstrap.written, tokens.written, push?.rolledOut ?? true]) };
  });
  plans.forEach(({ catalog: { cluster } }, i) => {
    if (!cluster.protectCAs) return;
    const others = [deliveries[i], publications[i], bootstraps[i]].filter((r) => r !== undefined);
    new DestroyGuard(buildName({ kind: "destroy-guard", cluster: cluster.name }), { covers: [clusters[i]!, ...others] }, opts);
  });
  return {
    clusters,
    deliveries,
    outputs: {
      caCertificates: byCluster(clusters, (p) => p.caCertificates),
      adminKubeconfigs: pulumi.secret(byCluster(clusters, (p) => p.adminKubeconfig)),
      userKubeconfigs: pulumi.secret(byCluster(clusters, (p) => p.userKubeconfigs)),
      inventory: byCluster(clusters, (p) => p.inventory),
      rotation: pulumi
        .all(
          plans.map(({ catalog: { cluster } }, i) =>
            pulumi
              .all([
                clusters[i]!.inventory,
                clusters[i]!.trustRecord,
                deliveries[i]?.rolledOut ?? true,
                publications[i]?.published ?? true,
                joins[i]?.done ?? true,
              ])
              .apply(() => [cluster.name, recordedRotation(cluster.rotation, env.previousRotation?.[cluster.name], now)] as const),
          ),
        )
        .apply((entries) => Object.fromEntries(entries)),
      trustRoots: byCluster(clusters, (p) => p.trustRecord),
      controlPlaneFlags: pulumi.output(
        Object.fromEntries(plans.map(({ catalog: { cluster } }) => [cluster.name, controlPlaneFlags(cluster)])),
      ),
      // Only where there is one: a stack without bootstrap clusters keeps exactly the outputs it had.
      ...(joins.some((j) => j)
        ? {
            workerJoin: pulumi.secret(
              pulumi.all(
                Object.fromEntries(joins.flatMap((j, i) => (j ? [[plans[i]!.catalog.cluster.name, j.material] as const] : []))),
              ) as pulumi.Output<Record<string, WorkerJoin>>,
            ),
          }
        : {}),
    },
  };
}

/**
 * What the program reads from its stack besides `kube-pki:clusters`: its secrets, and what it recorded at its last
 * update (its outputs `rotation` and `trustRoots`, through a StackReference to itself named `self`), which the config
 * is checked against before anything is registered. index.ts and the KubePki component read it alike.
 */
export async function stackEnvironment(self: string, opts?: pulumi.CustomResourceOptions): Promise<StackEnvironment> {
  const config = new pulumi.Config("kube-pki");
  const ref = new pulumi.StackReference(self, { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` }, opts);
  const [rotation, trustRoots] = await Promise.all([ref.getOutputDetails("rotation"), ref.getOutputDetails("trustRoots")]);
  return {
    stack: pulumi.getStack(),
    secret: (key) => config.getSecret(key),
    // Adopted keys are checked against their certificates before anything is registered, so read in plain text here.
    plainSecret: (key) => pulumi.runtime.getConfig(`kube-pki:${key}`),
    // No recorded rotation (a new stack, or one deployed before rotations existed) is "no rotation yet": add comes first.
    previousRotation: (rotation?.value ?? {}) as Record<string, RotationState>,
    // Recorded since trust roots are held to their identity; a stack deployed before records them at its next update.
    previousTrust: trustRoots?.value as Record<string, RecordedRoots> | undefined,
    // KUBE_PKI_NOW (RFC 3339): judge bootstrap-token windows, expiry and drop waits at that time, to preview a later
    // run (and for the engine tests' token rollover); unset, now.
    ...(process.env.KUBE_PKI_NOW ? { now: parseNow(process.env.KUBE_PKI_NOW) } : {}),
  };
}

function parseNow(text: string): Date {
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new ConfigError([`KUBE_PKI_NOW: ${JSON.stringify(text)} is not an RFC 3339 time`], "environment");
  return new Date(t);
}

/** `f` for every trust root of every cluster, with the cluster's config path: the one walk of the trust checks below. */
const eachRoot = <T>(plans: readonly ClusterPlan[], f: (cluster: ClusterSpec, path: string, root: TrustRoot) => T): T[] =>
  plans.flatMap(({ catalog: { cluster } }, i) => TRUST_ROOTS.map((root) => f(cluster, `clusters[${i}]`, root)));

/** Every rotation phase that does not follow the recorded one (undefined: not known, not checked). */
export function rotationChangeProblems(
  plans: readonly ClusterPlan[],
  previous: Readonly<Record<string, RotationState>> | undefined,
): string[] {
  if (!previous) return [];
  return eachRoot(plans, (cluster, path, root) =>
    rotationProblems(`${path}.rotation.${TRUST_ROOT_KEYS[root]}`, previous[cluster.name]?.[root], cluster.rotation[root]),
  ).flat();
}

/**
 * A bootstrap cluster's CA *drop* waits until every kubelet certificate the old CA signed has expired: signingHours
 * (plus a margin) after the *switch* the stack recorded. Only when moving to drop; not known (offline): not checked.
 */
function bootstrapDropProblems(plans: readonly ClusterPlan[], env: StackEnvironment): string[] {
  if (!env.previousRotation) return [];
  return plans.flatMap(({ catalog: { cluster } }, i) => {
    const next = cluster.rotation.ca;
    const previous = env.previousRotation![cluster.name]?.ca;
    if (
      cluster.workers !== "bootstrap" ||
      next?.phase !== "drop" ||
      previous?.phase !== "switch" ||
      previous.generation !== next.generation
    ) {
      return [];
    }
    return (
      dropWaitProblem(`clusters[${i}].rotation.ca.phase`, cluster.bootstrap.signingHours, previous.switchedAt, env.now ?? new Date()) ?? []
    );
  });
}

/** Every configured trust root that would take another identity than the one the stack recorded (see identityProblems). */
export function trustChangeProblems(
  plans: readonly ClusterPlan[],
  previous: Readonly<Record<string, RecordedRoots>> | undefined,
): string[] {
  if (!previous) return [];
  return eachRoot(plans, (cluster, path, root) =>
    identityProblems(path, trustPlan(root, cluster.rotation[root], cluster.adopt[root]), previous[cluster.name]?.[root]),
  ).flat();
}

/** The signing CAs' expiry against the leaves they would sign now: adopted ones from their certificate, made ones as recorded. */
function expiryRules(plans: readonly ClusterPlan[], env: StackEnvironment): { problems: string[]; warnings: string[] } {
  const results = eachRoot(plans, (cluster, path, root) => {
    const plan = trustPlan(root, cluster.rotation[root], cluster.adopt[root]);
    const notAfter =
      plan.adopted && plan.signer === 1
        ? adoptedExpiry(plan.adopted.pem)
        : env.previousTrust?.[cluster.name]?.[root]?.find((g) => g.generation === plan.signer)?.notAfter;
    return signerExpiry(path, plan, notAfter, cluster.validity.leafHours, env.now);
  });
  return { problems: results.flatMap((r) => r.problem ?? []), warnings: results.flatMap((r) => r.warning ?? []) };
}

const adoptedExpiry = (pem: string) => {
  try {
    return new X509Certificate(pem).validTo;
  } catch {
    return undefined;
  }
};
