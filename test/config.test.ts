import assert from "node:assert/strict";
import { ConfigError, validateClusters, WorkersFileReader } from "../components/model/config";
import { planClusters } from "../components/model/plan";
import { apiServerAltNames } from "../components/model/sans";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readWorkersFile } from "../components/workersFile";
import { BAD, Expected, good, sshCluster, sshNode } from "./configCases";
import { makeTempDir } from "./e2e/proc";

function problemsOf(raw: unknown, read?: WorkersFileReader): readonly string[] {
  try {
    validateClusters(raw, read);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e.problems;
  }
  return [];
}

/** `raw` has exactly the `expected` problems: each matched by one whole line of its own, and no other. */
function assertProblems(raw: unknown, expected: readonly Expected[], read?: WorkersFileReader): void {
  const problems = problemsOf(raw, read);
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

describe("config: workersFile, the workers listed in a file beside the stack (PULUMI_CONFIG stays under 128 KiB)", () => {
  /** The good cluster with `workers.yaml` holding `workers` (a reader from memory: the model reads no file itself). */
  const withFile = (workers: unknown, mutate: (c: any) => void = () => {}): [unknown[], WorkersFileReader] => {
    const c = good();
    c.workersFile = "fleet/workers.yaml";
    mutate(c);
    return [[c], (path) => (path === "fleet/workers.yaml" ? structuredClone(workers) : assert.fail(`read ${path}`))];
  };
  const worker = (name: string, address: string) => ({ name, address });

  it("appends the file's workers to the cluster's nodes, role worker by default, in both worker modes", () => {
    for (const workers of ["managed", "bootstrap"]) {
      const [raw, read] = withFile([worker("w-2", "10.0.0.22"), { ...worker("w-3", "10.0.0.23"), role: "worker" }], (c) => {
        c.workers = workers;
        c.caKeys = "control-plane";
      });
      const [c] = validateClusters(raw, read);
      assert.deepEqual(
        c!.nodes.map((n) => `${n.name} ${n.role}`),
        ["cp-1 control-plane", "cp-2 control-plane", "w-1 worker", "w-2 worker", "w-3 worker"],
        workers,
      );
    }
  });

  it("an entry's problem names its path in the file's list and the file", () => {
    const [raw, read] = withFile([worker("w-2", "10.0.0.22"), worker("w-3", "10.0.0.300")]);
    assertProblems(raw, [/clusters\[0\]\.workersFile\[1\]\.address: "10\.0\.0\.300" .* \(fleet\/workers\.yaml\)/], read);
  });

  it("refuses a control-plane node in the file", () => {
    const [raw, read] = withFile([{ ...worker("w-2", "10.0.0.22"), role: "control-plane" }]);
    assertProblems(raw, ['clusters[0].workersFile[0].role: "control-plane": a workers file lists workers only (fleet/workers.yaml)'], read);
  });

  it("names and addresses are unique across nodes and the file, addresses in canonical form", () => {
    const [raw, read] = withFile([worker("w-1", "10.0.0.22"), worker("w-3", "::ffff:10.0.0.21")]);
    assertProblems(
      raw,
      [
        'clusters[0].workersFile[0].name: "w-1" is used by more than one node (fleet/workers.yaml)',
        'clusters[0].workersFile[1].address: "10.0.0.21" is used by more than one node (fleet/workers.yaml)',
      ],
      read,
    );
  });

  it("an SSH target shared with a listed node names both paths", () => {
    const c = sshCluster("dev", [sshNode("cp-1", "10.0.0.11")]);
    const raw = [{ ...c, workersFile: "w.json" }];
    const entry = { ...sshNode("w-1", "10.0.0.21", { host: "10.0.0.11" }), role: undefined };
    assertProblems(
      raw,
      [
        "clusters[0].workersFile[0].ssh: 10.0.0.11:22 / is also the SSH target of clusters[0].nodes[0] (two nodes would install into one filesystem) (w.json)",
      ],
      () => [entry],
    );
  });

  it("refuses a file that does not hold a list", () => {
    const [raw, read] = withFile({ nodes: [] });
    assertProblems(raw, ["clusters[0].workersFile: fleet/workers.yaml must hold a list of worker nodes, got a mapping"], read);
  });

  it("a path with a .. component is refused and not read", () => {
    const [raw] = withFile([], (c) => (c.workersFile = "../workers.yaml"));
    assertProblems(raw, ['clusters[0].workersFile: "../workers.yaml" has a "." or ".." component: write the path without them'], () =>
      assert.fail("read"),
    );
  });

  it("without a reader (the KubePki component) a workers file is refused, not ignored", () => {
    const [raw] = withFile([]);
    assertProblems(raw, [
      "clusters[0].workersFile: fleet/workers.yaml: only the stack program and the offline tools read workers files: list the workers in nodes",
    ]);
  });

  it("the edge reader: a missing file is named", () => {
    const [raw] = withFile([]);
    assertProblems(raw, ["clusters[0].workersFile: fleet/workers.yaml: no such file"], readWorkersFile(makeTempDir("workers")));
  });

  it("the edge reader: a file that is not YAML is named", () => {
    const dir = makeTempDir("workers");
    writeFileSync(join(dir, "w.yaml"), "- name: w-2\n address: [\n");
    const [raw] = withFile([], (c) => (c.workersFile = "w.yaml"));
    assertProblems(raw, [/clusters\[0\]\.workersFile: w\.yaml: not valid YAML: .+/], readWorkersFile(dir));
  });

  it("the edge reader: YAML and JSON files relative to the project give the same nodes", () => {
    const dir = makeTempDir("workers");
    writeFileSync(join(dir, "w.yaml"), "- name: w-2\n  address: 10.0.0.22\n");
    writeFileSync(join(dir, "w.json"), JSON.stringify([worker("w-2", "10.0.0.22")]));
    const nodes = (file: string) => validateClusters([{ ...good(), workersFile: file }], readWorkersFile(dir))[0]!.nodes;
    assert.deepEqual(nodes("w.yaml"), nodes("w.json"));
    assert.equal(nodes("w.yaml").length, 4);
  });
});
