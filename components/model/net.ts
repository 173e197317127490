// Pure address helpers: IP and CIDR parsing, DNS-name rules. No Pulumi here.
import { isIP } from "node:net";

/** RFC 1123 label: what Kubernetes calls a DNS label (cluster names, used in resource names and paths). */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain: dot-separated labels, at most 253 characters (Kubernetes node names). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && DNS1123_SUBDOMAIN.test(s) && s.split(".").every((l) => l.length <= 63);
}

/** `*.example.com`: what kubeadm accepts as a wildcard certSAN (k8s IsWildcardDNS1123Subdomain). */
export function isWildcardDns1123Subdomain(s: string): boolean {
  return s.startsWith("*.") && isDns1123Subdomain(s.slice(2));
}

/** An IP address as a certificate SAN or kubeadm takes it: no IPv6 zone (`fe80::1%eth0` is not one). */
export function isIpAddress(s: string): boolean {
  return !s.includes("%") && isIP(s) !== 0;
}

/** `fe80::1%eth0`: an IPv6 address with a zone, which Node's isIP accepts but no certificate can carry. */
export function hasIpv6Zone(s: string): boolean {
  return s.includes("%") && isIP(s) === 6;
}

/** An IPv6 address in RFC 5952 text (lower case, longest zero run as `::`): what the URL parser writes. */
const compressIpv6 = (ip: string): string => new URL(`http://[${ip}]/`).hostname.slice(1, -1);

/**
 * Canonical text of an IP address, so that one address has one identity: `::0:1` and `::1` are one SAN (kubeadm
 * compares parsed net.IPs), and an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, RFC 4291 §2.5.5.2) is its IPv4
 * address, as Go's net.ParseIP reads it and as an x509 SAN encodes it: the same node, the same SSH target, and the
 * plain IPv4 in SANs and kubeconfig servers. IPv4 is already canonical once `isIP` accepts it (Node rejects leading
 * zeros).
 */
export function canonicalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const value = ipToBigInt(ip);
  return value >> 32n === 0xffffn ? bigIntToIp(value & 0xffffffffn, 4) : compressIpv6(ip);
}

export interface Cidr {
  readonly family: 4 | 6;
  /** The network address as a bigint. */
  readonly network: bigint;
  readonly prefix: number;
  /** The CIDR as written by the user (already checked to be the network address). */
  readonly text: string;
}

function ipToBigInt(ip: string): bigint {
  if (isIP(ip) === 4) {
    return ip.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
  }
  // Expand "::" and embedded IPv4 into eight 16-bit groups.
  const [head = "", tail] = ip.split("::");
  const toGroups = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((g) => {
          if (g.includes(".")) {
            const v = Number(ipToBigInt(g));
            return [v >>> 16, v & 0xffff];
          }
          return [parseInt(g, 16)];
        });
  const h = toGroups(head);
  const t = tail === undefined ? [] : toGroups(tail);
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

function bigIntToIp(value: bigint, family: 4 | 6): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join(".");
  }
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((value >> s) & 0xffffn).toString(16));
  return compressIpv6(groups.join(":"));
}

/**
 * Parses `a.b.c.d/n` or `v6/n`. Returns an error text instead of throwing so that validation can collect
 * every problem at once. Host bits must be zero: `10.96.0.1/12` is almost always a typo for `10.96.0.0/12`.
 */
export function parseCidr(text: string): Cidr | string {
  const slash = text.indexOf("/");
  if (slash < 0) return "is not a CIDR (expected address/prefix, e.g. 10.96.0.0/12)";
  const addr = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const family = isIpAddress(addr) ? isIP(addr) : 0;
  if (family === 0) return "is not a CIDR: the address part is not an IP address";
  if (!/^\d{1,3}$/.test(prefixText)) return "is not a CIDR: the prefix is not a number";
  const prefix = Number(prefixText);
  const bits = family === 4 ? 32 : 128;
  if (prefix > bits) return `is not a CIDR: the prefix must be at most ${bits}`;
  const value = ipToBigInt(addr);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((value & hostMask) !== 0n) {
    const network = bigIntToIp(value & ~hostMask, family as 4 | 6);
    return `has host bits set (did you mean "${network}/${prefix}"?)`;
  }
  return { family: family as 4 | 6, network: value, prefix, text };
}

/** The address at `offset` inside a CIDR (kubeadm's service VIP is offset 1, K3 GetAPIServerVirtualIP). */
export function cidrAddress(cidr: Cidr, offset: number): string {
  return bigIntToIp(cidr.network + BigInt(offset), cidr.family);
}

/** Whether two CIDRs share an address: one holds the other's network. */
function overlaps(a: Cidr, b: Cidr): boolean {
  const shift = BigInt((a.family === 4 ? 32 : 128) - Math.min(a.prefix, b.prefix));
  return a.family === b.family && a.network >> shift === b.network >> shift;
}

/**
 * Ranges that hold no address of one host (RFC 1122 §3.2.1.3, RFC 919, RFC 4291 §2.5.2 and §2.7): an address there
 * cannot be a node's, an endpoint's or a SAN's (0.0.0.0 is a listener's "any": a kubelet.conf server of
 * https://0.0.0.0:6443 reaches no API server, and kubeadm takes an unspecified advertise address to mean "pick one"),
 * and a service subnet must not hold one. Loopback stays allowed: one-machine labs use it. IPv4-mapped IPv6 only
 * matters for CIDRs: canonicalIp already turns such an address into its IPv4 one.
 */
const NOT_A_HOST = (
  [
    ["0.0.0.0/32", "the unspecified address"],
    ["::/128", "the unspecified address"],
    ["255.255.255.255/32", "the broadcast address"],
    ["224.0.0.0/4", "a multicast address (224.0.0.0/4)"],
    ["ff00::/8", "a multicast address (ff00::/8)"],
    ["::ffff:0:0/96", "an IPv4-mapped IPv6 address (::ffff:0:0/96; write the IPv4 CIDR)"],
  ] as const
).map(([text, what]) => ({ cidr: parseCidr(text) as Cidr, what }));

/** What `cidr` holds that names no host (a NOT_A_HOST range it shares an address with), or undefined. */
export function notAHostRange(cidr: Cidr): string | undefined {
  return NOT_A_HOST.find((r) => overlaps(r.cidr, cidr))?.what;
}

/** What an IP address is when it names no host (the unspecified, broadcast or a multicast address), else undefined. */
export function notAHostAddress(ip: string): string | undefined {
  const canonical = canonicalIp(ip);
  return notAHostRange(parseCidr(`${canonical}/${isIP(canonical) === 4 ? 32 : 128}`) as Cidr);
}

/** Number of host bits of a CIDR. */
export function cidrHostBits(cidr: Cidr): number {
  return (cidr.family === 4 ? 32 : 128) - cidr.prefix;
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address. */
export function splitHostPort(text: string): { host: string; port?: string } {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return { host: text };
    const rest = text.slice(close + 1);
    return rest.startsWith(":") ? { host: text.slice(1, close), port: rest.slice(1) } : { host: text.slice(1, close) };
  }
  if (isIP(text) === 6) return { host: text };
  const colon = text.lastIndexOf(":");
  return colon < 0 ? { host: text } : { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

/** `https://host:port` with IPv6 hosts bracketed. */
export function httpsUrl(host: string, port: number): string {
  return `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
