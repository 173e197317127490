// Local delivery: the real program, with the command stand-in really running the install script locally, writes
// every node's bundles under <dir>/<cluster>/<node>/ exactly as the render writes them; an unchanged apply runs
// nothing; a SAN change re-sends only the apiserver bundles (no previous key kept: nothing restarts locally); a cut
// transfer leaves the node untouched; a node that loses a role loses its credentials.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { defineStack, planClusters } from "../components";
import { evaluate, Evaluation } from "../emulator/evaluate";
import { CommandStandIn } from "../emulator/commandStandIn";
import { writeCluster } from "../offline/render";
import { clusterConfig } from "./support";
import { readTree } from "./support-tree";

const skipManifests = /\/manifest\.json$|^\/admin\.conf$/;
/** kube-pki's own bookkeeping on a node (lock, ledger of installed files), which the render does not write. */
const skipState = /^\/var\/lib\/kube-pki\//;

describe("local delivery (the install script run for real)", function () {
  const dir = mkdtempSync(join(tmpdir(), "kube-pki-local-"));
  const config = (extra: Record<string, unknown> = {}) => [
    clusterConfig("lab", 3, 2, { delivery: { mode: "local", localDirectory: join(dir, "out") }, ...extra }),
  ];
  let first: Evaluation<ReturnType<typeof defineStack>>;
  let commands: CommandStandIn;

  before(async () => {
    commands = new CommandStandIn();
    first = await evaluate(() => defineStack(planClusters(config()), { stack: "lab" }), { extra: commands });
    assert.deepEqual(first.failures, []);
  });
  after(() => {
    commands.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes every node's files with their modes, identical to the render of the same PKI", async () => {
    const rendered = join(dir, "render");
    await writeCluster(first.result.clusters[0]!, rendered);
    const pushes = first.result.clusters[0]!.catalog.bundles.length;
    assert.equal(commands.runs.length, pushes + 5, "one command per bundle, and the node program once per node");
    for (const node of ["cp-1", "cp-2", "cp-3", "w-1", "w-2"]) {
      const delivered = readTree(join(dir, "out", "lab", node), { skip: skipState });
      const expected = readTree(join(rendered, node), { skip: skipManifests });
      assert.deepEqual(delivered, expected, node);
    }
    assert.deepEqual(Object.keys(readTree(join(dir, "out", "lab", "w-1"), { skip: skipState })).sort(), [
      "/etc/kubernetes/kube-proxy.conf",
      "/etc/kubernetes/kubelet.conf",
      "/etc/kubernetes/pki/ca.crt",
      "/var/lib/kubelet/pki/kubelet-serving.crt",
      "/var/lib/kubelet/pki/kubelet-serving.key",
    ]);
  });

  it("an apply with nothing changed runs nothing", async () => {
    const before = commands.runs.length;
    const again = await evaluate(() => defineStack(planClusters(config()), { stack: "lab" }), { extra: commands, prior: first });
    assert.equal(commands.runs.length, before);
    assert.ok(again.resources.every((r) => r.op === "same"));
  });

  it("a SAN change re-sends only the apiserver bundles, and keeps no previous key (nothing restarts locally)", async () => {
    const san = config()[0];
    san.apiServer.certSANs.push("new.example.com");
    const before = commands.runs.length;
    const crt = (n: string) => join(dir, "out", "lab", n, "etc/kubernetes/pki/apiserver.crt");
    const oldPem = readFileSync(crt("cp-2"), "utf8");
    const next = await evaluate(() => defineStack(planClusters([san]), { stack: "lab" }), { extra: commands, prior: first });
    const runs = commands.runs
      .slice(before)
      .map((r) => r.resource)
      .sort();
    console.log(`      SAN change ran: ${runs.join(", ")}`);
    assert.deepEqual(runs, ["lab-cp-1-push-apiserver", "lab-cp-2-push-apiserver", "lab-cp-3-push-apiserver"]);
    for (const n of ["cp-1", "cp-2", "cp-3"]) {
      const cert = new X509Certificate(readFileSync(crt(n)));
      assert.match(cert.subjectAltName!, /DNS:new\.example\.com/);
      const key = createPrivateKey(readFileSync(join(dir, "out", "lab", n, "etc/kubernetes/pki/apiserver.key")));
      assert.ok(cert.checkPrivateKey(key), `${n}: key matches certificate`);
    }
    const pki = join(dir, "out", "lab", "cp-2", "etc/kubernetes/pki");
    assert.notEqual(readFileSync(crt("cp-2"), "utf8"), oldPem);
    // Nothing restarts after a local delivery, so no previous version is kept: a replaced key leaves the node.
    assert.deepEqual(
      readdirSync(pki).filter((f) => f.includes("kube-pki-prev")),
      [],
    );
    // Directories the install script created are 0755, whatever its umask for files.
    assert.equal(statSync(join(dir, "out", "lab", "cp-2", "etc/kubernetes")).mode & 0o777, 0o755);
    first = next;
  });

  it("a transfer cut halfway installs nothing, and the next apply completes", async () => {
    const san = config()[0];
    san.apiServer.certSANs.push("new.example.com", "cut.example.com");
    const cutting = new CommandStandIn({
      cutAfter: (r) => (r.resource === "lab-cp-1-push-apiserver" ? Math.floor(r.stdinBytes / 2) : undefined),
    });
    const crt = join(dir, "out", "lab", "cp-1", "etc/kubernetes/pki/apiserver.crt");
    const key = join(dir, "out", "lab", "cp-1", "etc/kubernetes/pki/apiserver.key");
    const before = readFileSync(crt, "utf8");
    const failed = await evaluate(() => defineStack(planClusters([san]), { stack: "lab" }), { extra: cutting, prior: first }).catch(
      (e) => e,
    );
    const failures = "failures" in failed ? failed.failures : [];
    assert.deepEqual(
      failures.map((f: { name: string }) => f.name),
      ["lab-cp-1-push-apiserver"],
    );
    assert.equal(readFileSync(crt, "utf8"), before, "cp-1 still has its previous certificate");
    assert.ok(new X509Certificate(readFileSync(crt)).checkPrivateKey(createPrivateKey(readFileSync(key))), "and the matching key");
    assert.ok(!existsSync(join(dir, "out", "lab", "cp-1", "etc/kubernetes/pki/.apiserver.crt.kube-pki-new")), "no staged leftovers");
    // The next apply retries the failed push and completes.
    const clean = new CommandStandIn();
    const retry = await evaluate(() => defineStack(planClusters([san]), { stack: "lab" }), { extra: clean, prior: failed });
    assert.deepEqual(
      clean.runs.map((r) => r.resource),
      ["lab-cp-1-push-apiserver"],
      "only the failed push runs again",
    );
    assert.deepEqual(retry.failures, []);
    assert.match(new X509Certificate(readFileSync(crt)).subjectAltName!, /DNS:cut\.example\.com/);
    assert.ok(new X509Certificate(readFileSync(crt)).checkPrivateKey(createPrivateKey(readFileSync(key))));
    cutting.dispose();
    clean.dispose();
  });

  it("CA keys placed with caKeys: control-plane are removed from the nodes when caKeys goes back to none", async () => {
    const keys = (node: string) =>
      ["ca.key", "front-proxy-ca.key", "etcd/ca.key"].map((f) => join(dir, "out", "lab", node, "etc/kubernetes/pki", f));
    const withKeys = await evaluate(() => defineStack(planClusters(config({ caKeys: "control-plane" })), { stack: "lab" }), {
      extra: commands,
      prior: first,
    });
    assert.deepEqual(withKeys.failures, []);
    assert.ok(keys("cp-1").every(existsSync), "placed on control-plane nodes");
    assert.ok(!keys("w-1").some(existsSync), "never on workers");
    const without = await evaluate(() => defineStack(planClusters(config({ caKeys: "none" })), { stack: "lab" }), {
      extra: commands,
      prior: withKeys,
    });
    assert.deepEqual(without.failures, []);
    for (const n of ["cp-1", "cp-2", "cp-3"]) assert.ok(!keys(n).some(existsSync), `${n}: CA keys removed`);
    first = without;
  });
  it("a control-plane node turned worker, and an old init node, lose every credential they are no longer entitled to", async () => {
    // removeFiles stays off: losing entitlement removes files regardless. A file of the operator's beside ours stays.
    const root = (node: string) => join(dir, "out", "lab", node);
    const userFile = join(root("cp-3"), "etc/kubernetes/pki/operator-notes.txt");
    writeFileSync(userFile, "mine\n");
    const cpOnly = [
      "etc/kubernetes/admin.conf",
      "etc/kubernetes/controller-manager.conf",
      "etc/kubernetes/scheduler.conf",
      "etc/kubernetes/pki/apiserver.key",
      "etc/kubernetes/pki/apiserver-etcd-client.key",
      "etc/kubernetes/pki/etcd/server.key",
      "etc/kubernetes/pki/etcd/peer.key",
      "etc/kubernetes/pki/sa.key",
      "etc/kubernetes/pki/front-proxy-client.key",
    ];
    assert.ok(
      cpOnly.every((f) => existsSync(join(root("cp-3"), f))),
      "cp-3 holds control-plane credentials",
    );
    assert.ok(existsSync(join(root("cp-1"), "etc/kubernetes/super-admin.conf")), "cp-1 is the init node");
    // cp-3 becomes a worker, and cp-2 is listed first: it becomes the init node (super-admin.conf moves there).
    const cfg = config()[0];
    cfg.nodes = [cfg.nodes[1], cfg.nodes[0], { ...cfg.nodes[2], role: "worker" }, ...cfg.nodes.slice(3)];
    const next = await evaluate(() => defineStack(planClusters([cfg]), { stack: "lab" }), { extra: commands, prior: first });
    assert.deepEqual(next.failures, []);
    const left = cpOnly.filter((f) => existsSync(join(root("cp-3"), f)));
    assert.deepEqual(left, [], "no control-plane credential left on the new worker");
    assert.equal(readFileSync(userFile, "utf8"), "mine\n", "the operator's own file is kept");
    assert.ok(
      existsSync(join(root("cp-3"), "etc/kubernetes/kubelet.conf")) && existsSync(join(root("cp-3"), "etc/kubernetes/pki/ca.crt")),
      "what a worker needs stays",
    );
    assert.ok(existsSync(join(root("cp-2"), "etc/kubernetes/super-admin.conf")), "super-admin.conf on the new init node");
    assert.equal(existsSync(join(root("cp-1"), "etc/kubernetes/super-admin.conf")), false, "and gone from the old one");
    assert.ok(!readdirSync(join(root("cp-3"), "etc/kubernetes/pki")).some((f) => f.includes("kube-pki-prev")), "no backup of them either");
    first = next;
  });
});
