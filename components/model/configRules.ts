// The config rules JSON Schema cannot state, as small named functions: parsing (IP addresses, CIDRs, host:port, PEM
// blocks, SSH keys), relations between values, uniqueness by a derived key, canonical forms. config.ts runs them after
// the schema check (configSchema.ts): value rules on each value that passed its schema, cluster rules on each checked
// cluster (a value that failed is null there, already reported), stack rules on the resolved clusters. Each returns
// its problems, `path: message` lines for the cluster and stack rules.
import type { ClusterSpec } from "./config";
import { Checked, ClusterValue } from "./configSchema";
import {
  canonicalIp,
  cidrHostBits,
  hasIpv6Zone,
  isDns1123Subdomain,
  isIpAddress,
  isWildcardDns1123Subdomain,
  notAHostAddress,
  notAHostRange,
  parseCidr,
  splitHostPort,
} from "./net";

// Numbers as JavaScript writes them: JSON would show YAML's .inf as null.
export const show = (v: unknown): string => (typeof v === "number" ? String(v) : (JSON.stringify(v) ?? String(v)));

export function duplicates<T>(items: readonly T[], key: (t: T) => string | undefined): Map<string, number[]> {
  const seen = new Map<string, number[]>();
  items.forEach((item, i) => {
    const k = key(item);
    if (k !== undefined) seen.set(k, [...(seen.get(k) ?? []), i]);
  });
  return new Map([...seen].filter(([, idx]) => idx.length > 1));
}

/**
 * Paths in one canonical form, so that one directory has one identity: `.` and `..` components are refused (the
 * schema's DOT_COMPONENT), repeated and trailing slashes collapse here.
 */
export const canonicalPath = (path: string) => path.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");

// ---- one value ---------------------------------------------------------------------------------------------------

/** For an IP address that names no host (see net.ts NOT_A_HOST). */
const notAHost = (ip: string) => `${show(ip)} is not a host's address: it is ${notAHostAddress(ip)}`;
const zone = (ip: string) =>
  `${show(ip)} is an IPv6 address with a zone (${show(ip.slice(ip.indexOf("%")))}); a certificate cannot carry a zone: give the address without it`;

/** An IP address of one host: a node's address. */
function nodeAddress(address: string): string[] {
  if (hasIpv6Zone(address)) return [zone(address)];
  if (!isIpAddress(address)) return [`${show(address)} is not an IP address`];
  return notAHostAddress(address) ? [notAHost(address)] : [];
}

/** Extra SANs: an IP, an RFC 1123 subdomain or a wildcard one (docs/kubeadm.md §2 rule 5). kubeadm skips other
 * entries with a warning; we refuse them, since a SAN silently missing is the outage this tool exists to prevent. */
function san(name: string): string[] {
  if (hasIpv6Zone(name)) return [zone(name)];
  if (isIpAddress(name)) return notAHostAddress(name) ? [notAHost(name)] : [];
  return isDns1123Subdomain(name) || isWildcardDns1123Subdomain(name)
    ? []
    : [`${show(name)} is neither an IP address nor a DNS name (RFC 1123, lower case, optional leading "*.")`];
}

