// Stack configuration: the shape of `kube-pki:clusters` and its validation. Pure code, no Pulumi: every problem is
// collected with its config path and reported together, before the program registers any resource.
import { AdoptedRoot, ROTATION_PHASES, RotationSpec, TRUST_ROOT_KEYS, TRUST_ROOTS, TrustRoot } from "./trust";
import {
  Cidr, canonicalIp, cidrHostBits, hasIpv6Zone, isDns1123Label, isDns1123Subdomain, isIpAddress,
  isWildcardDns1123Subdomain, notAHostAddress, notAHostRange, parseCidr, splitHostPort,
} from "./net";

/** Key algorithms, named as kubeadm's v1beta4 `encryptionAlgorithm`. */
export const KEY_ALGORITHMS = ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export const NODE_ROLES = ["control-plane", "worker"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** Where the three CA private keys go (docs/kubeadm.md §8): nowhere (external-CA mode) or every control-plane node. */
export const CA_KEY_PLACEMENTS = ["none", "control-plane"] as const;
export type CaKeyPlacement = (typeof CA_KEY_PLACEMENTS)[number];

/** What may appear unquoted in the fixed command strings run on nodes (paths: node root, local directory). */
export const SHELL_WORD = /^[A-Za-z0-9_./:@%+=,-]+$/;

/** Processes on a node that read kube-pki's files and must reload them after a change. */
export const READERS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kubelet", "kube-proxy"] as const;
export type Reader = (typeof READERS)[number];

export const SSH_AUTH = ["key", "agent"] as const;
export type SshAuth = (typeof SSH_AUTH)[number];

/** How files reach the nodes: not at all, into a local directory (labs, laptops), or over SSH. */
export const DELIVERY_MODES = ["none", "local", "ssh"] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/**
 * How each component is made to load new certificates on a kubeadm node: static pods must be restarted after a
 * certificate change (docs/kubeadm.md §10); stopping the container with crictl makes the kubelet start it again;
 * the kubelet itself is a systemd unit.
 */
const crictlRestart = (container: string) =>
  // The name filter is a regex: anchored, and limited to kube-system, so `etcd` does not also stop `etcd-backup`.
  // A failing crictl fails the restart instead of passing an empty list to xargs.
  `ids=$(crictl ps -q --name '^${container}$' --label io.kubernetes.pod.namespace=kube-system) && { [ -z "$ids" ] || crictl stop $ids; }`;
export const DEFAULT_RESTART_COMMANDS: Readonly<Record<Reader, string>> = {
  "kube-apiserver": crictlRestart("kube-apiserver"),
  "kube-controller-manager": crictlRestart("kube-controller-manager"),
  "kube-scheduler": crictlRestart("kube-scheduler"),
  etcd: crictlRestart("etcd"),
  kubelet: "systemctl restart kubelet",
  "kube-proxy": crictlRestart("kube-proxy"),
};

/** kubeadm defaults (docs/kubeadm.md §3), but for keyAlgorithm: ECDSA-P256 is kube-pki's choice (README, "Why ECDSA-P256"). */
export const DEFAULTS = {
  clusterName: "kubernetes",
  dnsDomain: "cluster.local",
  bindPort: 6443,
  keyAlgorithm: "ECDSA-P256" as KeyAlgorithm,
  caHours: 87600,
  leafHours: 8760,
  /** Thirty days: a scheduled `pulumi up` inside this window re-issues the leaf (docs/tls-provider.md §8). */
  earlyRenewalHours: 720,
  caKeys: "none" as CaKeyPlacement,
};

/**
 * The bounds of every number in the config (README, Configuration). Beyond them a value only breaks something later:
 * `1e21` seconds is `1e+21` in a node command, 1e20 hours is a notAfter JavaScript cannot represent.
 */
interface Bounds { readonly what: string; readonly min: number; readonly max: number; readonly maxText?: string }
/** 100 years of 365.25 days: long enough for any CA, short enough for any notAfter. */
const MAX_HOURS = 876600;
const hours = (min: number): Bounds => ({ what: "a whole number of hours", min, max: MAX_HOURS, maxText: `${MAX_HOURS} (100 years)` });
const BOUNDS = {
  port: { what: "a port number", min: 1, max: 65535 },
  caHours: hours(1),
  leafHours: hours(1),
  earlyRenewalHours: hours(0),
  /** A health check that waits longer than an hour holds every later node of the update. */
  healthCheckTimeoutSeconds: { what: "a whole number of seconds", min: 1, max: 3600 },
  /** A rotation takes three `pulumi up`s; a thousand is centuries of yearly rotations. */
  generation: { what: "a generation number", min: 2, max: 1000 },
} as const satisfies Record<string, Bounds>;

export interface SshTarget {
  /** Host to connect to (default: the node's address). */
  readonly host: string;
  /** Default 22. */
  readonly port: number;
  /** Default root: files are owned by root and restarts need it. */
  readonly user: string;
  /** The node's SSH host key, authorized_keys format (`ssh-ed25519 AAAA…`): pinned, never trusted on first use. */
  readonly hostKey: string;
  /** Where the node's filesystem is, for that user (default `/`; e.g. `/host` from a toolbox container). */
  readonly root: string;
}

export interface NodeSpec {
  /** Node name as the kubelet registers it (RFC 1123 subdomain); CN of its etcd and kubelet certificates. */
  readonly name: string;
  readonly role: NodeRole;
  /** Advertise address (IPv4 or IPv6): kubeadm's `localAPIEndpoint.advertiseAddress`. */
  readonly address: string;
  /** Set (with defaults filled) when the cluster delivers over SSH. */
  readonly ssh?: SshTarget;
}

export interface DeliverySpec {
  readonly mode: DeliveryMode;
  /** Local mode: files go to `<localDirectory>/<cluster>/<node>/…` (default `out/<stack>`, relative to the project). */
  readonly localDirectory?: string;
  /** Delete a bundle's files from the node when the bundle leaves the config (default false: files are kept). */
  readonly removeFiles: boolean;
  /** After a restart, check that the node serves the new certificate (SSH mode; default true; needs openssl on nodes). */
  readonly healthCheck: boolean;
  /** How long the health check waits for the new certificate, in seconds (default 120). */
  readonly healthCheckTimeoutSeconds: number;
  /** Command per reader, run on the node after a file it reads changed; "" disables that restart. */
  readonly restart: Readonly<Record<Reader, string>>;
  /**
   * How SSH delivery authenticates: `key` (default), the private key in the secret stack config key
   * `sshPrivateKeyConfig`; or `agent`, the ssh-agent at `SSH_AUTH_SOCK` when `pulumi up` runs, so the key never enters
   * the stack's config or state and a preview (which never connects) needs no key at all.
   */
  readonly sshAuth: SshAuth;
  /** Name of the secret stack config key holding the SSH private key (default `sshPrivateKey`; `sshAuth: key`). */
  readonly sshPrivateKeyConfig: string;
}

export interface UserSpec {
  /** Certificate CN and kubeconfig user name. */
  readonly name: string;
  /** Certificate O values (Kubernetes groups), any number. */
  readonly groups: readonly string[];
  /** A deliberate emergency identity in `system:masters` (default false; refused without it). */
  readonly breakGlass: boolean;
}

export interface ControlPlaneEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface ValidityHours {
  /** CA certificates (default 87600 = 10 years). */
  readonly caHours: number;
  /** Every leaf certificate (default 8760 = 1 year). */
  readonly leafHours: number;
  /** A leaf is re-issued by the first `pulumi up` this many hours before it expires (default 720). */
  readonly earlyRenewalHours: number;
}

/** Publishing into Kubernetes (@pulumi/kubernetes), off by default. */
export interface PublicationSpec {
  /** Keep kube-system/kubeadm-config's certSANs equal to this config, through the cluster's own admin.conf. */
  readonly kubeadmConfig: boolean;
  /** Export the CAs and admin.conf to a management cluster as Cluster API secrets. */
  readonly managementCluster?: {
    /** Secret stack config key holding the management cluster's kubeconfig (default `managementKubeconfig`). */
    readonly kubeconfigConfig: string;
    /** Namespace of the Cluster API Cluster object (default `default`). */
    readonly namespace: string;
    /** Name of the Cluster API Cluster (default: this cluster's `name`). */
    readonly clusterName: string;
    /** Include the CA private keys (`tls.key`): Cluster API then signs itself; without, it treats the CAs as external. */
    readonly includeCaKeys: boolean;
  };
}

export interface ClusterSpec {
  /** Name of this cluster in the stack: resource names, output keys, render directories. RFC 1123 label. */
  readonly name: string;
  /** kubeadm `clusterName`: the cluster name inside kubeconfigs. */
  readonly clusterName: string;
  /** Stable address of the API servers; absent ⇒ each node's own address (kubeadm's CPE rule). */
  readonly controlPlaneEndpoint?: ControlPlaneEndpoint;
  /** Service CIDRs in order; the first one's offset-1 address is the `kubernetes` service VIP. */
  readonly serviceSubnets: readonly Cidr[];
  readonly dnsDomain: string;
  readonly apiServer: { readonly certSANs: readonly string[]; readonly bindPort: number };
  readonly etcd: { readonly serverCertSANs: readonly string[]; readonly peerCertSANs: readonly string[] };
  readonly keyAlgorithm: KeyAlgorithm;
  readonly validity: ValidityHours;
  /** `protect` the CA resources so no deployment can delete or replace them (a declared rotation still can). */
  readonly protectCAs: boolean;
  readonly caKeys: CaKeyPlacement;
  /** Trust roots brought in from an existing cluster instead of made (generation 1). */
  readonly adopt: Partial<Record<TrustRoot, AdoptedRoot>>;
  /** Trust roots being rotated, with their phase. */
  readonly rotation: Partial<Record<TrustRoot, RotationSpec>>;
  readonly delivery: DeliverySpec;
  readonly publication: PublicationSpec;
  readonly nodes: readonly NodeSpec[];
  readonly users: readonly UserSpec[];
}

/** Where the render writes the extra users' kubeconfigs, beside the node directories of a cluster. */
export const RENDER_USERS_DIR = "users";

/** Thrown with every problem found; `problems` are `path: message` lines. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[], source = "kube-pki:clusters") {
    super(`${source} is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
      problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

// ---- a small walker that records problems by path ----------------------------------------------------------------

class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
}

// Numbers as JavaScript writes them: JSON would show YAML's .inf as null.
const show = (v: unknown): string => (typeof v === "number" ? String(v) : JSON.stringify(v) ?? String(v));

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
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

/** Checks `value` is an object and has only `keys`; unknown keys (typos) are problems with a suggestion. */
function object(p: Problems, path: string, value: unknown, keys: readonly string[]): Record<string, unknown> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    p.add(path, `must be an object, got ${show(value)}`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (keys.includes(key)) continue;
    const best = suggestion(keys, key);
    p.add(`${path}.${key}`, `unknown key${best ? ` (did you mean "${best}"?)` : ""}; known keys: ${keys.join(", ")}`);
  }
  return value as Record<string, unknown>;
}

