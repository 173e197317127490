import assert from "node:assert/strict";
import { ConfigError, validateClusters } from "../components/model/config";
import { planClusters } from "../components/model/plan";
import { apiServerAltNames } from "../components/model/sans";
import { BAD, Expected, good, sshCluster, sshNode } from "./configCases";

function problemsOf(raw: unknown): readonly string[] {
  try {
    validateClusters(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.problems;
  }
  return [];
}

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
    try {
      validateClusters([c, { ...good(), name: "prod", serviceSubnet: "nonsense" }]);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 5);
    for (const path of [
      "clusters[0].nodes[0].address",
      "clusters[0].nodes[2].name",
      "clusters[0].keyAlgorithm",
      "clusters[0].apiServer.certSANs[1]",
      "clusters[1].serviceSubnet",
    ]) {
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
    assert.throws(
      () => planClusters([good(), { ...good(), name: "dev-etcd" }]),
      /clusters\[1\]: resource name "dev-etcd-ca" is also made by clusters\[0\]/,
    );
    assert.doesNotThrow(() => planClusters([good(), { ...good(), name: "prod" }]));
  });
});

describe("config validation: what stays allowed", () => {
  it("the same SSH host with another port or another root is another target (containers, toolboxes)", () => {
    const c = sshCluster("c", [
      sshNode("cp-1", "10.0.0.11"),
      sshNode("cp-2", "10.0.0.12", { host: "10.0.0.11", port: 2222 }),
      sshNode("cp-3", "10.0.0.13", { host: "10.0.0.11", root: "/host" }),
    ]);
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
