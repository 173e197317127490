import assert from "node:assert/strict";
import { ConfigError, validateClusters } from "../components/config";
import { planClusters } from "../components/plan";

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

/** [description, mutate the good config (or return a whole new value), expected problem substrings]. */
const BAD: [string, (c: any) => unknown, string[]][] = [
  ["invalid node IP", (c) => { c.nodes[2].address = "10.0.0.300"; }, ['clusters[0].nodes[2].address: "10.0.0.300" is not an IP address']],
  ["node address is a name", (c) => { c.nodes[0].address = "cp-1.example.com"; }, ['clusters[0].nodes[0].address: "cp-1.example.com" is not an IP address']],
  ["service subnet not a CIDR", (c) => { c.serviceSubnet = "10.96.0.0"; }, ['clusters[0].serviceSubnet: "10.96.0.0" is not a CIDR']],
  ["service subnet prefix too long", (c) => { c.serviceSubnet = "10.96.0.0/33"; }, ["clusters[0].serviceSubnet", "prefix must be at most 32"]],
  ["service subnet with host bits", (c) => { c.serviceSubnet = "10.96.0.1/12"; }, ['clusters[0].serviceSubnet: "10.96.0.1/12" has host bits set (did you mean "10.96.0.0/12"?)']],
  ["service subnet /32 leaves no VIP", (c) => { c.serviceSubnet = "10.96.0.5/32"; }, ['"10.96.0.5/32" is too small']],
  ["dual-stack with two IPv4 CIDRs", (c) => { c.serviceSubnet = "10.96.0.0/12,10.112.0.0/12"; }, ["needs one IPv4 and one IPv6 CIDR"]],
  ["three service CIDRs", (c) => { c.serviceSubnet = "10.96.0.0/12,fd00::/108,fd01::/108"; }, ["has 3 CIDRs"]],
  ["IPv6 service subnet too large", (c) => { c.serviceSubnet = "fd00::/64"; }, ['"fd00::/64" is too large']],
  ["missing service subnet", (c) => { delete c.serviceSubnet; }, ["clusters[0].serviceSubnet: is required"]],
  ["duplicate node names", (c) => { c.nodes[2].name = "cp-1"; }, ['clusters[0].nodes[2].name: "cp-1" is used by more than one node']],
  ["duplicate node addresses", (c) => { c.nodes[1].address = "10.0.0.11"; }, ['clusters[0].nodes[1].address: "10.0.0.11" is used by more than one node']],
  ["duplicate cluster names", (c) => [c, { ...good(), name: "dev" }], ['clusters[1].name: "dev" is used by more than one cluster']],
  ["node name with capitals", (c) => { c.nodes[0].name = "CP-1"; }, ['clusters[0].nodes[0].name: "CP-1" is not a valid node name']],
  ["node name with underscore", (c) => { c.nodes[1].name = "cp_2"; }, ['clusters[0].nodes[1].name: "cp_2" is not a valid node name']],
  ["cluster name not an RFC 1123 label", (c) => { c.name = "dev.eu"; }, ['clusters[0].name: "dev.eu" is not an RFC 1123 label']],
  ["cluster name too long", (c) => { c.name = "a".repeat(64); }, ["clusters[0].name", "at most 63"]],
  ["no control-plane node", (c) => { c.nodes = c.nodes.filter((n: any) => n.role === "worker"); }, ["clusters[0].nodes: has no node with role control-plane"]],
  ["no nodes at all", (c) => { c.nodes = []; }, ["clusters[0].nodes: is empty"]],
  ["unknown role", (c) => { c.nodes[2].role = "master"; }, ['clusters[0].nodes[2].role: "master" is not one of control-plane, worker']],
  ["unknown key algorithm", (c) => { c.keyAlgorithm = "ED25519"; }, ['clusters[0].keyAlgorithm: "ED25519" is not one of RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384']],
  ["leaf valid longer than its CA", (c) => { c.validity = { caHours: 8760, leafHours: 17520 }; }, ["clusters[0].validity.leafHours: 17520 h is longer than the CA validity (8760 h)"]],
  ["early renewal not shorter than validity", (c) => { c.validity = { leafHours: 100, earlyRenewalHours: 100 }; }, ["clusters[0].validity.earlyRenewalHours: 100 h is not shorter than leafHours"]],
  ["fractional hours", (c) => { c.validity = { leafHours: 10.5 }; }, ["clusters[0].validity.leafHours: must be a whole number of hours"]],
  ["certSAN neither IP nor DNS", (c) => { c.apiServer.certSANs.push("not a name!"); }, ['clusters[0].apiServer.certSANs[2]: "not a name!" is neither an IP address nor a DNS name']],
  ["certSAN with upper case", (c) => { c.apiServer.certSANs = ["API.example.com"]; }, ['clusters[0].apiServer.certSANs[0]: "API.example.com"']],
  ["etcd peer SAN invalid", (c) => { c.etcd.peerCertSANs = ["etcd_1"]; }, ['clusters[0].etcd.peerCertSANs[0]: "etcd_1"']],
  ["certSANs not a list", (c) => { c.apiServer.certSANs = "k8s.example.com"; }, ['clusters[0].apiServer.certSANs: must be a list, got "k8s.example.com"']],
  ["typo at cluster level", (c) => { c.keyAlgoritm = "RSA-2048"; }, ['clusters[0].keyAlgoritm: unknown key (did you mean "keyAlgorithm"?)']],
  ["typo inside apiServer", (c) => { c.apiServer.certSans = []; }, ['clusters[0].apiServer.certSans: unknown key (did you mean "certSANs"?)']],
  ["typo inside a node", (c) => { c.nodes[1].adress = c.nodes[1].address; delete c.nodes[1].address; }, ['clusters[0].nodes[1].adress: unknown key (did you mean "address"?)', "clusters[0].nodes[1].address: is required"]],
  ["empty cluster list", () => [], ["clusters: is empty"]],
  ["clusters not a list", () => ({ name: "dev" }), ["clusters: must be a list of clusters"]],
  ["clusters not set", () => undefined, ["clusters: is not set"]],
  ["control-plane endpoint with bad port", (c) => { c.controlPlaneEndpoint = "api.example.com:70000"; }, ['clusters[0].controlPlaneEndpoint: "api.example.com:70000": port "70000" is not a number from 1 to 65535']],
  ["control-plane endpoint not a host", (c) => { c.controlPlaneEndpoint = "https://api"; }, ['clusters[0].controlPlaneEndpoint: "https://api" must be host or host:port, without a scheme']],
  ["user with a group twice", (c) => { c.users[0].groups = ["developers", "ops", "developers"]; }, ['clusters[0].users[0].groups[2]: "developers" is listed twice']],
  ["user in system:masters without breakGlass", (c) => { c.users[0].groups = ["system:masters"]; }, ['clusters[0].users[0].groups: "system:masters" bypasses RBAC', "breakGlass: true"]],
  ["breakGlass without system:masters", (c) => { c.users[0].breakGlass = true; }, ['clusters[0].users[0].breakGlass: is only for a user in "system:masters"']],
  ["user with a reserved name", (c) => { c.users[0].name = "kubernetes-admin"; }, ['clusters[0].users[0].name: "kubernetes-admin" is reserved']],
  ["duplicate users", (c) => { c.users.push({ name: "alice", groups: [] }); }, ['clusters[0].users[1].name: "alice" is used by more than one user']],
  ["unknown caKeys placement", (c) => { c.caKeys = "workers"; }, ['clusters[0].caKeys: "workers" is not one of none, control-plane']],
  ["protectCAs not a boolean", (c) => { c.protectCAs = "yes"; }, ['clusters[0].protectCAs: must be true or false, got "yes"']],
  ["dnsDomain invalid", (c) => { c.dnsDomain = "Cluster.Local"; }, ['clusters[0].dnsDomain: "Cluster.Local" is not a DNS domain']],
  ["bindPort out of range", (c) => { c.apiServer.bindPort = 70000; }, ["clusters[0].apiServer.bindPort: 70000 is not a port"]],
  ["local directory with ~", (c) => { c.delivery = { mode: "local", localDirectory: "~/pki" }; }, ['clusters[0].delivery.localDirectory: "~/pki" may only contain']],
  ["cluster entry not an object", () => ["dev"], ['clusters[0]: must be an object, got "dev"']],
];

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

  it(`rejects ${BAD.length} bad configs, naming the path of each problem`, () => {
    assert.ok(BAD.length >= 25);
    for (const [what, mutate, expected] of BAD) {
      const c = good();
      const replaced = mutate(c);
      const raw = replaced === undefined && what !== "clusters not set" ? [c] : replaced;
      const problems = problemsOf(raw);
      assert.ok(problems.length > 0, `${what}: accepted`);
      for (const e of expected) {
        assert.ok(problems.some((p) => p.includes(e)), `${what}: expected a problem containing\n    ${e}\n  got\n    ${problems.join("\n    ")}`);
      }
    }
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

describe("config validation: defects found by the audit (issue 12)", () => {
  const sshCluster = (name: string, nodes: any[]) => ({ ...good(), name, delivery: { mode: "ssh" }, nodes });
  const sshNode = (name: string, address: string, ssh: Record<string, unknown> = {}) =>
    ({ name, role: "control-plane", address, ssh: { hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFwu3NorCnke+4W3tWap/t5afXAhZDpmCfHUfqO8PhAV", ...ssh } });

  it("an IPv6 address with a zone is a config error with its path, not a crash", () => {
    const c = good();
    c.nodes[0].address = "fe80::1%eth0";
    c.apiServer.certSANs = ["fe80::2%eth1"];
    const problems = problemsOf([c]);
    assert.deepEqual(problems.map((p) => p.split(": ")[0]).sort(), ["clusters[0].apiServer.certSANs[0]", "clusters[0].nodes[0].address"]);
    assert.ok(problems.every((p) => /zone/.test(p)), problems.join("\n"));
  });

  it("an invalid delivery setting is reported once, at its root cause, not as a problem of every node", () => {
    const c = sshCluster("dev", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12")]);
    c.delivery = { mode: "sftp" };
    assert.deepEqual(problemsOf([c]), ['clusters[0].delivery.mode: "sftp" is not one of none, local, ssh']);
    c.delivery = "ssh";
    assert.deepEqual(problemsOf([c]), ['clusters[0].delivery: must be an object, got "ssh"']);
  });

  it("nodes given as a map is reported as such, not also as empty", () => {
    const c = good();
    c.nodes = { "cp-1": { role: "control-plane", address: "10.0.0.11" } };
    assert.deepEqual(problemsOf([c]), ['clusters[0].nodes: must be a list, got {"cp-1":{"role":"control-plane","address":"10.0.0.11"}}']);
  });

  it("two nodes of the stack may not share one SSH target (host, port, root), across clusters too", () => {
    const a = sshCluster("a", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12", { host: "10.0.0.11" })]);
    assert.deepEqual(problemsOf([a]), ['clusters[0].nodes[1].ssh: 10.0.0.11:22 / is also the SSH target of clusters[0].nodes[0] (two nodes would install into one filesystem)']);
    const b = sshCluster("b", [sshNode("cp-1", "10.9.0.11", { host: "10.0.0.11", port: 22, root: "/" })]);
    const ok = sshCluster("a", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12")]);
    assert.deepEqual(problemsOf([ok, b]), ['clusters[1].nodes[0].ssh: 10.0.0.11:22 / is also the SSH target of clusters[0].nodes[0] (two nodes would install into one filesystem)']);
    // Same host, other port or other root: distinct targets (containers, toolboxes).
    const c = sshCluster("c", [sshNode("cp-1", "10.0.0.11"), sshNode("cp-2", "10.0.0.12", { host: "10.0.0.11", port: 2222 }),
      sshNode("cp-3", "10.0.0.13", { host: "10.0.0.11", root: "/host" })]);
    assert.deepEqual(problemsOf([c]), []);
  });

  it("node names that collide with the render's own files in a cluster directory are config errors", () => {
    for (const name of ["admin.conf", "alice.conf", "users"]) {
      const c = good();
      c.nodes[2].name = name;
      assert.ok(problemsOf([c]).some((p) => p.startsWith("clusters[0].nodes[2].name:") && /collides/.test(p)), name);
    }
  });
});
