// Stack configuration: `kube-pki:clusters` checked against its schema (configSchema.ts) and its rules
// (configRules.ts), then resolved into ClusterSpecs. Pure code, no Pulumi: every problem is collected with its config
// path and reported together, before the program registers any resource.
import { CLUSTER_RULES, normalPem, show, STACK_RULES, VALUE_RULES } from "./configRules";
import {
  CaKeyPlacement,
  Checked,
  ClusterSchema,
  ClusterValue,
  DeliveryValue,
  EARLY_RENEWAL_HOURS,
  KeyAlgorithm,
  ManagementClusterValue,
  NodeValue,
  SshValue,
  UserValue,
} from "./configSchema";
import { Cidr, canonicalIp, isIpAddress, parseCidr, splitHostPort } from "./net";
import { AdoptedRoot, RotationSpec, TRUST_ROOT_KEYS, TRUST_ROOTS, TrustRoot } from "./trust";

export {
  CA_KEY_PLACEMENTS,
  DEFAULT_RESTART_COMMANDS,
  DELIVERY_MODES,
  KEY_ALGORITHMS,
  NODE_ROLES,
  READERS,
  RENDER_USERS_DIR,
  SHELL_WORD,
  SSH_AUTH,
  WORKER_MODES,
} from "./configSchema";
export type { CaKeyPlacement, DeliveryMode, KeyAlgorithm, NodeRole, Reader, SshAuth, WorkerMode } from "./configSchema";

const P = ClusterSchema.properties;
/** kubeadm defaults (docs/kubeadm.md §3), but for keyAlgorithm: ECDSA-P256 is kube-pki's choice (README, "Why
 * ECDSA-P256"). The schema holds them; earlyRenewalHours is at most half of leafHours. */
export const DEFAULTS = {
  clusterName: P.clusterName.default,
  dnsDomain: P.dnsDomain.default,
  bindPort: P.apiServer.properties.bindPort.default,
  keyAlgorithm: P.keyAlgorithm.default as KeyAlgorithm,
  caHours: P.validity.properties.caHours.default,
  leafHours: P.validity.properties.leafHours.default,
  earlyRenewalHours: EARLY_RENEWAL_HOURS,
  caKeys: P.caKeys.default as CaKeyPlacement,
};

// ---- the resolved config: the schema's types, with what resolve() computes -------------------------------------

/** Where a node is reached over SSH; `host` defaults to the node's address. */
export type SshTarget = SshValue & { readonly host: string };
export type NodeSpec = Omit<NodeValue, "ssh"> & { readonly ssh?: SshTarget };
export type UserSpec = UserValue;
/** `sshPrivateKeyConfig` defaults to `sshPrivateKey` (with sshAuth key, the only one that reads it). */
export type DeliverySpec = DeliveryValue & { readonly sshPrivateKeyConfig: string };
export type ValidityHours = ClusterValue["validity"] & { readonly earlyRenewalHours: number };
/** The management cluster's `clusterName` defaults to this cluster's name. */
export interface PublicationSpec {
  readonly kubeadmConfig: boolean;
  readonly managementCluster?: ManagementClusterValue & { readonly clusterName: string };
}
export interface ControlPlaneEndpoint {
  readonly host: string;
  readonly port: number;
}
export type ClusterSpec = Omit<
  ClusterValue,
  "controlPlaneEndpoint" | "serviceSubnet" | "validity" | "adopt" | "rotation" | "delivery" | "publication" | "nodes"
> & {
  /** Stable address of the API servers; absent ⇒ each node's own address (kubeadm's CPE rule). */
  readonly controlPlaneEndpoint?: ControlPlaneEndpoint;
  /** Service CIDRs in order; the first one's offset-1 address is the `kubernetes` service VIP. */
  readonly serviceSubnets: readonly Cidr[];
  readonly validity: ValidityHours;
  /** Trust roots brought in from an existing cluster instead of made (generation 1). */
  readonly adopt: Partial<Record<TrustRoot, AdoptedRoot>>;
  /** Trust roots being rotated, with their phase. */
  readonly rotation: Partial<Record<TrustRoot, RotationSpec>>;
  readonly delivery: DeliverySpec;
  readonly publication: PublicationSpec;
  readonly nodes: readonly NodeSpec[];
};