/** `host` or `host:port`, the host an IP address of one host or a DNS name. */
function controlPlaneEndpoint(text: string): string[] {
  if (text.includes("/")) return [`${show(text)} must be host or host:port, without a scheme or path`];
  const { host, port } = splitHostPort(text);
  const problems: string[] = [];
  if (!(isIpAddress(host) || isDns1123Subdomain(host)))
    problems.push(`${show(text)}: host ${show(host)} is neither an IP address nor a DNS name`);
  else if (isIpAddress(host) && notAHostAddress(host)) problems.push(`${show(text)}: host ${notAHost(host)}`);
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    problems.push(`${show(text)}: port ${show(port)} is not a number from 1 to 65535`);
  }
  return problems;
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
function serviceSubnet(text: string): string[] {
  const parts = text.split(",").map((s) => s.trim());
  const problems: string[] = [];
  const families = parts.flatMap((part) => {
    const parsed = parseCidr(part);
    if (typeof parsed === "string") return (problems.push(`${show(part)} ${parsed}`), []);
    const bits = parsed.family === 4 ? 32 : 128;
    const holds = notAHostRange(parsed);
    if (holds) problems.push(`${show(part)} cannot be a service subnet: it holds ${holds}`);
    // 2^4 = 16 is the smallest range of at least 10 addresses.
    else if (cidrHostBits(parsed) < 4)
      problems.push(`${show(part)} is too small: kubeadm needs at least 10 addresses (prefix /${bits - 4} or shorter)`);
    else if (cidrHostBits(parsed) > 20)
      problems.push(`${show(part)} is too large: kubeadm allows at most 20 host bits (prefix /${bits - 20} or longer)`);
    else return [parsed.family];
    return [];
  });
  if (parts.length > 2) problems.push(`${show(text)} has ${parts.length} CIDRs; at most two (one IPv4, one IPv6) are allowed`);
  if (families.length === 2 && families[0] === families[1])
    problems.push(`${show(text)}: a dual-stack service subnet needs one IPv4 and one IPv6 CIDR`);
  return problems;
}

/** The SSH host to connect to: an IP address of one host or a DNS name (the default, the node's address, was judged
 * as that). */
function sshHost(host: string): string[] {
  if (!(isIpAddress(host) || isDns1123Subdomain(host))) return [`${show(host)} is neither an IP address nor a DNS name`];
  return notAHostAddress(host) ? [notAHost(host)] : [];
}

const SSH_HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}( \S.*)?$/;

/** A host key to pin. The command provider pins it with golang.org/x/crypto/ssh, which then offers only the key's own
 * algorithm name: for an RSA key that is SHA-1 "ssh-rsa", which OpenSSH 8.8 and later refuse to sign with. */
function sshHostKey(key: string): string[] {
  if (!SSH_HOST_KEY.test(key.trim()))
    return ["is not an SSH public key in authorized_keys format (e.g. the output of ssh-keyscan without the host name)"];
  return key.trim().startsWith("ssh-rsa ")
    ? [
        "an ssh-rsa host key cannot be pinned: the SSH client of the command provider would offer only " +
          "SHA-1 RSA signatures, which OpenSSH 8.8+ servers refuse; pin the node's ed25519 or ECDSA host key " +
          "(ssh-keyscan -t ed25519 <address>)",
      ]
    : [];
}

/** A PEM text as a file holds it: CRLF read as LF, one final newline. */
export const normalPem = (pem: string) => pem.replace(/\r\n/g, "\n").trim().concat("\n");
const pemBlock = (label: string) => {
  const block = new RegExp(`^-----BEGIN ${label}-----\\n[A-Za-z0-9+/=\\n]+-----END ${label}-----\\n?$`);
  return (pem: string) => (block.test(normalPem(pem)) ? [] : [`must be one PEM ${label} block`]);
};
const certificate = pemBlock("CERTIFICATE");

/** Value rules by where the value is in a cluster (`[]` an item of a list), each run on a value its schema accepts. */
export const VALUE_RULES: Readonly<Record<string, (value: string) => string[]>> = {
  controlPlaneEndpoint,
  serviceSubnet,
  "apiServer.certSANs[]": san,
  "etcd.serverCertSANs[]": san,
  "etcd.peerCertSANs[]": san,
  "adopt.ca.certificate": certificate,
  "adopt.frontProxyCa.certificate": certificate,
  "adopt.etcdCa.certificate": certificate,
  "adopt.serviceAccount.publicKey": pemBlock("PUBLIC KEY"),
  "nodes[].address": nodeAddress,
  "nodes[].ssh.host": sshHost,
  "nodes[].ssh.hostKey": sshHostKey,
};