function optionalString(p: Problems, path: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.trim() === "") {
    p.add(path, `must be a non-empty string, got ${show(value)}`);
    return undefined;
  }
  return value;
}

function requiredString(p: Problems, path: string, value: unknown): string | undefined {
  if (value === undefined || value === null) {
    p.add(path, "is required");
    return undefined;
  }
  return optionalString(p, path, value);
}

function oneOf<T extends string>(p: Problems, path: string, value: unknown, allowed: readonly T[], dflt?: T): T | undefined {
  if ((value === undefined || value === null) && dflt !== undefined) return dflt;
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  p.add(path, `${value === undefined ? "is required" : `${show(value)} is not one of`} ${allowed.join(", ")}`.replace(
    "is required ", "is required: one of "));
  return undefined;
}

function wholeNumber(p: Problems, path: string, value: unknown, dflt: number, b: Bounds): number | undefined {
  if (value === undefined || value === null) return dflt;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < b.min || value > b.max) {
    p.add(path, `must be ${b.what} from ${b.min} to ${b.maxText ?? b.max}, got ${show(value)}`);
    return undefined;
  }
  return value;
}

function boolean(p: Problems, path: string, value: unknown, dflt: boolean): boolean {
  if (value === undefined || value === null) return dflt;
  if (typeof value !== "boolean") {
    p.add(path, `must be true or false, got ${show(value)}`);
    return dflt;
  }
  return value;
}

