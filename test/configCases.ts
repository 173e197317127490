// The bad-config cases of test/config.test.ts, shared with test/schema.test.ts: config.test.ts checks that the
// program reports each with exactly its problem lines; schema.test.ts that the shipped JSON Schema refuses the
// schema-level ones too, so an editor flags them before any pulumi up.

/** A valid cluster; each bad case below changes one thing. */
export function good(): any {
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

/** One whole problem line (`path: message`): its exact text, or a pattern the whole line must match. */
export type Expected = string | RegExp;

/** The good config as a one-cluster list, after `mutate`. */
const cluster = (mutate: (c: any) => void) => () => {
  const c = good();
  mutate(c);
  return [c];
};
const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFwu3NorCnke+4W3tWap/t5afXAhZDpmCfHUfqO8PhAV";
export const sshCluster = (name: string, nodes: any[]) => ({ ...good(), name, delivery: { mode: "ssh" }, nodes });
export const sshNode = (name: string, address: string, ssh: Record<string, unknown> = {}) => ({
  name,
  role: "control-plane",
  address,
  ssh: { hostKey: ED25519, ...ssh },
});
const SAME_TARGET = (where: string, target: string, first: string) =>
  `${where}.ssh: ${target} is also the SSH target of ${first} (two nodes would install into one filesystem)`;
const RFC1123_NODE = '(RFC 1123 subdomain: lower-case letters, digits, "-" and ".")';
const NOT_NAME_OR_IP = 'is neither an IP address nor a DNS name (RFC 1123, lower case, optional leading "*.")';
const HOURS = "a whole number of hours from 1 to 876600 (100 years)";
const NO_HOST = (ip: string, what: string) => `${JSON.stringify(ip)} is not a host's address: it is ${what}`;
const NO_SUBNET = (cidr: string, what: string) =>
  `clusters[0].serviceSubnet: ${JSON.stringify(cidr)} cannot be a service subnet: it holds ${what}`;
const DOT_PATH = (path: string, value: string) =>
  `${path}: ${JSON.stringify(value)} has a "." or ".." component: write the path without them`;

/** [what, the raw value of kube-pki:clusters, every problem expected]. */
export const BAD: [string, () => unknown, Expected[]][] = [
  [
    "invalid node IP",
    cluster((c) => {
      c.nodes[2].address = "10.0.0.300";
    }),
    ['clusters[0].nodes[2].address: "10.0.0.300" is not an IP address'],
  ],
  [
    "node address is a name",
    cluster((c) => {
      c.nodes[0].address = "cp-1.example.com";
    }),
    ['clusters[0].nodes[0].address: "cp-1.example.com" is not an IP address'],
  ],
  [
    "service subnet not a CIDR",
    cluster((c) => {
      c.serviceSubnet = "10.96.0.0";
    }),
    ['clusters[0].serviceSubnet: "10.96.0.0" is not a CIDR (expected address/prefix, e.g. 10.96.0.0/12)'],
  ],
  [
    "service subnet prefix too long",
    cluster((c) => {
      c.serviceSubnet = "10.96.0.0/33";
    }),
    ['clusters[0].serviceSubnet: "10.96.0.0/33" is not a CIDR: the prefix must be at most 32'],
  ],
  [
    "service subnet with host bits",
    cluster((c) => {
      c.serviceSubnet = "10.96.0.1/12";
    }),
    ['clusters[0].serviceSubnet: "10.96.0.1/12" has host bits set (did you mean "10.96.0.0/12"?)'],
  ],
  [
    "service subnet /32 leaves no VIP",
    cluster((c) => {
      c.serviceSubnet = "10.96.0.5/32";
    }),
    ['clusters[0].serviceSubnet: "10.96.0.5/32" is too small: kubeadm needs at least 10 addresses (prefix /28 or shorter)'],
  ],
  [
    "service subnet /29 has fewer than kubeadm's 10 addresses",
    cluster((c) => {
      c.serviceSubnet = "10.96.0.0/29";
    }),
    ['clusters[0].serviceSubnet: "10.96.0.0/29" is too small: kubeadm needs at least 10 addresses (prefix /28 or shorter)'],
  ],
  [
    "dual-stack with two IPv4 CIDRs",
    cluster((c) => {
      c.serviceSubnet = "10.96.0.0/12,10.112.0.0/12";
    }),
    ['clusters[0].serviceSubnet: "10.96.0.0/12,10.112.0.0/12": a dual-stack service subnet needs one IPv4 and one IPv6 CIDR'],
  ],
  [
    "three service CIDRs",
    cluster((c) => {
      c.serviceSubnet = "10.96.0.0/12,fd00::/108,fd01::/108";
    }),
    ['clusters[0].serviceSubnet: "10.96.0.0/12,fd00::/108,fd01::/108" has 3 CIDRs; at most two (one IPv4, one IPv6) are allowed'],
  ],
  [
    "IPv6 service subnet too large",
    cluster((c) => {
      c.serviceSubnet = "fd00::/64";
    }),
    ['clusters[0].serviceSubnet: "fd00::/64" is too large: kubeadm allows at most 20 host bits (prefix /108 or longer)'],
  ],
  [
    "IPv4 service subnet too large",
    cluster((c) => {
      c.serviceSubnet = "10.0.0.0/8";
    }),
    ['clusters[0].serviceSubnet: "10.0.0.0/8" is too large: kubeadm allows at most 20 host bits (prefix /12 or longer)'],
  ],
  [
    "service subnet is the IPv4 default route",
    cluster((c) => {
      c.serviceSubnet = "0.0.0.0/0";
    }),
    [NO_SUBNET("0.0.0.0/0", "the unspecified address")],
  ],
  [
    "service subnet is the IPv6 default route",
    cluster((c) => {
      c.serviceSubnet = "::/0";
    }),
    [NO_SUBNET("::/0", "the unspecified address")],
  ],
  [
    "service subnet holds 0.0.0.0",
    cluster((c) => {
      c.serviceSubnet = "0.0.0.0/12";
    }),
    [NO_SUBNET("0.0.0.0/12", "the unspecified address")],
  ],
  [
    "service subnet holds the broadcast address",
    cluster((c) => {
      c.serviceSubnet = "255.255.240.0/20";
    }),
    [NO_SUBNET("255.255.240.0/20", "the broadcast address")],
  ],
  [
    "IPv4 multicast service subnet",
    cluster((c) => {
      c.serviceSubnet = "224.0.0.0/12";
    }),
    [NO_SUBNET("224.0.0.0/12", "a multicast address (224.0.0.0/4)")],
  ],
  [
    "IPv6 multicast service subnet",
    cluster((c) => {
      c.serviceSubnet = "fd00::/108,ff00::/108";
    }),
    [NO_SUBNET("ff00::/108", "a multicast address (ff00::/8)")],
  ],
  [
    "IPv4-mapped IPv6 service subnet",
    cluster((c) => {
      c.serviceSubnet = "::ffff:10.96.0.0/108";
    }),
    [NO_SUBNET("::ffff:10.96.0.0/108", "an IPv4-mapped IPv6 address (::ffff:0:0/96; write the IPv4 CIDR)")],
  ],
  [
    "missing service subnet",
    cluster((c) => {
      delete c.serviceSubnet;
    }),
    ["clusters[0].serviceSubnet: is required"],
  ],
  [
    "duplicate node names",
    cluster((c) => {
      c.nodes[2].name = "cp-1";
    }),
    ['clusters[0].nodes[2].name: "cp-1" is used by more than one node'],
  ],
  [
    "duplicate node addresses",
    cluster((c) => {
      c.nodes[1].address = "10.0.0.11";
    }),
    ['clusters[0].nodes[1].address: "10.0.0.11" is used by more than one node'],
  ],
  [
    "duplicate node addresses, one IPv4-mapped IPv6",
    cluster((c) => {
      c.nodes[1].address = "::ffff:10.0.0.11";
    }),
    ['clusters[0].nodes[1].address: "10.0.0.11" is used by more than one node'],
  ],
  ["duplicate cluster names", () => [good(), { ...good(), name: "dev" }], ['clusters[1].name: "dev" is used by more than one cluster']],
  [
    "node name with capitals",
    cluster((c) => {
      c.nodes[0].name = "CP-1";
    }),
    [`clusters[0].nodes[0].name: "CP-1" is not a valid node name ${RFC1123_NODE}`],
  ],
  [
    "node name with underscore",
    cluster((c) => {
      c.nodes[1].name = "cp_2";
    }),
    [`clusters[0].nodes[1].name: "cp_2" is not a valid node name ${RFC1123_NODE}`],
  ],
  [
    "cluster name not an RFC 1123 label",
    cluster((c) => {
      c.name = "dev.eu";
    }),
    ['clusters[0].name: "dev.eu" is not an RFC 1123 label (lower-case letters, digits and "-", at most 63)'],
  ],
  [
    "invalid cluster name: reported once, not again as the Cluster API cluster name it defaults",
    cluster((c) => {
      c.name = "Dev";
      c.publication = { managementCluster: {} };
    }),
    ['clusters[0].name: "Dev" is not an RFC 1123 label (lower-case letters, digits and "-", at most 63)'],
  ],
  [
    "cluster name too long",
    cluster((c) => {
      c.name = "a".repeat(64);
    }),
    [`clusters[0].name: "${"a".repeat(64)}" is not an RFC 1123 label (lower-case letters, digits and "-", at most 63)`],
  ],
  [
    "no control-plane node",
    cluster((c) => {
      c.nodes = c.nodes.filter((n: any) => n.role === "worker");
    }),
    ["clusters[0].nodes: has no node with role control-plane"],
  ],
  [
    "no nodes at all",
    cluster((c) => {
      c.nodes = [];
    }),
    ["clusters[0].nodes: is empty: a cluster needs at least one control-plane node"],
  ],
  [
    "nodes given as a map: reported as such, not also as empty",
    cluster((c) => {
      c.nodes = { "cp-1": { role: "control-plane", address: "10.0.0.11" } };
    }),
    ['clusters[0].nodes: must be a list, got {"cp-1":{"role":"control-plane","address":"10.0.0.11"}}'],
  ],
  [
    "unknown role",
    cluster((c) => {
      c.nodes[2].role = "master";
    }),
    ['clusters[0].nodes[2].role: "master" is not one of control-plane, worker'],
  ],
  [
    "unknown key algorithm",
    cluster((c) => {
      c.keyAlgorithm = "ED25519";
    }),
    ['clusters[0].keyAlgorithm: "ED25519" is not one of RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384'],
  ],
  [
    "leaf valid longer than its CA",
    cluster((c) => {
      c.validity = { caHours: 8760, leafHours: 17520 };
    }),
    ["clusters[0].validity.leafHours: 17520 h is longer than the CA validity (8760 h): a leaf must not outlive its CA"],
  ],
  [
    "early renewal not shorter than validity",
    cluster((c) => {
      c.validity = { leafHours: 100, earlyRenewalHours: 100 };
    }),
    [
      "clusters[0].validity.earlyRenewalHours: 100 h is not shorter than leafHours (100 h): every leaf would be re-issued on every pulumi up (tls provider rule)",
    ],
  ],
  [
    "fractional hours",
    cluster((c) => {
      c.validity = { leafHours: 10.5 };
    }),
    [`clusters[0].validity.leafHours: must be ${HOURS}, got 10.5`],
  ],
  [
    "caHours 1e20 (notAfter would be a bad time value)",
    cluster((c) => {
      c.validity = { caHours: 1e20 };
    }),
    [`clusters[0].validity.caHours: must be ${HOURS}, got 100000000000000000000`],
  ],
  [
    "caHours one past 100 years",
    cluster((c) => {
      c.validity = { caHours: 876601 };
    }),
    [`clusters[0].validity.caHours: must be ${HOURS}, got 876601`],
  ],
  [
    "caHours and leafHours 1e20",
    cluster((c) => {
      c.validity = { caHours: 1e20, leafHours: 1e20 };
    }),
    [
      `clusters[0].validity.caHours: must be ${HOURS}, got 100000000000000000000`,
      `clusters[0].validity.leafHours: must be ${HOURS}, got 100000000000000000000`,
    ],
  ],
  [
    "earlyRenewalHours 1e20",
    cluster((c) => {
      c.validity = { earlyRenewalHours: 1e20 };
    }),
    ["clusters[0].validity.earlyRenewalHours: must be a whole number of hours from 0 to 876600 (100 years), got 100000000000000000000"],
  ],
  [
    "healthCheckTimeoutSeconds 1e21 (would be 1e+21 in the command)",
    cluster((c) => {
      c.delivery = { healthCheckTimeoutSeconds: 1e21 };
    }),
    ["clusters[0].delivery.healthCheckTimeoutSeconds: must be a whole number of seconds from 1 to 3600, got 1e+21"],
  ],
  [
    "healthCheckTimeoutSeconds over an hour",
    cluster((c) => {
      c.delivery = { healthCheckTimeoutSeconds: 3601 };
    }),
    ["clusters[0].delivery.healthCheckTimeoutSeconds: must be a whole number of seconds from 1 to 3600, got 3601"],
  ],
  [
    "healthCheckTimeoutSeconds infinite (YAML .inf)",
    cluster((c) => {
      c.delivery = { healthCheckTimeoutSeconds: Infinity };
    }),
    ["clusters[0].delivery.healthCheckTimeoutSeconds: must be a whole number of seconds from 1 to 3600, got Infinity"],
  ],
  [
    "rotation generation 1e21",
    cluster((c) => {
      c.rotation = { ca: { generation: 1e21, phase: "add" } };
    }),
    ["clusters[0].rotation.ca.generation: must be a generation number from 2 to 1000, got 1e+21"],
  ],
  [
    "certSAN neither IP nor DNS",
    cluster((c) => {
      c.apiServer.certSANs.push("not a name!");
    }),
    [`clusters[0].apiServer.certSANs[2]: "not a name!" ${NOT_NAME_OR_IP}`],
  ],
  [
    "certSAN with upper case",
    cluster((c) => {
      c.apiServer.certSANs = ["API.example.com"];
    }),
    [`clusters[0].apiServer.certSANs[0]: "API.example.com" ${NOT_NAME_OR_IP}`],
  ],
  [
    "certSAN 0.0.0.0",
    cluster((c) => {
      c.apiServer.certSANs = ["0.0.0.0"];
    }),
    [`clusters[0].apiServer.certSANs[0]: ${NO_HOST("0.0.0.0", "the unspecified address")}`],
  ],
  [
    "certSAN ::",
    cluster((c) => {
      c.apiServer.certSANs = ["k8s.example.com", "::"];
    }),
    [`clusters[0].apiServer.certSANs[1]: ${NO_HOST("::", "the unspecified address")}`],
  ],
  [
    "etcd server SAN multicast",
    cluster((c) => {
      c.etcd.serverCertSANs = ["ff05::2"];
    }),
    [`clusters[0].etcd.serverCertSANs[0]: ${NO_HOST("ff05::2", "a multicast address (ff00::/8)")}`],
  ],
  [
    "etcd peer SAN invalid",
    cluster((c) => {
      c.etcd.peerCertSANs = ["etcd_1"];
    }),
    [`clusters[0].etcd.peerCertSANs[0]: "etcd_1" ${NOT_NAME_OR_IP}`],
  ],
  [
    "certSANs not a list",
    cluster((c) => {
      c.apiServer.certSANs = "k8s.example.com";
    }),
    ['clusters[0].apiServer.certSANs: must be a list, got "k8s.example.com"'],
  ],
  [
    "IPv6 addresses with a zone",
    cluster((c) => {
      c.nodes[0].address = "fe80::1%eth0";
      c.apiServer.certSANs = ["fe80::2%eth1"];
    }),
    [
      'clusters[0].nodes[0].address: "fe80::1%eth0" is an IPv6 address with a zone ("%eth0"); a certificate cannot carry a zone: give the address without it',
      'clusters[0].apiServer.certSANs[0]: "fe80::2%eth1" is an IPv6 address with a zone ("%eth1"); a certificate cannot carry a zone: give the address without it',
    ],
  ],
  [
    "node address 0.0.0.0",
    cluster((c) => {
      c.nodes[0].address = "0.0.0.0";
    }),
    [`clusters[0].nodes[0].address: ${NO_HOST("0.0.0.0", "the unspecified address")}`],
  ],
  [
    "node address ::",
    cluster((c) => {
      c.nodes[0].address = "::";
    }),
    [`clusters[0].nodes[0].address: ${NO_HOST("::", "the unspecified address")}`],
  ],
  [
    "node address ::ffff:0.0.0.0",
    cluster((c) => {
      c.nodes[0].address = "::ffff:0.0.0.0";
    }),
    [`clusters[0].nodes[0].address: ${NO_HOST("::ffff:0.0.0.0", "the unspecified address")}`],
  ],
  [
    "worker address 255.255.255.255",
    cluster((c) => {
      c.nodes[2].address = "255.255.255.255";
    }),
    [`clusters[0].nodes[2].address: ${NO_HOST("255.255.255.255", "the broadcast address")}`],
  ],
  [
    "node address IPv4 multicast",
    cluster((c) => {
      c.nodes[1].address = "224.0.0.1";
    }),
    [`clusters[0].nodes[1].address: ${NO_HOST("224.0.0.1", "a multicast address (224.0.0.0/4)")}`],
  ],
  [
    "node address IPv6 multicast",
    cluster((c) => {
      c.nodes[1].address = "ff02::1";
    }),
    [`clusters[0].nodes[1].address: ${NO_HOST("ff02::1", "a multicast address (ff00::/8)")}`],
  ],
  [
    "control-plane endpoint 0.0.0.0",
    cluster((c) => {
      c.controlPlaneEndpoint = "0.0.0.0:6443";
    }),
    [`clusters[0].controlPlaneEndpoint: "0.0.0.0:6443": host ${NO_HOST("0.0.0.0", "the unspecified address")}`],
  ],
  [
    "control-plane endpoint [::]",
    cluster((c) => {
      c.controlPlaneEndpoint = "[::]:6443";
    }),
    [`clusters[0].controlPlaneEndpoint: "[::]:6443": host ${NO_HOST("::", "the unspecified address")}`],
  ],
  [
    "control-plane endpoint multicast",
    cluster((c) => {
      c.controlPlaneEndpoint = "239.1.1.1";
    }),
    [`clusters[0].controlPlaneEndpoint: "239.1.1.1": host ${NO_HOST("239.1.1.1", "a multicast address (224.0.0.0/4)")}`],
  ],
  [
    "typo at cluster level",
    cluster((c) => {
      c.keyAlgoritm = "RSA-2048";
    }),
    [/clusters\[0\]\.keyAlgoritm: unknown key \(did you mean "keyAlgorithm"\?\); known keys: name, clusterName, .*, users/],
  ],
  [
    "typo inside apiServer",
    cluster((c) => {
      c.apiServer.certSans = [];
    }),
    ['clusters[0].apiServer.certSans: unknown key (did you mean "certSANs"?); known keys: certSANs, bindPort'],
  ],
  [
    "typo inside a node",
    cluster((c) => {
      c.nodes[1].adress = c.nodes[1].address;
      delete c.nodes[1].address;
    }),
    [
      'clusters[0].nodes[1].adress: unknown key (did you mean "address"?); known keys: name, role, address, ssh',
      "clusters[0].nodes[1].address: is required",
    ],
  ],
  ["empty cluster list", () => [], ["clusters: is empty: configure at least one cluster"]],
  ["clusters not a list", () => ({ name: "dev" }), ['clusters: must be a list of clusters, got {"name":"dev"}']],
  ["clusters not set", () => undefined, ["clusters: is not set (pulumi config set --path 'clusters[0].name' dev, or see the README)"]],
  ["cluster entry not an object", () => ["dev"], ['clusters[0]: must be an object, got "dev"']],
  [
    "control-plane endpoint with bad port",
    cluster((c) => {
      c.controlPlaneEndpoint = "api.example.com:70000";
    }),
    ['clusters[0].controlPlaneEndpoint: "api.example.com:70000": port "70000" is not a number from 1 to 65535'],
  ],
  [
    "control-plane endpoint not a host",
    cluster((c) => {
      c.controlPlaneEndpoint = "https://api";
    }),
    ['clusters[0].controlPlaneEndpoint: "https://api" must be host or host:port, without a scheme or path'],
  ],
  [
    "user with a group twice",
    cluster((c) => {
      c.users[0].groups = ["developers", "ops", "developers"];
    }),
    ['clusters[0].users[0].groups[2]: "developers" is listed twice'],
  ],
  [
    "user in system:masters without breakGlass",
    cluster((c) => {
      c.users[0].groups = ["system:masters"];
    }),
    [
      'clusters[0].users[0].groups: "system:masters" bypasses RBAC and cannot be revoked before the certificate expires; use ' +
        '"kubeadm:cluster-admins" (what admin.conf has), or declare an emergency identity with breakGlass: true',
    ],
  ],
  [
    "breakGlass without system:masters",
    cluster((c) => {
      c.users[0].breakGlass = true;
    }),
    ['clusters[0].users[0].breakGlass: is only for a user in "system:masters"'],
  ],
  [
    "user with a reserved name",
    cluster((c) => {
      c.users[0].name = "kubernetes-admin";
    }),
    ['clusters[0].users[0].name: "kubernetes-admin" is reserved for the identities kube-pki issues itself'],
  ],
  [
    "user name system:alice: reported once, as not a user name (not also as reserved)",
    cluster((c) => {
      c.users[0].name = "system:alice";
    }),
    ['clusters[0].users[0].name: "system:alice" is not a valid user name here (RFC 1123 subdomain: it names resources and files)'],
  ],
  [
    "duplicate users",
    cluster((c) => {
      c.users.push({ name: "alice", groups: [] });
    }),
    ['clusters[0].users[1].name: "alice" is used by more than one user'],
  ],
  [
    "unknown caKeys placement",
    cluster((c) => {
      c.caKeys = "workers";
    }),
    ['clusters[0].caKeys: "workers" is not one of none, control-plane'],
  ],
  [
    "workers: bootstrap without the CA key on the control plane",
    cluster((c) => {
      c.workers = "bootstrap";
    }),
    [
      'clusters[0].caKeys: workers: bootstrap needs caKeys: control-plane (the controller-manager signs kubelet certificates with the cluster CA\'s key), got "none"',
    ],
  ],
  [
    "bootstrap signing longer than a leaf",
    cluster((c) => {
      c.workers = "bootstrap";
      c.caKeys = "control-plane";
      c.validity = { leafHours: 48, earlyRenewalHours: 10 };
      c.bootstrap = { signingHours: 72 };
    }),
    ["clusters[0].bootstrap.signingHours: 72 is longer than validity.leafHours (48)"],
  ],
  [
    "unknown workers mode",
    cluster((c) => {
      c.workers = "kubeadm";
    }),
    ['clusters[0].workers: "kubeadm" is not one of managed, bootstrap'],
  ],
  [
    "protectCAs not a boolean",
    cluster((c) => {
      c.protectCAs = "yes";
    }),
    ['clusters[0].protectCAs: must be true or false, got "yes"'],
  ],
  [
    "dnsDomain invalid",
    cluster((c) => {
      c.dnsDomain = "Cluster.Local";
    }),
    ['clusters[0].dnsDomain: "Cluster.Local" is not a DNS domain (RFC 1123 subdomain)'],
  ],
  [
    "bindPort out of range",
    cluster((c) => {
      c.apiServer.bindPort = 70000;
    }),
    ["clusters[0].apiServer.bindPort: must be a port number from 1 to 65535, got 70000"],
  ],
  [
    "local directory with ~",
    cluster((c) => {
      c.delivery = { mode: "local", localDirectory: "~/pki" };
    }),
    ['clusters[0].delivery.localDirectory: "~/pki" may only contain letters, digits and _ . / : @ % + = , - (no ~, spaces or quotes)'],
  ],
  [
    "local directory with a .. component",
    cluster((c) => {
      c.delivery = { mode: "local", localDirectory: "../pki" };
    }),
    [DOT_PATH("clusters[0].delivery.localDirectory", "../pki")],
  ],
  [
    "invalid delivery mode: reported once, not for every node",
    () => [{ ...sshCluster("dev", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12")]), delivery: { mode: "sftp" } }],
    ['clusters[0].delivery.mode: "sftp" is not one of none, local, ssh'],
  ],
  [
    "delivery not an object: reported once, not for every node",
    () => [{ ...sshCluster("dev", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12")]), delivery: "ssh" }],
    ['clusters[0].delivery: must be an object, got "ssh"'],
  ],
  [
    "node name admin.conf collides with the render's files",
    cluster((c) => {
      c.nodes[2].name = "admin.conf";
    }),
    [/clusters\[0\]\.nodes\[2\]\.name: "admin\.conf" collides with .*/],
  ],
  [
    "node name alice.conf collides with the render's files",
    cluster((c) => {
      c.nodes[2].name = "alice.conf";
    }),
    [/clusters\[0\]\.nodes\[2\]\.name: "alice\.conf" collides with .*/],
  ],
  [
    "node name users collides with the render's files",
    cluster((c) => {
      c.nodes[2].name = "users";
    }),
    [/clusters\[0\]\.nodes\[2\]\.name: "users" collides with .*/],
  ],
  [
    "two nodes of a cluster with one SSH target",
    () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12", { host: "10.0.0.11" })])],
    [SAME_TARGET("clusters[0].nodes[1]", "10.0.0.11:22 /", "clusters[0].nodes[0]")],
  ],
  [
    "two nodes of two clusters with one SSH target",
    () => [
      sshCluster("a", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12")]),
      sshCluster("b", [sshNode("cp-1", "10.9.0.11", { host: "10.0.0.11", port: 22, root: "/" })]),
    ],
    [SAME_TARGET("clusters[1].nodes[0]", "10.0.0.11:22 /", "clusters[0].nodes[0]")],
  ],
  [
    "ssh.host IPv4-mapped IPv6 is the SSH target of the node at that IPv4 address",
    () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12", { host: "::ffff:10.0.0.11" })])],
    [SAME_TARGET("clusters[0].nodes[1]", "10.0.0.11:22 /", "clusters[0].nodes[0]")],
  ],
  [
    "a node address IPv4-mapped IPv6 in one cluster is the plain ssh.host of another",
    () => [sshCluster("a", [sshNode("cp-1", "::ffff:10.0.0.11")]), sshCluster("b", [sshNode("cp-1", "10.9.0.11", { host: "10.0.0.11" })])],
    [SAME_TARGET("clusters[1].nodes[0]", "10.0.0.11:22 /", "clusters[0].nodes[0]")],
  ],
  [
    "ssh.root with repeated and trailing slashes is the same root",
    () => [
      sshCluster("a", [
        sshNode("cp-1", "10.0.0.11", { root: "/host/x" }),
        sshNode("cp-2", "10.0.0.12", { host: "10.0.0.11", root: "/host//x/" }),
      ]),
    ],
    [SAME_TARGET("clusters[0].nodes[1]", "10.0.0.11:22 /host/x", "clusters[0].nodes[0]")],
  ],
  [
    "ssh.root with a . component",
    () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11", { root: "/host/." })])],
    [DOT_PATH("clusters[0].nodes[0].ssh.root", "/host/.")],
  ],
  [
    "ssh.root with a .. component",
    () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11", { root: "/host/x/.." })])],
    [DOT_PATH("clusters[0].nodes[0].ssh.root", "/host/x/..")],
  ],
  [
    "ssh.host 0.0.0.0",
    () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11", { host: "0.0.0.0" })])],
    [`clusters[0].nodes[0].ssh.host: ${NO_HOST("0.0.0.0", "the unspecified address")}`],
  ],
  [
    "ssh.port 65536",
    () => [sshCluster("a", [sshNode("cp-1", "10.0.0.11", { port: 65536 })])],
    ["clusters[0].nodes[0].ssh.port: must be a port number from 1 to 65535, got 65536"],
  ],
];

// Why JSON Schema cannot refuse these (draft-07, what editors read): it matches text against patterns and compares
// whole values, but it does not parse, compare two values, or compare list items by a derived key.
const IP = "an IP address is parsed: its family, its canonical form (::ffff:10.0.0.1 is 10.0.0.1), the ranges that name no host";
const CIDR = "a CIDR is parsed: the address, host bits, kubeadm's sizes and the ranges that name no host";
const HOST_PORT = "host:port is parsed: brackets, an IP address or a DNS name, the port's range";
const SAN = "an IP address or a DNS name: telling which parses the address";
const RELATION = "a relation between two values (draft-07 cannot compare numbers with each other)";
const UNIQUE = "uniqueness by one key of list items, in canonical form (uniqueItems compares whole items as written)";
const SSH_TARGET = "one (host, port, root) per node across every cluster, each in canonical form";

/** The cases the program refuses by a rule (configRules.ts) that the schema cannot state, with why; the others are
 * schema-level: the shipped schema refuses them too (test/schema.test.ts checks both). */
export const RULE_LEVEL: Readonly<Record<string, string>> = {
  "workers: bootstrap without the CA key on the control plane":
    "a relation between two keys (caKeys follows workers), as the other relations",
  "bootstrap signing longer than a leaf": "a comparison of two numbers",
  "invalid node IP": IP,
  "node address is a name": IP,
  "service subnet not a CIDR": CIDR,
  "service subnet prefix too long": CIDR,
  "service subnet with host bits": CIDR,
  "service subnet /32 leaves no VIP": CIDR,
  "service subnet /29 has fewer than kubeadm's 10 addresses": CIDR,
  "dual-stack with two IPv4 CIDRs": CIDR,
  "three service CIDRs": CIDR,
  "IPv6 service subnet too large": CIDR,
  "IPv4 service subnet too large": CIDR,
  "service subnet is the IPv4 default route": CIDR,
  "service subnet is the IPv6 default route": CIDR,
  "service subnet holds 0.0.0.0": CIDR,
  "service subnet holds the broadcast address": CIDR,
  "IPv4 multicast service subnet": CIDR,
  "IPv6 multicast service subnet": CIDR,
  "IPv4-mapped IPv6 service subnet": CIDR,
  "duplicate node names": UNIQUE,
  "duplicate node addresses": UNIQUE,
  "duplicate node addresses, one IPv4-mapped IPv6": UNIQUE,
  "duplicate cluster names": UNIQUE,
  "duplicate users": UNIQUE,
  "leaf valid longer than its CA": RELATION,
  "early renewal not shorter than validity": RELATION,
  "certSAN neither IP nor DNS": SAN,
  "certSAN with upper case": SAN,
  "certSAN 0.0.0.0": IP,
  "certSAN ::": IP,
  "etcd server SAN multicast": IP,
  "etcd peer SAN invalid": SAN,
  "IPv6 addresses with a zone": IP,
  "node address 0.0.0.0": IP,
  "node address ::": IP,
  "node address ::ffff:0.0.0.0": IP,
  "worker address 255.255.255.255": IP,
  "node address IPv4 multicast": IP,
  "node address IPv6 multicast": IP,
  "ssh.host 0.0.0.0": IP,
  "control-plane endpoint 0.0.0.0": HOST_PORT,
  "control-plane endpoint [::]": HOST_PORT,
  "control-plane endpoint multicast": HOST_PORT,
  "control-plane endpoint with bad port": HOST_PORT,
  "control-plane endpoint not a host": HOST_PORT,
  "two nodes of a cluster with one SSH target": SSH_TARGET,
  "two nodes of two clusters with one SSH target": SSH_TARGET,
  "ssh.host IPv4-mapped IPv6 is the SSH target of the node at that IPv4 address": SSH_TARGET,
  "a node address IPv4-mapped IPv6 in one cluster is the plain ssh.host of another": SSH_TARGET,
  "ssh.root with repeated and trailing slashes is the same root": SSH_TARGET,
};