// ---- a cluster: relations between its values ----------------------------------------------------------------------

type ClusterRule = (c: Checked<ClusterValue>, at: string) => string[];

/** Schema keywords that config.ts does not read: each is in the schema for editors and mirrors a rule below. */
export const MIRRORED_KEYWORDS = ["minItems", "contains", "if", "then", "else"] as const;

/** A leaf must not outlive its CA. */
const leafWithinCa: ClusterRule = (c, at) => {
  const { caHours, leafHours } = c.validity ?? {};
  return caHours != null && leafHours != null && leafHours > caHours
    ? [`${at}.validity.leafHours: ${leafHours} h is longer than the CA validity (${caHours} h): a leaf must not outlive its CA`]
    : [];
};

/** A window as long as the leaf's life would re-issue it on every `pulumi up` (the default, at most half, never is). */
const renewalWithinLeaf: ClusterRule = (c, at) => {
  const { leafHours, earlyRenewalHours } = c.validity ?? {};
  return leafHours != null && earlyRenewalHours != null && earlyRenewalHours >= leafHours
    ? [
        `${at}.validity.earlyRenewalHours: ${earlyRenewalHours} h is not shorter than leafHours (${leafHours} h): ` +
          `every leaf would be re-issued on every pulumi up (tls provider rule)`,
      ]
    : [];
};

/** The schema's `minItems` and `contains` of nodes, in kube-pki's words; judged once every node's role is known. */
const controlPlaneNode: ClusterRule = (c, at) => {
  if (!c.nodes) return [];
  if (c.nodes.length === 0) return [`${at}.nodes: is empty: a cluster needs at least one control-plane node`];
  const roles = c.nodes.map((n) => n?.role);
  return roles.every((r) => r != null) && !roles.includes("control-plane") ? [`${at}.nodes: has no node with role control-plane`] : [];
};

/** One name and one address per node; addresses compared canonically (`::ffff:10.0.0.1` is `10.0.0.1`). */
const uniqueNodes: ClusterRule = (c, at) => {
  const nodes = c.nodes ?? [];
  const lines: string[] = [];
  for (const [key, read] of [
    ["name", (n: (typeof nodes)[number]) => n?.name ?? undefined],
    ["address", (n: (typeof nodes)[number]) => (n?.address == null ? undefined : canonicalIp(n.address))],
  ] as const) {
    for (const [dup, idx] of duplicates(nodes, read))
      lines.push(`${at}.nodes[${idx[1]}].${key}: ${show(dup)} is used by more than one node`);
  }
  return lines;
};

/** A node's `ssh` is needed exactly when the cluster delivers over SSH (not judged while delivery.mode is invalid). */
const sshWhenDelivering: ClusterRule = (c, at) => {
  const mode = c.delivery?.mode;
  if (mode == null) return [];
  return (c.nodes ?? []).flatMap((n, i) => {
    if (mode === "ssh" && n && n.ssh === undefined) {
      return [`${at}.nodes[${i}].ssh: is required when the cluster delivers over SSH (at least { hostKey: "ssh-ed25519 AAAA…" })`];
    }
    return mode !== "ssh" && n?.ssh !== undefined ? [`${at}.nodes[${i}].ssh: is only used when delivery.mode is "ssh"`] : [];
  });
};

/** With sshAuth agent the key comes from the ssh-agent: a key config as well is a contradiction. */
const agentWithoutKeyConfig: ClusterRule = (c, at) =>
  c.delivery?.sshAuth === "agent" && c.delivery.sshPrivateKeyConfig !== undefined
    ? [`${at}.delivery.sshPrivateKeyConfig: is not used with sshAuth "agent" (the key comes from the ssh-agent): remove one of them`]
    : [];

/**
 * `system:masters` bypasses RBAC and cannot be revoked before the certificate expires: only as a declared
 * break-glass identity, and break-glass only for it.
 */