function list(p: Problems, path: string, value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    p.add(path, `must be a list, got ${show(value)}`);
    return [];
  }
  return value;
}

/** Extra SANs: an IP, an RFC 1123 subdomain or a wildcard one (docs/kubeadm.md §2 rule 5). kubeadm skips other
 * entries with a warning; we refuse them, since a SAN silently missing is the outage this tool exists to prevent. */
function sanList(p: Problems, path: string, value: unknown): string[] {
  const out: string[] = [];
  list(p, path, value).forEach((san, i) => {
    if (typeof san === "string" && hasIpv6Zone(san)) {
      p.add(`${path}[${i}]`, zoneMessage(san));
    } else if (typeof san === "string" && isIpAddress(san) && notAHostAddress(san)) {
      p.add(`${path}[${i}]`, notAHostMessage(san));
    } else if (typeof san !== "string" ||
      !(isIpAddress(san) || isDns1123Subdomain(san) || isWildcardDns1123Subdomain(san))) {
      p.add(`${path}[${i}]`, `${show(san)} is neither an IP address nor a DNS name (RFC 1123, lower case, optional leading "*.")`);
    } else {
      out.push(isIpAddress(san) ? canonicalIp(san) : san);
    }
  });
  return out;
}

/** For an IP address that names no host (see net.ts NOT_A_HOST). */
const notAHostMessage = (ip: string) => `${show(ip)} is not a host's address: it is ${notAHostAddress(ip)}`;

/**
 * Paths in one canonical form, so that one directory has one identity: `.` and `..` components are refused
 * (`dotComponent`), repeated and trailing slashes collapse here.
 */
const canonicalPath = (path: string) => path.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
const dotComponent = (path: string) => path.split("/").some((c) => c === "." || c === "..");
const dotMessage = (path: string) => `${show(path)} has a "." or ".." component: write the path without them`;

const zoneMessage = (ip: string) =>
  `${show(ip)} is an IPv6 address with a zone (${show(ip.slice(ip.indexOf("%")))}); a certificate cannot carry a zone: give the address without it`;

function duplicates<T>(items: readonly T[], key: (t: T) => string): Map<string, number[]> {
  const seen = new Map<string, number[]>();
  items.forEach((item, i) => seen.set(key(item), [...(seen.get(key(item)) ?? []), i]));
  return new Map([...seen].filter(([, idx]) => idx.length > 1));
}

// ---- the schema ---------------------------------------------------------------------------------------------------

const CLUSTER_KEYS = ["name", "clusterName", "controlPlaneEndpoint", "serviceSubnet", "dnsDomain", "apiServer", "etcd",
  "keyAlgorithm", "validity", "protectCAs", "caKeys", "adopt", "rotation", "delivery", "publication", "nodes", "users"] as const;

const PEM_BLOCK = (type: string) => new RegExp(`^-----BEGIN ${type}-----\\n[A-Za-z0-9+/=\\n]+-----END ${type}-----\\n?$`);

/**
 * A section keyed by trust root (`adopt`, `rotation`): each present root's entry checked as an object with `fields`,
 * then read by `read` (undefined when it has problems).
 */