/** Thrown with every problem found; `problems` are `path: message` lines. */
export class ConfigError extends Error {
  constructor(
    readonly problems: readonly string[],
    source = "kube-pki:clusters",
  ) {
    super(
      `${source} is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `word` if it is close enough to be a typo of it (an edit distance of at most 2, or a
 * third of its length), else undefined. `normalize` maps both sides first (e.g. dropping separators).
 */
export function suggestion(candidates: readonly string[], word: string, normalize: (s: string) => string = (s) => s): string | undefined {
  const best = candidates.map((k) => [k, editDistance(normalize(word), normalize(k))] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(word.length / 3)) ? best[0] : undefined;
}

// ---- the schema check ----------------------------------------------------------------------------------------------

/** The JSON Schema keywords check() enforces; the others of the schema are annotations or MIRRORED_KEYWORDS. */
export const KEYWORDS_READ = [
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "uniqueItems",
  "enum",
  "minimum",
  "maximum",
  "pattern",
  "not",
] as const;
/** A schema node as check() reads it: the keywords it enforces, and kube-pki's messages. */
interface SchemaNode {
  readonly type?: "object" | "array" | "string" | "integer" | "boolean";
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly items?: SchemaNode;
  readonly uniqueItems?: boolean;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
  readonly not?: { readonly pattern: string; readonly errorMessage: string };
  readonly default?: unknown;
  readonly errorMessage?: string;
  readonly patternErrorMessage?: string;
}

const regexes = new Map<string, RegExp>();
/** As JSON Schema reads a pattern (ECMA-262, unicode): ajv and the editors test the same expression. */
const matches = (pattern: string, s: string) => {
  if (!regexes.has(pattern)) regexes.set(pattern, new RegExp(pattern, "u"));
  return regexes.get(pattern)!.test(s);
};

/**
 * Checks `value` (present: not undefined or null) at `path` against schema node `s`; `at` is where it is in a cluster
 * for VALUE_RULES (`nodes[].address`). Returns it with every absent key that has a default filled in (a YAML key
 * without a value, null, counts as absent), and null in place of anything that has a problem (each reported once:
 * a value that fails its schema is not also judged by its rule).
 */
function check(problems: string[], s: SchemaNode, value: unknown, path: string, at: string): unknown {
  const fail = (message: string) => (problems.push(`${path}: ${message}`), null);
  switch (s.type) {
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return fail(`must be an object, got ${show(value)}`);
      const keys = Object.keys(s.properties ?? {});
      for (const key of s.additionalProperties === false ? Object.keys(value).filter((k) => !keys.includes(k)) : []) {
        const best = suggestion(keys, key);
        problems.push(`${path}.${key}: unknown key${best ? ` (did you mean "${best}"?)` : ""}; known keys: ${keys.join(", ")}`);
      }
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        const ks = s.properties![key]!;
        const given = (value as Record<string, unknown>)[key];
        const present = given !== undefined && given !== null;
        if (!present && s.required?.includes(key)) {
          problems.push(`${path}.${key}: is required${ks.enum ? `: one of ${ks.enum.join(", ")}` : ""}`);
          out[key] = null;
        } else if (present || ks.default !== undefined) {
          // A default that is an object or list is copied (every cluster gets its own); a scalar needs no copy, and
          // structuredClone of one per node was a tenth of a 10,000-worker preview's validation.
          const fallback = typeof ks.default === "object" && ks.default !== null ? structuredClone(ks.default) : ks.default;
          out[key] = check(problems, ks, present ? given : fallback, `${path}.${key}`, at ? `${at}.${key}` : key);
        }
      }
      return out;
    }
    case "array":
      if (!Array.isArray(value)) return fail(`must be a list, got ${show(value)}`);
      return value.map((item, i) =>
        s.uniqueItems && value.indexOf(item) < i
          ? (problems.push(`${path}[${i}]: ${show(item)} is listed twice`), null)
          : check(problems, s.items!, item, `${path}[${i}]`, `${at}[]`),
      );
    case "integer":
      return typeof value === "number" &&
        Number.isSafeInteger(value) &&
        value >= (s.minimum ?? -Infinity) &&
        value <= (s.maximum ?? Infinity)
        ? value
        : fail(`${s.errorMessage ?? "must be a whole number"}, got ${show(value)}`);
    case "boolean":
      return typeof value === "boolean" ? value : fail(`must be true or false, got ${show(value)}`);
    case "string": {
      if (s.enum)
        return typeof value === "string" && s.enum.includes(value) ? value : fail(`${show(value)} is not one of ${s.enum.join(", ")}`);
      if (typeof value !== "string") return fail(`${s.errorMessage ?? "must be a non-empty string"}, got ${show(value)}`);
      if (s.pattern && !matches(s.pattern, value)) {
        return fail(value.trim() === "" ? `must be a non-empty string, got ${show(value)}` : `${show(value)} ${s.patternErrorMessage}`);
      }
      if (s.not && matches(s.not.pattern, value)) return fail(`${show(value)} ${s.not.errorMessage}`);
      const found = VALUE_RULES[at]?.(value) ?? [];
      found.forEach((message) => problems.push(`${path}: ${message}`));
      return found.length > 0 ? null : value;
    }
    default:
      throw new Error(`configSchema.ts: ${path} has a type check() does not read`);
  }
}

// ---- resolution: a cluster without problems, its computed defaults and canonical forms ------------------------------

function resolve(c: ClusterValue): ClusterSpec {
  const { validity, delivery, publication } = c;
  const managementCluster = publication.managementCluster;
  const adopt: Partial<Record<TrustRoot, AdoptedRoot>> = {};
  const rotation: Partial<Record<TrustRoot, RotationSpec>> = {};
  for (const root of TRUST_ROOTS) {
    const a = (c.adopt as Readonly<Record<string, { certificate?: string; publicKey?: string; keyConfig?: string }>>)[
      TRUST_ROOT_KEYS[root]
    ];
    if (a) adopt[root] = { pem: normalPem(a.certificate ?? a.publicKey!), keyConfig: a.keyConfig ?? `adopted-${c.name}-${root}-key` };
    const r = (c.rotation as Readonly<Record<string, RotationSpec>>)[TRUST_ROOT_KEYS[root]];
    if (r) rotation[root] = r;
  }
  const endpoint = c.controlPlaneEndpoint === undefined ? undefined : splitHostPort(c.controlPlaneEndpoint);
  return {
    name: c.name,
    clusterName: c.clusterName,
    dnsDomain: c.dnsDomain,
    keyAlgorithm: c.keyAlgorithm,
    protectCAs: c.protectCAs,
    caKeys: c.caKeys,
    workers: c.workers,
    bootstrap: c.bootstrap,
    users: c.users,
    controlPlaneEndpoint: endpoint && {
      host: isIpAddress(endpoint.host) ? canonicalIp(endpoint.host) : endpoint.host,
      port: endpoint.port === undefined ? c.apiServer.bindPort : Number(endpoint.port),
    },
    serviceSubnets: c.serviceSubnet.split(",").map((part) => parseCidr(part.trim()) as Cidr),
    apiServer: { ...c.apiServer, certSANs: c.apiServer.certSANs.map(canonicalSan) },
    etcd: { serverCertSANs: c.etcd.serverCertSANs.map(canonicalSan), peerCertSANs: c.etcd.peerCertSANs.map(canonicalSan) },
    validity: {
      ...validity,
      earlyRenewalHours: validity.earlyRenewalHours ?? Math.min(EARLY_RENEWAL_HOURS, Math.floor(validity.leafHours / 2)),
    },
    adopt,
    rotation,
    delivery: { ...delivery, sshPrivateKeyConfig: delivery.sshPrivateKeyConfig ?? "sshPrivateKey" },
    publication: managementCluster
      ? { ...publication, managementCluster: { ...managementCluster, clusterName: managementCluster.clusterName ?? c.name } }
      : { kubeadmConfig: publication.kubeadmConfig },
    nodes: c.nodes.map(({ ssh, ...node }) => ({
      ...node,
      address: canonicalIp(node.address),
      // ssh.host stays as written: it is in every delivery command of a deployed stack.
      ...(ssh ? { ssh: { ...ssh, host: ssh.host ?? node.address, hostKey: ssh.hostKey.trim().split(" ").slice(0, 2).join(" ") } } : {}),
    })),
  };
}

const canonicalSan = (san: string) => (isIpAddress(san) ? canonicalIp(san) : san);

/**
 * Validates the raw value of `kube-pki:clusters` (a JSON list of clusters). Returns the clusters with defaults
 * filled in, or throws one ConfigError listing every problem with its path (`clusters[0].nodes[2].address: ...`).
 */
export function validateClusters(raw: unknown, readWorkersFile?: WorkersFileReader): ClusterSpec[] {
  if (raw === undefined || raw === null) {
    throw new ConfigError(["clusters: is not set (pulumi config set --path 'clusters[0].name' dev, or see the README)"]);
  }
  if (!Array.isArray(raw)) throw new ConfigError([`clusters: must be a list of clusters, got ${show(raw)}`]);
  if (raw.length === 0) throw new ConfigError(["clusters: is empty: configure at least one cluster"]);
  const problems: string[] = [];
  const files: (FileWorkers | undefined)[] = [];
  const clusters = raw.map((given, i) => {
    const before = problems.length;
    files[i] = withFileWorkers(problems, given, `clusters[${i}]`, readWorkersFile);
    const c = check(
      problems,
      ClusterSchema as SchemaNode,
      files[i]?.cluster ?? given,
      `clusters[${i}]`,
      "",
    ) as Checked<ClusterValue> | null;
    if (c) for (const rule of CLUSTER_RULES) problems.push(...rule(c, `clusters[${i}]`));
    // Without problems the checked cluster is its schema's type with every default filled.
    return c && problems.length === before ? resolve(c as unknown as ClusterValue) : undefined;
  });
  for (const rule of STACK_RULES) problems.push(...rule(clusters));
  if (problems.length > 0) throw new ConfigError(problems.map((p) => inWorkersFile(p, files)));
  return clusters as ClusterSpec[];
}

/**
 * Reads a cluster's `workersFile` (its path as written, checked by the schema; relative to the project directory) and
 * returns the parsed value, or throws an Error whose message names the file. Given by the caller: the model reads no files.
 */
export type WorkersFileReader = (path: string) => unknown;

/** A cluster with its workers file's entries appended to its nodes, so every node rule judges them too. */
interface FileWorkers {
  readonly cluster: unknown;
  readonly inline: number;
  readonly file: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function withFileWorkers(problems: string[], given: unknown, at: string, read: WorkersFileReader | undefined): FileWorkers | undefined {
  const file = isRecord(given) ? given.workersFile : undefined;
  // A path the schema refuses is reported by the cluster's own check, and not read; nor is a file beside broken nodes.
  if (file == null || check([], ClusterSchema.properties.workersFile as SchemaNode, file, "", "") === null) return undefined;
  if (!Array.isArray((given as Record<string, unknown>).nodes)) return undefined;
  let list: unknown;
  try {
    if (!read) throw new Error(`${file}: only the stack program and the offline tools read workers files: list the workers in nodes`);
    list = read(file as string);
  } catch (e) {
    return void problems.push(`${at}.workersFile: ${(e as Error).message}`);
  }
  if (!Array.isArray(list))
    return void problems.push(
      `${at}.workersFile: ${file} must hold a list of worker nodes, got ${isRecord(list) ? "a mapping" : show(list)}`,
    );
  const nodes = (given as { nodes: unknown[] }).nodes;
  const workers = list.map((w, k) => {
    if (!isRecord(w) || w.role == null) return isRecord(w) ? { ...w, role: "worker" } : w;
    if (w.role !== "worker") problems.push(`${at}.workersFile[${k}].role: ${show(w.role)}: a workers file lists workers only (${file})`);
    return { ...w, role: "worker" };
  });
  return { cluster: { ...(given as Record<string, unknown>), nodes: [...nodes, ...workers] }, inline: nodes.length, file: file as string };
}

/** A problem's `clusters[i].nodes[k]` that is a file worker, as `clusters[i].workersFile[k - inline]`, naming the file. */
function inWorkersFile(problem: string, files: readonly (FileWorkers | undefined)[]): string {
  const named = new Set<string>();
  const text = problem.replace(/clusters\[(\d+)\]\.nodes\[(\d+)\]/g, (whole, ci: string, ni: string) => {
    const f = files[Number(ci)];
    if (!f || Number(ni) < f.inline) return whole;
    named.add(f.file);
    return `clusters[${ci}].workersFile[${Number(ni) - f.inline}]`;
  });
  return named.size ? `${text} (${[...named].join(", ")})` : text;
}