const mastersOnlyBreakGlass: ClusterRule = (c, at) =>
  (c.users ?? []).flatMap((u, i) => {
    if (!u?.groups || u.breakGlass == null) return [];
    const masters = u.groups.includes("system:masters");
    if (masters && !u.breakGlass) {
      return [
        `${at}.users[${i}].groups: "system:masters" bypasses RBAC and cannot be revoked before the certificate expires; use ` +
          `"kubeadm:cluster-admins" (what admin.conf has), or declare an emergency identity with breakGlass: true`,
      ];
    }
    return u.breakGlass && !masters ? [`${at}.users[${i}].breakGlass: is only for a user in "system:masters"`] : [];
  });

const uniqueUsers: ClusterRule = (c, at) =>
  [...duplicates(c.users ?? [], (u) => u?.name ?? undefined)].map(
    ([dup, idx]) => `${at}.users[${idx[1]}].name: ${show(dup)} is used by more than one user`,
  );

/**
 * TLS bootstrap needs a signer: the controller-manager signs kubelet CSRs with the cluster CA's key, so that key must be
 * on the control-plane nodes; it signs for bootstrap.signingHours, which must fit a leaf's validity.
 */
const bootstrapNeedsSigner: ClusterRule = (c, at) => {
  if (c.workers !== "bootstrap") return [];
  const problems: string[] = [];
  if (c.caKeys != null && c.caKeys !== "control-plane") {
    problems.push(
      `${at}.caKeys: workers: bootstrap needs caKeys: control-plane (the controller-manager signs kubelet certificates with the cluster CA's key), got ${show(c.caKeys)}`,
    );
  }
  const signing = c.bootstrap?.signingHours;
  const leaf = c.validity?.leafHours;
  if (signing != null && leaf != null && signing > leaf) {
    problems.push(`${at}.bootstrap.signingHours: ${signing} is longer than validity.leafHours (${leaf})`);
  }
  return problems;
};

export const CLUSTER_RULES: readonly ClusterRule[] = [
  leafWithinCa,
  renewalWithinLeaf,
  controlPlaneNode,
  uniqueNodes,
  sshWhenDelivering,
  agentWithoutKeyConfig,
  mastersOnlyBreakGlass,
  uniqueUsers,
  bootstrapNeedsSigner,
];

// ---- the stack: across clusters (each resolved, or undefined when it has problems) ------------------------------

type StackRule = (clusters: readonly (ClusterSpec | undefined)[]) => string[];

const uniqueClusterNames: StackRule = (clusters) =>
  [...duplicates(clusters, (c) => c?.name)].map(([dup, idx]) => `clusters[${idx[1]}].name: ${show(dup)} is used by more than one cluster`);

/**
 * Two nodes installing into one filesystem would fight over the same files (and each one's entitlements would remove
 * the other's): one node per (host, port, root) in the whole stack, each in canonical form. ssh.host and ssh.root
 * stay as written in the spec: they are in every delivery command of a deployed stack.
 */
const oneNodePerSshTarget: StackRule = (clusters) => {
  const targets = new Map<string, string>();
  return clusters.flatMap((c, ci) =>
    (c?.nodes ?? []).flatMap((n, ni) => {
      if (!n.ssh) return [];
      const host = isIpAddress(n.ssh.host) ? canonicalIp(n.ssh.host) : n.ssh.host.toLowerCase();
      const target = `${host.includes(":") ? `[${host}]` : host}:${n.ssh.port} ${canonicalPath(n.ssh.root)}`;
      const where = `clusters[${ci}].nodes[${ni}]`;
      const first = targets.get(target);
      if (first) return [`${where}.ssh: ${target} is also the SSH target of ${first} (two nodes would install into one filesystem)`];
      targets.set(target, where);
      return [];
    }),
  );
};

export const STACK_RULES: readonly StackRule[] = [uniqueClusterNames, oneNodePerSshTarget];