function perTrustRoot<T>(p: Problems, path: string, value: unknown, fields: (root: TrustRoot) => string[],
  read: (root: TrustRoot, at: string, entry: Record<string, unknown>) => T | undefined): Partial<Record<TrustRoot, T>> {
  if (value === undefined || value === null) return {};
  const o = object(p, path, value, TRUST_ROOTS.map((r) => TRUST_ROOT_KEYS[r])) ?? {};
  const out: Partial<Record<TrustRoot, T>> = {};
  for (const root of TRUST_ROOTS) {
    const at = `${path}.${TRUST_ROOT_KEYS[root]}`;
    const raw = o[TRUST_ROOT_KEYS[root]];
    if (raw === undefined || raw === null) continue;
    const entry = object(p, at, raw, fields(root));
    const v = entry && read(root, at, entry);
    if (v !== undefined) out[root] = v;
  }
  return out;
}

/** `adopt`: the trust roots of an existing cluster (their certificates here, their keys in secret config keys). */
function validateAdopt(p: Problems, path: string, value: unknown, clusterName: string | undefined): ClusterSpec["adopt"] {
  const fieldOf = (root: TrustRoot) => (root === "sa" ? "publicKey" : "certificate");
  return perTrustRoot<AdoptedRoot>(p, path, value, (root) => [fieldOf(root), "keyConfig"], (root, at, a) => {
    const field = fieldOf(root);
    const pem = requiredString(p, `${at}.${field}`, a[field]);
    const normal = pem?.replace(/\r\n/g, "\n").trim().concat("\n");
    if (normal !== undefined && !PEM_BLOCK(root === "sa" ? "PUBLIC KEY" : "CERTIFICATE").test(normal)) {
      p.add(`${at}.${field}`, `must be one PEM ${root === "sa" ? "PUBLIC KEY" : "CERTIFICATE"} block`);
    }
    const keyConfig = optionalString(p, `${at}.keyConfig`, a.keyConfig) ?? `adopted-${clusterName ?? "cluster"}-${root}-key`;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(keyConfig)) p.add(`${at}.keyConfig`, `${show(keyConfig)} is not a config key name`);
    return normal === undefined ? undefined : { pem: normal, keyConfig };
  });
}

/** `rotation`: per trust root, the generation being rotated to and the phase (add, switch, drop). */
function validateRotation(p: Problems, path: string, value: unknown): ClusterSpec["rotation"] {
  return perTrustRoot<RotationSpec>(p, path, value, () => ["generation", "phase"], (_root, at, r) => {
    const generation = wholeNumber(p, `${at}.generation`, r.generation, 2, BOUNDS.generation);
    const phase = oneOf(p, `${at}.phase`, r.phase, ROTATION_PHASES);
    return generation !== undefined && phase !== undefined ? { generation, phase } : undefined;
  });
}

function validatePublication(p: Problems, path: string, value: unknown, clusterName: string | undefined): PublicationSpec {
  const o = value === undefined ? {} : object(p, path, value, ["kubeadmConfig", "managementCluster"]) ?? {};
  const kubeadmConfig = boolean(p, `${path}.kubeadmConfig`, o.kubeadmConfig, false);
  if (o.managementCluster === undefined || o.managementCluster === null) return { kubeadmConfig };
  const m = object(p, `${path}.managementCluster`, o.managementCluster, ["kubeconfigConfig", "namespace", "clusterName", "includeCaKeys"]) ?? {};
  const namespace = optionalString(p, `${path}.managementCluster.namespace`, m.namespace) ?? "default";
  if (!isDns1123Label(namespace)) p.add(`${path}.managementCluster.namespace`, `${show(namespace)} is not a namespace name (RFC 1123 label)`);
  const capiName = optionalString(p, `${path}.managementCluster.clusterName`, m.clusterName) ?? clusterName ?? "";
  if (capiName && !isDns1123Subdomain(capiName)) p.add(`${path}.managementCluster.clusterName`, `${show(capiName)} is not an RFC 1123 subdomain`);
  return {
    kubeadmConfig,
    managementCluster: {
      kubeconfigConfig: optionalString(p, `${path}.managementCluster.kubeconfigConfig`, m.kubeconfigConfig) ?? "managementKubeconfig",
      namespace, clusterName: capiName,
      includeCaKeys: boolean(p, `${path}.managementCluster.includeCaKeys`, m.includeCaKeys, false),
    },
  };
}

const SSH_HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}( \S.*)?$/;

