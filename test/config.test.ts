import assert from "node:assert/strict";
import { ConfigError, validateClusters } from "../components/config";
import { planClusters } from "../components/plan";
import { apiServerAltNames } from "../components/sans";

/** A valid cluster; each bad case below changes one thing. */
function good(): any {
  return {
    name: "dev",
    controlPlaneEndpoint: "api.dev.example.com:6443",
    serviceSubnet: "10.96.0.0/12",
    apiServer: { certSANs: ["k8s.example.com", "192.0.2.10"] },
    etcd: { serverCertSANs: ["etcd.example.com"], peerCertSANs: [] },
    nodes: [
      { name: "cp-1", role: "control-plane", address: "10.0.0.11" },
      { name: "cp-2", role: "control-plane", address: "10.0.0.12" },
      { name: "w-1", role: "worker", address: "10.0.0.21" },
    ],
    users: [{ name: "alice", groups: ["developers"] }],
  };
}

function problemsOf(raw: unknown): readonly string[] {
  try {
    validateClusters(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.problems;
  }
  return [];
}

/** One whole problem line (`path: message`): its exact text, or a pattern the whole line must match. */
type Expected = string | RegExp;

/** `raw` has exactly the `expected` problems: each matched by one whole line of its own, and no other. */
function assertProblems(raw: unknown, expected: readonly Expected[]): void {
  const problems = problemsOf(raw);
  const got = `got ${problems.length}:\n    ${problems.join("\n    ")}`;
  const left = [...problems];
  for (const e of expected) {
    const i = left.findIndex((p) => (typeof e === "string" ? p === e : new RegExp(`^(?:${e.source})$`, e.flags).test(p)));
    assert.ok(i >= 0, `expected the problem\n    ${e}\n  ${got}`);
    left.splice(i, 1);
  }
  assert.equal(problems.length, expected.length, `expected ${expected.length} problem(s), ${got}`);
}

/** The good config as a one-cluster list, after `mutate`. */
const cluster = (mutate: (c: any) => void) => () => {
  const c = good();
  mutate(c);
  return [c];
};
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFwu3NorCnke+4W3tWap/t5afXAhZDpmCfHUfqO8PhAV";
const sshCluster = (name: string, nodes: any[]) => ({ ...good(), name, delivery: { mode: "ssh" }, nodes });
const sshNode = (name: string, address: string, ssh: Record<string, unknown> = {}) =>
  ({ name, role: "control-plane", address, ssh: { hostKey: ED25519, ...ssh } });
const SAME_TARGET = (where: string, target: string, first: string) =>
  `${where}.ssh: ${target} is also the SSH target of ${first} (two nodes would install into one filesystem)`;
const RFC1123_NODE = '(RFC 1123 subdomain: lower-case letters, digits, "-" and ".")';
const NOT_NAME_OR_IP = 'is neither an IP address nor a DNS name (RFC 1123, lower case, optional leading "*.")';
const HOURS = "a whole number of hours from 1 to 876600 (100 years)";
const NO_HOST = (ip: string, what: string) => `${JSON.stringify(ip)} is not a host's address: it is ${what}`;
const NO_SUBNET = (cidr: string, what: string) => `clusters[0].serviceSubnet: ${JSON.stringify(cidr)} cannot be a service subnet: it holds ${what}`;
const DOT_PATH = (path: string, value: string) => `${path}: ${JSON.stringify(value)} has a "." or ".." component: write the path without them`;

/** [what, the raw value of kube-pki:clusters, every problem expected]. */
const BAD: [string, () => unknown, Expected[]][] = [
  ["invalid node IP", cluster((c) => { c.nodes[2].address = "10.0.0.300"; }), ['clusters[0].nodes[2].address: "10.0.0.300" is not an IP address']],
  ["node address is a name", cluster((c) => { c.nodes[0].address = "cp-1.example.com"; }), ['clusters[0].nodes[0].address: "cp-1.example.com" is not an IP address']],
  ["service subnet not a CIDR", cluster((c) => { c.serviceSubnet = "10.96.0.0"; }), ['clusters[0].serviceSubnet: "10.96.0.0" is not a CIDR (expected address/prefix, e.g. 10.96.0.0/12)']],
  ["service subnet prefix too long", cluster((c) => { c.serviceSubnet = "10.96.0.0/33"; }), ['clusters[0].serviceSubnet: "10.96.0.0/33" is not a CIDR: the prefix must be at most 32']],
  ["service subnet with host bits", cluster((c) => { c.serviceSubnet = "10.96.0.1/12"; }), ['clusters[0].serviceSubnet: "10.96.0.1/12" has host bits set (did you mean "10.96.0.0/12"?)']],
  ["service subnet /32 leaves no VIP", cluster((c) => { c.serviceSubnet = "10.96.0.5/32"; }), ['clusters[0].serviceSubnet: "10.96.0.5/32" is too small: kubeadm needs at least 10 addresses (prefix /28 or shorter)']],
  ["service subnet /29 has fewer than kubeadm's 10 addresses", cluster((c) => { c.serviceSubnet = "10.96.0.0/29"; }), ['clusters[0].serviceSubnet: "10.96.0.0/29" is too small: kubeadm needs at least 10 addresses (prefix /28 or shorter)']],
  ["dual-stack with two IPv4 CIDRs", cluster((c) => { c.serviceSubnet = "10.96.0.0/12,10.112.0.0/12"; }), ['clusters[0].serviceSubnet: "10.96.0.0/12,10.112.0.0/12": a dual-stack service subnet needs one IPv4 and one IPv6 CIDR']],
  ["three service CIDRs", cluster((c) => { c.serviceSubnet = "10.96.0.0/12,fd00::/108,fd01::/108"; }), ['clusters[0].serviceSubnet: "10.96.0.0/12,fd00::/108,fd01::/108" has 3 CIDRs; at most two (one IPv4, one IPv6) are allowed']],
  ["IPv6 service subnet too large", cluster((c) => { c.serviceSubnet = "fd00::/64"; }), ['clusters[0].serviceSubnet: "fd00::/64" is too large: kubeadm allows at most 20 host bits (prefix /108 or longer)']],
  ["IPv4 service subnet too large", cluster((c) => { c.serviceSubnet = "10.0.0.0/8"; }), ['clusters[0].serviceSubnet: "10.0.0.0/8" is too large: kubeadm allows at most 20 host bits (prefix /12 or longer)']],
  ["service subnet is the IPv4 default route", cluster((c) => { c.serviceSubnet = "0.0.0.0/0"; }), [NO_SUBNET("0.0.0.0/0", "the unspecified address")]],
  ["service subnet is the IPv6 default route", cluster((c) => { c.serviceSubnet = "::/0"; }), [NO_SUBNET("::/0", "the unspecified address")]],
  ["service subnet holds 0.0.0.0", cluster((c) => { c.serviceSubnet = "0.0.0.0/12"; }), [NO_SUBNET("0.0.0.0/12", "the unspecified address")]],
  ["service subnet holds the broadcast address", cluster((c) => { c.serviceSubnet = "255.255.240.0/20"; }), [NO_SUBNET("255.255.240.0/20", "the broadcast address")]],
  ["IPv4 multicast service subnet", cluster((c) => { c.serviceSubnet = "224.0.0.0/12"; }), [NO_SUBNET("224.0.0.0/12", "a multicast address (224.0.0.0/4)")]],
  ["IPv6 multicast service subnet", cluster((c) => { c.serviceSubnet = "fd00::/108,ff00::/108"; }), [NO_SUBNET("ff00::/108", "a multicast address (ff00::/8)")]],
  ["IPv4-mapped IPv6 service subnet", cluster((c) => { c.serviceSubnet = "::ffff:10.96.0.0/108"; }), [NO_SUBNET("::ffff:10.96.0.0/108", "an IPv4-mapped IPv6 address (::ffff:0:0/96; write the IPv4 CIDR)")]],
  ["missing service subnet", cluster((c) => { delete c.serviceSubnet; }), ["clusters[0].serviceSubnet: is required"]],
  ["duplicate node names", cluster((c) => { c.nodes[2].name = "cp-1"; }), ['clusters[0].nodes[2].name: "cp-1" is used by more than one node']],
  ["duplicate node addresses", cluster((c) => { c.nodes[1].address = "10.0.0.11"; }), ['clusters[0].nodes[1].address: "10.0.0.11" is used by more than one node']],
  ["duplicate node addresses, one IPv4-mapped IPv6", cluster((c) => { c.nodes[1].address = "::ffff:10.0.0.11"; }), ['clusters[0].nodes[1].address: "10.0.0.11" is used by more than one node']],
  ["duplicate cluster names", () => [good(), { ...good(), name: "dev" }], ['clusters[1].name: "dev" is used by more than one cluster']],
  ["node name with capitals", cluster((c) => { c.nodes[0].name = "CP-1"; }), [`clusters[0].nodes[0].name: "CP-1" is not a valid node name ${RFC1123_NODE}`]],
  ["node name with underscore", cluster((c) => { c.nodes[1].name = "cp_2"; }), [`clusters[0].nodes[1].name: "cp_2" is not a valid node name ${RFC1123_NODE}`]],
  ["cluster name not an RFC 1123 label", cluster((c) => { c.name = "dev.eu"; }), ['clusters[0].name: "dev.eu" is not an RFC 1123 label (lower-case letters, digits and "-", at most 63)']],
  ["cluster name too long", cluster((c) => { c.name = "a".repeat(64); }), [`clusters[0].name: "${"a".repeat(64)}" is not an RFC 1123 label (lower-case letters, digits and "-", at most 63)`]],
  ["no control-plane node", cluster((c) => { c.nodes = c.nodes.filter((n: any) => n.role === "worker"); }), ["clusters[0].nodes: has no node with role control-plane"]],
  ["no nodes at all", cluster((c) => { c.nodes = []; }), ["clusters[0].nodes: is empty: a cluster needs at least one control-plane node"]],
  ["nodes given as a map: reported as such, not also as empty", cluster((c) => { c.nodes = { "cp-1": { role: "control-plane", address: "10.0.0.11" } }; }),
    ['clusters[0].nodes: must be a list, got {"cp-1":{"role":"control-plane","address":"10.0.0.11"}}']],
  ["unknown role", cluster((c) => { c.nodes[2].role = "master"; }), ['clusters[0].nodes[2].role: "master" is not one of control-plane, worker']],
  ["unknown key algorithm", cluster((c) => { c.keyAlgorithm = "ED25519"; }), ['clusters[0].keyAlgorithm: "ED25519" is not one of RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384']],
  ["leaf valid longer than its CA", cluster((c) => { c.validity = { caHours: 8760, leafHours: 17520 }; }), ["clusters[0].validity.leafHours: 17520 h is longer than the CA validity (8760 h): a leaf must not outlive its CA"]],
  ["early renewal not shorter than validity", cluster((c) => { c.validity = { leafHours: 100, earlyRenewalHours: 100 }; }),
    ["clusters[0].validity.earlyRenewalHours: 100 h is not shorter than leafHours (100 h): every leaf would be re-issued on every pulumi up (tls provider rule)"]],
  ["fractional hours", cluster((c) => { c.validity = { leafHours: 10.5 }; }), [`clusters[0].validity.leafHours: must be ${HOURS}, got 10.5`]],
  ["caHours 1e20 (notAfter would be a bad time value)", cluster((c) => { c.validity = { caHours: 1e20 }; }), [`clusters[0].validity.caHours: must be ${HOURS}, got 100000000000000000000`]],
  ["caHours one past 100 years", cluster((c) => { c.validity = { caHours: 876601 }; }), [`clusters[0].validity.caHours: must be ${HOURS}, got 876601`]],
  ["caHours and leafHours 1e20", cluster((c) => { c.validity = { caHours: 1e20, leafHours: 1e20 }; }),
    [`clusters[0].validity.caHours: must be ${HOURS}, got 100000000000000000000`, `clusters[0].validity.leafHours: must be ${HOURS}, got 100000000000000000000`]],
  ["earlyRenewalHours 1e20", cluster((c) => { c.validity = { earlyRenewalHours: 1e20 }; }),
    ["clusters[0].validity.earlyRenewalHours: must be a whole number of hours from 0 to 876600 (100 years), got 100000000000000000000"]],
  ["healthCheckTimeoutSeconds 1e21 (would be 1e+21 in the command)", cluster((c) => { c.delivery = { healthCheckTimeoutSeconds: 1e21 }; }),
    ["clusters[0].delivery.healthCheckTimeoutSeconds: must be a whole number of seconds from 1 to 3600, got 1e+21"]],
  ["healthCheckTimeoutSeconds over an hour", cluster((c) => { c.delivery = { healthCheckTimeoutSeconds: 3601 }; }),
    ["clusters[0].delivery.healthCheckTimeoutSeconds: must be a whole number of seconds from 1 to 3600, got 3601"]],
  ["healthCheckTimeoutSeconds infinite (YAML .inf)", cluster((c) => { c.delivery = { healthCheckTimeoutSeconds: Infinity }; }),
    ["clusters[0].delivery.healthCheckTimeoutSeconds: must be a whole number of seconds from 1 to 3600, got Infinity"]],
  ["rotation generation 1e21", cluster((c) => { c.rotation = { ca: { generation: 1e21, phase: "add" } }; }),
    ["clusters[0].rotation.ca.generation: must be a generation number from 2 to 1000, got 1e+21"]],
  ["certSAN neither IP nor DNS", cluster((c) => { c.apiServer.certSANs.push("not a name!"); }), [`clusters[0].apiServer.certSANs[2]: "not a name!" ${NOT_NAME_OR_IP}`]],
  ["certSAN with upper case", cluster((c) => { c.apiServer.certSANs = ["API.example.com"]; }), [`clusters[0].apiServer.certSANs[0]: "API.example.com" ${NOT_NAME_OR_IP}`]],
  ["certSAN 0.0.0.0", cluster((c) => { c.apiServer.certSANs = ["0.0.0.0"]; }), [`clusters[0].apiServer.certSANs[0]: ${NO_HOST("0.0.0.0", "the unspecified address")}`]],
  ["certSAN ::", cluster((c) => { c.apiServer.certSANs = ["k8s.example.com", "::"]; }), [`clusters[0].apiServer.certSANs[1]: ${NO_HOST("::", "the unspecified address")}`]],
  ["etcd server SAN multicast", cluster((c) => { c.etcd.serverCertSANs = ["ff05::2"]; }), [`clusters[0].etcd.serverCertSANs[0]: ${NO_HOST("ff05::2", "a multicast address (ff00::/8)")}`]],
  ["etcd peer SAN invalid", cluster((c) => { c.etcd.peerCertSANs = ["etcd_1"]; }), [`clusters[0].etcd.peerCertSANs[0]: "etcd_1" ${NOT_NAME_OR_IP}`]],
  ["certSANs not a list", cluster((c) => { c.apiServer.certSANs = "k8s.example.com"; }), ['clusters[0].apiServer.certSANs: must be a list, got "k8s.example.com"']],
  ["IPv6 addresses with a zone", cluster((c) => { c.nodes[0].address = "fe80::1%eth0"; c.apiServer.certSANs = ["fe80::2%eth1"]; }), [
    'clusters[0].nodes[0].address: "fe80::1%eth0" is an IPv6 address with a zone ("%eth0"); a certificate cannot carry a zone: give the address without it',
    'clusters[0].apiServer.certSANs[0]: "fe80::2%eth1" is an IPv6 address with a zone ("%eth1"); a certificate cannot carry a zone: give the address without it']],
  ["node address 0.0.0.0", cluster((c) => { c.nodes[0].address = "0.0.0.0"; }), [`clusters[0].nodes[0].address: ${NO_HOST("0.0.0.0", "the unspecified address")}`]],
  ["node address ::", cluster((c) => { c.nodes[0].address = "::"; }), [`clusters[0].nodes[0].address: ${NO_HOST("::", "the unspecified address")}`]],
  ["node address ::ffff:0.0.0.0", cluster((c) => { c.nodes[0].address = "::ffff:0.0.0.0"; }), [`clusters[0].nodes[0].address: ${NO_HOST("::ffff:0.0.0.0", "the unspecified address")}`]],
  ["worker address 255.255.255.255", cluster((c) => { c.nodes[2].address = "255.255.255.255"; }), [`clusters[0].nodes[2].address: ${NO_HOST("255.255.255.255", "the broadcast address")}`]],
  ["node address IPv4 multicast", cluster((c) => { c.nodes[1].address = "224.0.0.1"; }), [`clusters[0].nodes[1].address: ${NO_HOST("224.0.0.1", "a multicast address (224.0.0.0/4)")}`]],
  ["node address IPv6 multicast", cluster((c) => { c.nodes[1].address = "ff02::1"; }), [`clusters[0].nodes[1].address: ${NO_HOST("ff02::1", "a multicast address (ff00::/8)")}`]],
  ["control-plane endpoint 0.0.0.0", cluster((c) => { c.controlPlaneEndpoint = "0.0.0.0:6443"; }),
    [`clusters[0].controlPlaneEndpoint: "0.0.0.0:6443": host ${NO_HOST("0.0.0.0", "the unspecified address")}`]],
  ["control-plane endpoint [::]", cluster((c) => { c.controlPlaneEndpoint = "[::]:6443"; }),
    [`clusters[0].controlPlaneEndpoint: "[::]:6443": host ${NO_HOST("::", "the unspecified address")}`]],
  ["control-plane endpoint multicast", cluster((c) => { c.controlPlaneEndpoint = "239.1.1.1"; }),
    [`clusters[0].controlPlaneEndpoint: "239.1.1.1": host ${NO_HOST("239.1.1.1", "a multicast address (224.0.0.0/4)")}`]],
  ["typo at cluster level", cluster((c) => { c.keyAlgoritm = "RSA-2048"; }),
    [/clusters\[0\]\.keyAlgoritm: unknown key \(did you mean "keyAlgorithm"\?\); known keys: name, clusterName, .*, users/]],
  ["typo inside apiServer", cluster((c) => { c.apiServer.certSans = []; }), ['clusters[0].apiServer.certSans: unknown key (did you mean "certSANs"?); known keys: certSANs, bindPort']],
  ["typo inside a node", cluster((c) => { c.nodes[1].adress = c.nodes[1].address; delete c.nodes[1].address; }),
    ['clusters[0].nodes[1].adress: unknown key (did you mean "address"?); known keys: name, role, address, ssh', "clusters[0].nodes[1].address: is required"]],
  ["empty cluster list", () => [], ["clusters: is empty: configure at least one cluster"]],
  ["clusters not a list", () => ({ name: "dev" }), ['clusters: must be a list of clusters, got {"name":"dev"}']],
  ["clusters not set", () => undefined, ["clusters: is not set (pulumi config set --path 'clusters[0].name' dev, or see the README)"]],
  ["cluster entry not an object", () => ["dev"], ['clusters[0]: must be an object, got "dev"']],
  ["control-plane endpoint with bad port", cluster((c) => { c.controlPlaneEndpoint = "api.example.com:70000"; }),
    ['clusters[0].controlPlaneEndpoint: "api.example.com:70000": port "70000" is not a number from 1 to 65535']],
  ["control-plane endpoint not a host", cluster((c) => { c.controlPlaneEndpoint = "https://api"; }),
    ['clusters[0].controlPlaneEndpoint: "https://api" must be host or host:port, without a scheme or path']],
  ["user with a group twice", cluster((c) => { c.users[0].groups = ["developers", "ops", "developers"]; }), ['clusters[0].users[0].groups[2]: "developers" is listed twice']],
  ["user in system:masters without breakGlass", cluster((c) => { c.users[0].groups = ["system:masters"]; }),
    ['clusters[0].users[0].groups: "system:masters" bypasses RBAC and cannot be revoked before the certificate expires; use ' +
      '"kubeadm:cluster-admins" (what admin.conf has), or declare an emergency identity with breakGlass: true']],
  ["breakGlass without system:masters", cluster((c) => { c.users[0].breakGlass = true; }), ['clusters[0].users[0].breakGlass: is only for a user in "system:masters"']],
  ["user with a reserved name", cluster((c) => { c.users[0].name = "kubernetes-admin"; }), ['clusters[0].users[0].name: "kubernetes-admin" is reserved for the identities kube-pki issues itself']],
  ["duplicate users", cluster((c) => { c.users.push({ name: "alice", groups: [] }); }), ['clusters[0].users[1].name: "alice" is used by more than one user']],
  ["unknown caKeys placement", cluster((c) => { c.caKeys = "workers"; }), ['clusters[0].caKeys: "workers" is not one of none, control-plane']],
  ["protectCAs not a boolean", cluster((c) => { c.protectCAs = "yes"; }), ['clusters[0].protectCAs: must be true or false, got "yes"']],
  ["dnsDomain invalid", cluster((c) => { c.dnsDomain = "Cluster.Local"; }), ['clusters[0].dnsDomain: "Cluster.Local" is not a DNS domain (RFC 1123 subdomain)']],
  ["bindPort out of range", cluster((c) => { c.apiServer.bindPort = 70000; }), ["clusters[0].apiServer.bindPort: must be a port number from 1 to 65535, got 70000"]],
  ["local directory with ~", cluster((c) => { c.delivery = { mode: "local", localDirectory: "~/pki" }; }),
    ['clusters[0].delivery.localDirectory: "~/pki" may only contain letters, digits and _ . / : @ % + = , - (no ~, spaces or quotes)']],
  ["local directory with a .. component", cluster((c) => { c.delivery = { mode: "local", localDirectory: "../pki" }; }),
    [DOT_PATH("clusters[0].delivery.localDirectory", "../pki")]],
  ["invalid delivery mode: reported once, not for every node", () => [{ ...sshCluster("dev", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12")]), delivery: { mode: "sftp" } }],
    ['clusters[0].delivery.mode: "sftp" is not one of none, local, ssh']],
  ["delivery not an object: reported once, not for every node", () => [{ ...sshCluster("dev", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12")]), delivery: "ssh" }],
    ['clusters[0].delivery: must be an object, got "ssh"']],
  ["node name admin.conf collides with the render's files", cluster((c) => { c.nodes[2].name = "admin.conf"; }), [/clusters\[0\]\.nodes\[2\]\.name: "admin\.conf" collides with .*/]],
  ["node name alice.conf collides with the render's files", cluster((c) => { c.nodes[2].name = "alice.conf"; }), [/clusters\[0\]\.nodes\[2\]\.name: "alice\.conf" collides with .*/]],
  ["node name users collides with the render's files", cluster((c) => { c.nodes[2].name = "users"; }), [/clusters\[0\]\.nodes\[2\]\.name: "users" collides with .*/]],
  ["two nodes of a cluster with one SSH target", () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12", { host: "10.0.0.11" })])],
    [SAME_TARGET("clusters[0].nodes[1]", "10.0.0.11:22 /", "clusters[0].nodes[0]")]],
  ["two nodes of two clusters with one SSH target", () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12")]),
    sshCluster("b", [sshNode("cp-1", "10.9.0.11", { host: "10.0.0.11", port: 22, root: "/" })])],
    [SAME_TARGET("clusters[1].nodes[0]", "10.0.0.11:22 /", "clusters[0].nodes[0]")]],
  ["ssh.host IPv4-mapped IPv6 is the SSH target of the node at that IPv4 address",
    () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12", { host: "::ffff:10.0.0.11" })])],
    [SAME_TARGET("clusters[0].nodes[1]", "10.0.0.11:22 /", "clusters[0].nodes[0]")]],
  ["a node address IPv4-mapped IPv6 in one cluster is the plain ssh.host of another",
    () => [sshCluster("a", [sshNode("cp-1", "::ffff:10.0.0.11")]), sshCluster("b", [sshNode("cp-1", "10.9.0.11", { host: "10.0.0.11" })])],
    [SAME_TARGET("clusters[1].nodes[0]", "10.0.0.11:22 /", "clusters[0].nodes[0]")]],
  ["ssh.root with repeated and trailing slashes is the same root",
    () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11", { root: "/host/x" }), sshNode("cp-2", "10.0.0.12", { host: "10.0.0.11", root: "/host//x/" })])],
    [SAME_TARGET("clusters[0].nodes[1]", "10.0.0.11:22 /host/x", "clusters[0].nodes[0]")]],
  ["ssh.root with a . component", () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11", { root: "/host/." })])], [DOT_PATH("clusters[0].nodes[0].ssh.root", "/host/.")]],
  ["ssh.root with a .. component", () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11", { root: "/host/x/.." })])], [DOT_PATH("clusters[0].nodes[0].ssh.root", "/host/x/..")]],
  ["ssh.host 0.0.0.0", () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11", { host: "0.0.0.0" })])],
    [`clusters[0].nodes[0].ssh.host: ${NO_HOST("0.0.0.0", "the unspecified address")}`]],
  ["ssh.port 65536", () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11", { port: 65536 })])], ["clusters[0].nodes[0].ssh.port: must be a port number from 1 to 65535, got 65536"]],
];

describe("config validation: one bad config per case, every problem matched as a whole line", () => {
  for (const [what, raw, expected] of BAD) it(what, () => assertProblems(raw(), expected));
});

describe("config validation", () => {
  it("accepts the good config and fills kubeadm's defaults", () => {
    const [c] = validateClusters([good()]);
    assert.equal(c!.clusterName, "kubernetes");
    assert.equal(c!.dnsDomain, "cluster.local");
    assert.equal(c!.keyAlgorithm, "ECDSA-P256");
    assert.deepEqual(c!.validity, { caHours: 87600, leafHours: 8760, earlyRenewalHours: 720 });
    assert.deepEqual(c!.controlPlaneEndpoint, { host: "api.dev.example.com", port: 6443 });
    assert.equal(c!.apiServer.bindPort, 6443);
    assert.equal(c!.caKeys, "none");
    assert.equal(c!.protectCAs, false);
  });

  it("reports every problem at once, in one error whose message lists them", () => {
    const c = good();
    c.nodes[0].address = "300.1.1.1";
    c.nodes[2].name = "W_1";
    c.keyAlgorithm = "RSA";
    c.apiServer.certSANs = ["ok.example.com", "bad name"];
    let err: unknown;
    try { validateClusters([c, { ...good(), name: "prod", serviceSubnet: "nonsense" }]); } catch (e) { err = e; }
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 5);
    for (const path of ["clusters[0].nodes[0].address", "clusters[0].nodes[2].name", "clusters[0].keyAlgorithm",
      "clusters[0].apiServer.certSANs[1]", "clusters[1].serviceSubnet"]) {
      assert.match(err.message, new RegExp(`  - ${path.replace(/[[\].]/g, "\\$&")}: `));
    }
  });

  it("accepts dual-stack service subnets, IPv6 nodes, wildcard SANs and bare IPv6 endpoints", () => {
    const c = good();
    c.serviceSubnet = "fd00:10:96::/112,10.96.0.0/12";
    c.nodes[0].address = "fd00::11";
    c.apiServer.certSANs = ["*.apps.example.com", "2001:db8::1"];
    c.controlPlaneEndpoint = "[2001:db8::10]:8443";
    const [v] = validateClusters([c]);
    assert.deepEqual(v!.controlPlaneEndpoint, { host: "2001:db8::10", port: 8443 });
    assert.equal(v!.serviceSubnets.length, 2);
  });

  it("refuses names that would make two resources with one name, within a cluster and across clusters", () => {
    const c = good();
    // "apiserver" of node "etcd-client-cp-1" and "apiserver-etcd-client" of node "cp-1" are both "dev-apiserver-etcd-client-cp-1".
    c.nodes.push({ name: "etcd-client-cp-1", role: "control-plane", address: "10.0.0.13" });
    assert.throws(() => planClusters([c]), /clusters\[0\]: resource name "dev-apiserver-etcd-client-cp-1" is also made by clusters\[0\]/);
    // Cluster "dev-etcd"'s CA "ca" and cluster "dev"'s "etcd-ca" are both "dev-etcd-ca".
    assert.throws(() => planClusters([good(), { ...good(), name: "dev-etcd" }]),
      /clusters\[1\]: resource name "dev-etcd-ca" is also made by clusters\[0\]/);
    assert.doesNotThrow(() => planClusters([good(), { ...good(), name: "prod" }]));
  });
});

describe("config validation: what stays allowed", () => {
  it("the same SSH host with another port or another root is another target (containers, toolboxes)", () => {
    const c = sshCluster("c", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12", { host: "10.0.0.11", port: 2222 }),
      sshNode("cp-3", "10.0.0.13", { host: "10.0.0.11", root: "/host" })]);
    assertProblems([c], []);
  });

  it("an IPv4-mapped IPv6 address is its IPv4 address: in node addresses, SANs and the control-plane endpoint", () => {
    const c = good();
    c.nodes[0].address = "::ffff:10.0.0.11";
    c.apiServer.certSANs = ["::ffff:192.0.2.10"];
    c.controlPlaneEndpoint = "[::ffff:192.0.2.20]:6443";
    const [v] = validateClusters([c]);
    assert.equal(v!.nodes[0]!.address, "10.0.0.11");
    assert.deepEqual(v!.apiServer.certSANs, ["192.0.2.10"]);
    assert.deepEqual(v!.controlPlaneEndpoint, { host: "192.0.2.20", port: 6443 });
    assert.deepEqual(apiServerAltNames(v!, v!.nodes[0]!).ipAddresses, ["10.96.0.1", "10.0.0.11", "192.0.2.20", "192.0.2.10"]);
  });

  it("loopback nodes (one-machine labs) and every number at its documented bound", () => {
    const c = sshCluster("lab", [sshNode("cp-1", "127.0.0.1", { port: 65535 }), { ...sshNode("w-1", "::1", { port: 1 }), role: "worker" }]);
    c.apiServer.bindPort = 65535;
    c.validity = { caHours: 876600, leafHours: 876600, earlyRenewalHours: 876599 };
    c.delivery = { mode: "ssh", healthCheckTimeoutSeconds: 3600 };
    c.rotation = { ca: { generation: 1000, phase: "add" } };
    assertProblems([c], []);
  });
});