function validateDelivery(p: Problems, path: string, value: unknown): DeliverySpec | undefined {
  const o = value === undefined ? {} : object(p, path, value, ["mode", "localDirectory", "removeFiles", "healthCheck",
    "healthCheckTimeoutSeconds", "restart", "sshAuth", "sshPrivateKeyConfig"]);
  if (!o) return undefined;
  const mode = oneOf(p, `${path}.mode`, o.mode, DELIVERY_MODES, "none");
  const localDirectory = optionalString(p, `${path}.localDirectory`, o.localDirectory);
  if (localDirectory !== undefined && !SHELL_WORD.test(localDirectory)) {
    p.add(`${path}.localDirectory`, `${show(localDirectory)} may only contain letters, digits and _ . / : @ % + = , - (no ~, spaces or quotes)`);
  } else if (localDirectory !== undefined && dotComponent(localDirectory)) p.add(`${path}.localDirectory`, dotMessage(localDirectory));
  const restartRaw = o.restart === undefined ? {} : object(p, `${path}.restart`, o.restart, READERS) ?? {};
  const restart = { ...DEFAULT_RESTART_COMMANDS };
  for (const reader of READERS) {
    const v = restartRaw[reader];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string") p.add(`${path}.restart.${reader}`, `must be a command string ("" disables it), got ${show(v)}`);
    else restart[reader] = v;
  }
  const sshAuth = oneOf(p, `${path}.sshAuth`, o.sshAuth, SSH_AUTH, "key");
  const sshPrivateKeyConfig = optionalString(p, `${path}.sshPrivateKeyConfig`, o.sshPrivateKeyConfig) ?? "sshPrivateKey";
  if (sshAuth === "agent" && o.sshPrivateKeyConfig !== undefined) {
    p.add(`${path}.sshPrivateKeyConfig`, `is not used with sshAuth "agent" (the key comes from the ssh-agent): remove one of them`);
  }
  const timeout = wholeNumber(p, `${path}.healthCheckTimeoutSeconds`, o.healthCheckTimeoutSeconds, 120, BOUNDS.healthCheckTimeoutSeconds);
  if (mode === undefined || timeout === undefined || sshAuth === undefined) return undefined;
  return {
    mode, localDirectory, restart, sshAuth, sshPrivateKeyConfig, healthCheckTimeoutSeconds: timeout,
    removeFiles: boolean(p, `${path}.removeFiles`, o.removeFiles, false),
    healthCheck: boolean(p, `${path}.healthCheck`, o.healthCheck, true),
  };
}

function validateSsh(p: Problems, path: string, value: unknown, address: string | undefined): SshTarget | undefined {
  if (value === undefined) {
    p.add(path, "is required when the cluster delivers over SSH (at least { hostKey: \"ssh-ed25519 AAAA…\" })");
    return undefined;
  }
  const o = object(p, path, value, ["host", "port", "user", "hostKey", "root"]);
  if (!o) return undefined;
  const host = optionalString(p, `${path}.host`, o.host) ?? address;
  if (host !== undefined && !(isIpAddress(host) || isDns1123Subdomain(host))) p.add(`${path}.host`, `${show(host)} is neither an IP address nor a DNS name`);
  // The node's own address (the default) was judged at nodes[].address.
  else if (host !== undefined && host !== address && isIpAddress(host) && notAHostAddress(host)) p.add(`${path}.host`, notAHostMessage(host));
  const port = wholeNumber(p, `${path}.port`, o.port, 22, BOUNDS.port);
  const user = optionalString(p, `${path}.user`, o.user) ?? "root";
  if (!/^[a-z_][a-z0-9_.-]*$/i.test(user)) p.add(`${path}.user`, `${show(user)} is not a user name`);
  const hostKey = requiredString(p, `${path}.hostKey`, o.hostKey);
  if (hostKey !== undefined && !SSH_HOST_KEY.test(hostKey.trim())) {
    p.add(`${path}.hostKey`, "is not an SSH public key in authorized_keys format (e.g. the output of ssh-keyscan without the host name)");
  } else if (hostKey !== undefined && hostKey.trim().startsWith("ssh-rsa ")) {
    // The command provider pins the key with golang.org/x/crypto/ssh, which then offers only the key's own algorithm
    // name: for an RSA key that is SHA-1 "ssh-rsa", which OpenSSH 8.8 and later refuse to sign with.
    p.add(`${path}.hostKey`, "an ssh-rsa host key cannot be pinned: the SSH client of the command provider would offer only " +
      "SHA-1 RSA signatures, which OpenSSH 8.8+ servers refuse; pin the node's ed25519 or ECDSA host key " +
      "(ssh-keyscan -t ed25519 <address>)");
  }
  const root = optionalString(p, `${path}.root`, o.root) ?? "/";
  if (!root.startsWith("/") || !SHELL_WORD.test(root)) p.add(`${path}.root`, `${show(root)} must be an absolute path of letters, digits and _ . / : @ % + = , -`);
  else if (dotComponent(root)) p.add(`${path}.root`, dotMessage(root));
  if (host === undefined || port === undefined || hostKey === undefined) return undefined;
  return { host, port, user, hostKey: hostKey.trim().split(" ").slice(0, 2).join(" "), root };
}

function validateEndpoint(p: Problems, path: string, value: unknown, bindPort: number): ControlPlaneEndpoint | undefined {
  const text = optionalString(p, path, value);
  if (text === undefined) return undefined;
  if (text.includes("/")) {
    p.add(path, `${show(text)} must be host or host:port, without a scheme or path`);
    return undefined;
  }
  const { host, port } = splitHostPort(text);
  let ok = true;
  if (!(isIpAddress(host) || isDns1123Subdomain(host))) {
    p.add(path, `${show(text)}: host ${show(host)} is neither an IP address nor a DNS name`);
    ok = false;
  } else if (isIpAddress(host) && notAHostAddress(host)) {
    p.add(path, `${show(text)}: host ${notAHostMessage(host)}`);
    ok = false;
  }
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    p.add(path, `${show(text)}: port ${show(port)} is not a number from 1 to 65535`);
    ok = false;
  }
  return ok ? { host: isIpAddress(host) ? canonicalIp(host) : host, port: port === undefined ? bindPort : Number(port) } : undefined;
}

/**
 * kubeadm's service-subnet rules (v1.36 cmd/kubeadm/app/apis/kubeadm/validation ValidateNetworking): one CIDR, or two
 * of different families (dual-stack), each of at least MinimumAddressesInServiceSubnet = 10 addresses
 * (ValidateIPNetFromString) and at most MaximumBitsForServiceSubnet = 20 host bits (ValidateServiceSubnetSize), for
 * IPv4 and IPv6 alike. kubeadm is the stricter one: kube-apiserver v1.36 wants 8 addresses (pkg/controlplane/apiserver/
 * options ServiceIPRange) and an IPv6 prefix of /64 or longer (pkg/registry/core/service/ipallocator NewIPAllocator),
 * and no longer applies its own 20-bit limit (cmd/kube-apiserver/app/options/validation.go validateClusterIPFlags skips
 * it now that MultiCIDRServiceAllocator and DisableAllocatorDualWrite are GA and locked on). kubeadm does not refuse
 * a range that holds addresses of no host (0.0.0.0/0 only as too large, 224.0.0.0/12 not at all): we do (NOT_A_HOST
 * in net.ts), as its VIP becomes an apiserver SAN and the service IPs would not be unicast.
 */
function validateServiceSubnet(p: Problems, path: string, value: unknown): Cidr[] {
  const text = requiredString(p, path, value);
  if (text === undefined) return [];
  const parts = text.split(",").map((s) => s.trim());
  const cidrs: Cidr[] = [];
  parts.forEach((part) => {
    const parsed = parseCidr(part);
    if (typeof parsed === "string") return p.add(path, `${show(part)} ${parsed}`);
    const bits = parsed.family === 4 ? 32 : 128;
    const notAHost = notAHostRange(parsed);
    if (notAHost) p.add(path, `${show(part)} cannot be a service subnet: it holds ${notAHost}`);
    // 2^4 = 16 is the smallest range of at least 10 addresses.
    else if (cidrHostBits(parsed) < 4) p.add(path, `${show(part)} is too small: kubeadm needs at least 10 addresses (prefix /${bits - 4} or shorter)`);
    else if (cidrHostBits(parsed) > 20) p.add(path, `${show(part)} is too large: kubeadm allows at most 20 host bits (prefix /${bits - 20} or longer)`);
    else cidrs.push(parsed);
  });
  if (parts.length > 2) p.add(path, `${show(text)} has ${parts.length} CIDRs; at most two (one IPv4, one IPv6) are allowed`);
  if (cidrs.length === 2 && cidrs[0]!.family === cidrs[1]!.family) {
    p.add(path, `${show(text)}: a dual-stack service subnet needs one IPv4 and one IPv6 CIDR`);
  }
  return cidrs;
}

/** `sshMode` undefined: the delivery setting is itself invalid (reported there), so node SSH settings are not judged. */
function validateNode(p: Problems, path: string, value: unknown, sshMode: boolean | undefined): NodeSpec | undefined {
  const o = object(p, path, value, ["name", "role", "address", "ssh"]);
  if (!o) return undefined;
  const name = requiredString(p, `${path}.name`, o.name);
  if (name !== undefined && !isDns1123Subdomain(name)) {
    p.add(`${path}.name`, `${show(name)} is not a valid node name (RFC 1123 subdomain: lower-case letters, digits, "-" and ".")`);
  }
  const role = oneOf(p, `${path}.role`, o.role, NODE_ROLES);
  const address = requiredString(p, `${path}.address`, o.address);
  if (address !== undefined && hasIpv6Zone(address)) p.add(`${path}.address`, zoneMessage(address));
  else if (address !== undefined && !isIpAddress(address)) p.add(`${path}.address`, `${show(address)} is not an IP address`);
  else if (address !== undefined && notAHostAddress(address)) p.add(`${path}.address`, notAHostMessage(address));
  const ssh = sshMode ? validateSsh(p, `${path}.ssh`, o.ssh, address) : undefined;
  if (sshMode === false && o.ssh !== undefined) p.add(`${path}.ssh`, `is only used when delivery.mode is "ssh"`);
  if (name === undefined || role === undefined || address === undefined) return undefined;
  return { name, role, address: isIpAddress(address) ? canonicalIp(address) : address, ...(ssh ? { ssh } : {}) };
}

/**
 * Extra client identities. Any number of groups (two or more go through GroupsCertRequest, as tls.CertRequest
 * carries one organization). `system:masters` bypasses RBAC and cannot be revoked before the certificate expires:
 * only as a declared break-glass identity.
 */
function validateUser(p: Problems, path: string, value: unknown): UserSpec | undefined {
  const o = object(p, path, value, ["name", "groups", "breakGlass"]);
  if (!o) return undefined;
  const name = requiredString(p, `${path}.name`, o.name);
  if (name !== undefined && !isDns1123Subdomain(name)) {
    p.add(`${path}.name`, `${show(name)} is not a valid user name here (RFC 1123 subdomain: it names resources and files)`);
  }
  if (name !== undefined && (name.startsWith("system:") || name.startsWith("kubernetes-"))) {
    p.add(`${path}.name`, `${show(name)} is reserved for the identities kube-pki issues itself`);
  }
  const groups: string[] = [];
  list(p, `${path}.groups`, o.groups).forEach((g, i) => {
    if (typeof g !== "string" || g.trim() === "") p.add(`${path}.groups[${i}]`, `must be a non-empty string, got ${show(g)}`);
    else if (/[\u0000-\u001f\u007f]/.test(g)) p.add(`${path}.groups[${i}]`, `${show(g)} holds a control character (a newline?)`);
    else groups.push(g);
  });
  for (const [dup, idx] of duplicates(groups, (g) => g)) p.add(`${path}.groups[${idx[1]}]`, `${show(dup)} is listed twice`);
  const breakGlass = boolean(p, `${path}.breakGlass`, o.breakGlass, false);
  if (groups.includes("system:masters") && !breakGlass) {
    p.add(`${path}.groups`, `"system:masters" bypasses RBAC and cannot be revoked before the certificate expires; use ` +
      `"kubeadm:cluster-admins" (what admin.conf has), or declare an emergency identity with breakGlass: true`);
  }
  if (breakGlass && !groups.includes("system:masters")) {
    p.add(`${path}.breakGlass`, `is only for a user in "system:masters"`);
  }
  return name === undefined ? undefined : { name, groups, breakGlass };
}

function validateCluster(p: Problems, path: string, value: unknown): ClusterSpec | undefined {
  const o = object(p, path, value, CLUSTER_KEYS);
  if (!o) return undefined;
  const errorsBefore = p.list.length;

  const name = requiredString(p, `${path}.name`, o.name);
  if (name !== undefined && !isDns1123Label(name)) {
    p.add(`${path}.name`, `${show(name)} is not an RFC 1123 label (lower-case letters, digits and "-", at most 63)`);
  }
  const clusterName = optionalString(p, `${path}.clusterName`, o.clusterName) ?? DEFAULTS.clusterName;
  if (!isDns1123Subdomain(clusterName)) p.add(`${path}.clusterName`, `${show(clusterName)} is not an RFC 1123 subdomain`);
  const dnsDomain = optionalString(p, `${path}.dnsDomain`, o.dnsDomain) ?? DEFAULTS.dnsDomain;
  if (!isDns1123Subdomain(dnsDomain)) p.add(`${path}.dnsDomain`, `${show(dnsDomain)} is not a DNS domain (RFC 1123 subdomain)`);
  const serviceSubnets = validateServiceSubnet(p, `${path}.serviceSubnet`, o.serviceSubnet);

  const apiServerRaw = o.apiServer === undefined ? {} : object(p, `${path}.apiServer`, o.apiServer, ["certSANs", "bindPort"]) ?? {};
  const bindPort = wholeNumber(p, `${path}.apiServer.bindPort`, apiServerRaw.bindPort, DEFAULTS.bindPort, BOUNDS.port) ?? DEFAULTS.bindPort;
  const certSANs = sanList(p, `${path}.apiServer.certSANs`, apiServerRaw.certSANs);
  const etcdRaw = o.etcd === undefined ? {} : object(p, `${path}.etcd`, o.etcd, ["serverCertSANs", "peerCertSANs"]) ?? {};
  const serverCertSANs = sanList(p, `${path}.etcd.serverCertSANs`, etcdRaw.serverCertSANs);
  const peerCertSANs = sanList(p, `${path}.etcd.peerCertSANs`, etcdRaw.peerCertSANs);
  const controlPlaneEndpoint = validateEndpoint(p, `${path}.controlPlaneEndpoint`, o.controlPlaneEndpoint, bindPort);

  const keyAlgorithm = oneOf(p, `${path}.keyAlgorithm`, o.keyAlgorithm, KEY_ALGORITHMS, DEFAULTS.keyAlgorithm);
  const validityRaw = o.validity === undefined ? {} :
    object(p, `${path}.validity`, o.validity, ["caHours", "leafHours", "earlyRenewalHours"]) ?? {};
  const caHours = wholeNumber(p, `${path}.validity.caHours`, validityRaw.caHours, DEFAULTS.caHours, BOUNDS.caHours);
  const leafHours = wholeNumber(p, `${path}.validity.leafHours`, validityRaw.leafHours, DEFAULTS.leafHours, BOUNDS.leafHours);
  const earlyRenewalHours = wholeNumber(p, `${path}.validity.earlyRenewalHours`, validityRaw.earlyRenewalHours,
    Math.min(DEFAULTS.earlyRenewalHours, Math.floor((leafHours ?? DEFAULTS.leafHours) / 2)), BOUNDS.earlyRenewalHours);
  if (caHours !== undefined && leafHours !== undefined && leafHours > caHours) {
    p.add(`${path}.validity.leafHours`, `${leafHours} h is longer than the CA validity (${caHours} h): a leaf must not outlive its CA`);
  }
  if (leafHours !== undefined && earlyRenewalHours !== undefined && earlyRenewalHours >= leafHours) {
    p.add(`${path}.validity.earlyRenewalHours`, `${earlyRenewalHours} h is not shorter than leafHours (${leafHours} h): ` +
      `every leaf would be re-issued on every pulumi up (tls provider rule)`);
  }
  const protectCAs = boolean(p, `${path}.protectCAs`, o.protectCAs, false);
  const caKeys = oneOf(p, `${path}.caKeys`, o.caKeys, CA_KEY_PLACEMENTS, DEFAULTS.caKeys);
  const adopt = validateAdopt(p, `${path}.adopt`, o.adopt, name);
  const rotation = validateRotation(p, `${path}.rotation`, o.rotation);

  const delivery = validateDelivery(p, `${path}.delivery`, o.delivery);
  const publication = validatePublication(p, `${path}.publication`, o.publication, name);
  const nodesRaw = list(p, `${path}.nodes`, o.nodes);
  const nodes = nodesRaw.map((n, i) => validateNode(p, `${path}.nodes[${i}]`, n, delivery && delivery.mode === "ssh"));
  const validNodes = nodes.filter((n): n is NodeSpec => n !== undefined);
  // A non-list was reported as such by list(); only a real empty list is "empty".
  if (nodesRaw.length === 0 && (o.nodes === undefined || o.nodes === null || Array.isArray(o.nodes))) {
    p.add(`${path}.nodes`, "is empty: a cluster needs at least one control-plane node");
  }
  else if (nodesRaw.length > 0 && validNodes.length === nodes.length && !validNodes.some((n) => n.role === "control-plane")) {
    p.add(`${path}.nodes`, "has no node with role control-plane");
  }
  for (const [dup, idx] of duplicates(validNodes, (n) => n.name)) {
    p.add(`${path}.nodes[${nodes.indexOf(validNodes[idx[1]!])}].name`, `${show(dup)} is used by more than one node`);
  }
  for (const [dup, idx] of duplicates(validNodes, (n) => n.address)) {
    p.add(`${path}.nodes[${nodes.indexOf(validNodes[idx[1]!])}].address`, `${show(dup)} is used by more than one node`);
  }
  validNodes.forEach((n) => {
    if (n.name === RENDER_USERS_DIR || n.name.endsWith(".conf")) {
      p.add(`${path}.nodes[${nodes.indexOf(n)}].name`, `${show(n.name)} collides with what the render writes beside the node ` +
        `directories (admin.conf, ${RENDER_USERS_DIR}/<user>.conf): choose another node name`);
    }
  });
  const users = list(p, `${path}.users`, o.users).map((u, i) => validateUser(p, `${path}.users[${i}]`, u));
  const validUsers = users.filter((u): u is UserSpec => u !== undefined);
  for (const [dup, idx] of duplicates(validUsers, (u) => u.name)) {
    p.add(`${path}.users[${users.indexOf(validUsers[idx[1]!])}].name`, `${show(dup)} is used by more than one user`);
  }

  if (p.list.length > errorsBefore || name === undefined || keyAlgorithm === undefined || caKeys === undefined ||
    delivery === undefined || caHours === undefined || leafHours === undefined || earlyRenewalHours === undefined) return undefined;
  return {
    name, clusterName, controlPlaneEndpoint, serviceSubnets, dnsDomain,
    apiServer: { certSANs, bindPort }, etcd: { serverCertSANs, peerCertSANs },
    keyAlgorithm, validity: { caHours, leafHours, earlyRenewalHours }, protectCAs, caKeys, adopt, rotation, delivery, publication,
    nodes: validNodes, users: validUsers,
  };
}

/**
 * Validates the raw value of `kube-pki:clusters` (a JSON list of clusters). Returns the clusters with defaults
 * filled in, or throws one ConfigError listing every problem with its path (`clusters[0].nodes[2].address: ...`).
 */
export function validateClusters(raw: unknown): ClusterSpec[] {
  const p = new Problems();
  if (raw === undefined || raw === null) {
    throw new ConfigError(["clusters: is not set (pulumi config set --path 'clusters[0].name' dev, or see the README)"]);
  }
  if (!Array.isArray(raw)) throw new ConfigError([`clusters: must be a list of clusters, got ${show(raw)}`]);
  if (raw.length === 0) throw new ConfigError(["clusters: is empty: configure at least one cluster"]);
  const clusters = raw.map((c, i) => validateCluster(p, `clusters[${i}]`, c));
  const valid = clusters.filter((c): c is ClusterSpec => c !== undefined);
  for (const [dup, idx] of duplicates(valid, (c) => c.name)) {
    p.add(`clusters[${clusters.indexOf(valid[idx[1]!])}].name`, `${show(dup)} is used by more than one cluster`);
  }
  // Two nodes installing into one filesystem would fight over the same files (and each one's entitlements would
  // remove the other's): one node per (host, port, root) in the whole stack, each in canonical form. ssh.host and
  // ssh.root stay as written in the spec: they are in every delivery command of a deployed stack.
  const targets = new Map<string, string>();
  valid.forEach((c) => c.nodes.forEach((n, ni) => {
    if (!n.ssh) return;
    const host = isIpAddress(n.ssh.host) ? canonicalIp(n.ssh.host) : n.ssh.host.toLowerCase();
    const target = `${host.includes(":") ? `[${host}]` : host}:${n.ssh.port} ${canonicalPath(n.ssh.root)}`;
    const where = `clusters[${clusters.indexOf(c)}].nodes[${ni}]`;
    const first = targets.get(target);
    if (first) p.add(`${where}.ssh`, `${target} is also the SSH target of ${first} (two nodes would install into one filesystem)`);
    else targets.set(target, where);
  }));
  if (p.list.length > 0) throw new ConfigError(p.list);
  return valid;
}
