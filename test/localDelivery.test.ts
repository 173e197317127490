// Local delivery: the real program, with the command stand-in really running the install script locally, writes
// every node's bundles under <dir>/<cluster>/<node>/ exactly as the render writes them; an unchanged apply runs
// nothing; a SAN change re-sends only the apiserver bundles and keeps the previous version; a cut transfer leaves
// the node untouched.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { defineStack } from "../components";
import { evaluate, Evaluation } from "../offline/evaluate";
import { CommandStandIn } from "../offline/commandStandIn";
import { writeCluster } from "../offline/render";
import { clusterConfig } from "./support";
import { readTree } from "./support-tree";

const skipManifests = /\/manifest\.json$|^\/admin\.conf$/;

describe("local delivery (the install script run for real)", function () {
  const dir = mkdtempSync(join(tmpdir(), "kube-pki-local-"));
  const config = (extra: Record<string, unknown> = {}) =>
    [clusterConfig("lab", 3, 2, { delivery: { mode: "local", localDirectory: join(dir, "out") }, ...extra })];
  let first: Evaluation<ReturnType<typeof defineStack>>;
  let commands: CommandStandIn;

  before(async () => {
    commands = new CommandStandIn();
    first = await evaluate(() => defineStack(config(), { stack: "lab" }), { extra: commands });
    assert.deepEqual(first.failures, []);
  });
  after(() => { commands.dispose(); rmSync(dir, { recursive: true, force: true }); });

  it("writes every node's files with their modes, identical to the render of the same PKI", async () => {
    const rendered = join(dir, "render");
    await writeCluster(first.result.clusters[0]!, rendered);
    const pushes = first.result.clusters[0]!.catalog.bundles.length;
    assert.equal(commands.runs.length, pushes, "one command per bundle");
    for (const node of ["cp-1", "cp-2", "cp-3", "w-1", "w-2"]) {
      const delivered = readTree(join(dir, "out", "lab", node));
      const expected = readTree(join(rendered, node), { skip: skipManifests });
      assert.deepEqual(delivered, expected, node);
    }
    assert.deepEqual(Object.keys(readTree(join(dir, "out", "lab", "w-1"))).sort(), [
      "/etc/kubernetes/kube-proxy.conf", "/etc/kubernetes/kubelet.conf", "/etc/kubernetes/pki/ca.crt",
      "/var/lib/kubelet/pki/kubelet-serving.crt", "/var/lib/kubelet/pki/kubelet-serving.key"]);
  });

  it("an apply with nothing changed runs nothing", async () => {
    const before = commands.runs.length;
    const again = await evaluate(() => defineStack(config(), { stack: "lab" }), { extra: commands, prior: first });
    assert.equal(commands.runs.length, before);
    assert.ok(again.resources.every((r) => r.op === "same"));
  });

  it("a SAN change re-sends only the apiserver bundles, and keeps each previous version", async () => {
    const san = config()[0];
    san.apiServer.certSANs.push("new.example.com");
    const before = commands.runs.length;
    const crt = (n: string) => join(dir, "out", "lab", n, "etc/kubernetes/pki/apiserver.crt");
    const oldPem = readFileSync(crt("cp-2"), "utf8");
    const next = await evaluate(() => defineStack([san], { stack: "lab" }), { extra: commands, prior: first });
    const runs = commands.runs.slice(before).map((r) => r.resource).sort();
    console.log(`      SAN change ran: ${runs.join(", ")}`);
    assert.deepEqual(runs, ["lab-cp-1-push-apiserver", "lab-cp-2-push-apiserver", "lab-cp-3-push-apiserver"]);
    for (const n of ["cp-1", "cp-2", "cp-3"]) {
      const cert = new X509Certificate(readFileSync(crt(n)));
      assert.match(cert.subjectAltName!, /DNS:new\.example\.com/);
      const key = createPrivateKey(readFileSync(join(dir, "out", "lab", n, "etc/kubernetes/pki/apiserver.key")));
      assert.ok(cert.checkPrivateKey(key), `${n}: key matches certificate`);
    }
    const pki = join(dir, "out", "lab", "cp-2", "etc/kubernetes/pki");
    assert.equal(readFileSync(join(pki, ".apiserver.crt.kube-pki-prev"), "utf8"), oldPem);
    // The whole bundle is kept, so the kept key and certificate still match each other.
    assert.ok(new X509Certificate(readFileSync(join(pki, ".apiserver.crt.kube-pki-prev")))
      .checkPrivateKey(createPrivateKey(readFileSync(join(pki, ".apiserver.key.kube-pki-prev")))));
    assert.equal(statSync(join(pki, ".apiserver.key.kube-pki-prev")).mode & 0o777, 0o600);
    // Directories the install script created are 0755, whatever its umask for files.
    assert.equal(statSync(join(dir, "out", "lab", "cp-2", "etc/kubernetes")).mode & 0o777, 0o755);
    first = next;
  });

  it("a transfer cut halfway installs nothing, and the next apply completes", async () => {
    const san = config()[0];
    san.apiServer.certSANs.push("new.example.com", "cut.example.com");
    const cutting = new CommandStandIn({ cutAfter: (r) => (r.resource === "lab-cp-1-push-apiserver" ? Math.floor(r.stdinBytes / 2) : undefined) });
    const crt = join(dir, "out", "lab", "cp-1", "etc/kubernetes/pki/apiserver.crt");
    const key = join(dir, "out", "lab", "cp-1", "etc/kubernetes/pki/apiserver.key");
    const before = readFileSync(crt, "utf8");
    const failed = await evaluate(() => defineStack([san], { stack: "lab" }), { extra: cutting, prior: first }).catch((e) => e);
    const failures = "failures" in failed ? failed.failures : [];
    assert.deepEqual(failures.map((f: { name: string }) => f.name), ["lab-cp-1-push-apiserver"]);
    assert.equal(readFileSync(crt, "utf8"), before, "cp-1 still has its previous certificate");
    assert.ok(new X509Certificate(readFileSync(crt)).checkPrivateKey(createPrivateKey(readFileSync(key))), "and the matching key");
    assert.ok(!existsSync(join(dir, "out", "lab", "cp-1", "etc/kubernetes/pki/.apiserver.crt.kube-pki-new")), "no staged leftovers");
    // The next apply retries the failed push and completes.
    const clean = new CommandStandIn();
    const retry = await evaluate(() => defineStack([san], { stack: "lab" }), { extra: clean, prior: failed });
    assert.deepEqual(clean.runs.map((r) => r.resource), ["lab-cp-1-push-apiserver"], "only the failed push runs again");
    assert.deepEqual(retry.failures, []);
    assert.match(new X509Certificate(readFileSync(crt)).subjectAltName!, /DNS:cut\.example\.com/);
    assert.ok(new X509Certificate(readFileSync(crt)).checkPrivateKey(createPrivateKey(readFileSync(key))));
    cutting.dispose();
    clean.dispose();
  });

  it("CA keys placed with caKeys: control-plane are removed from the nodes when caKeys goes back to none", async () => {
    const keys = (node: string) => ["ca.key", "front-proxy-ca.key", "etcd/ca.key"].map((f) => join(dir, "out", "lab", node, "etc/kubernetes/pki", f));
    const withKeys = await evaluate(() => defineStack(config({ caKeys: "control-plane" }), { stack: "lab" }), { extra: commands, prior: first });
    assert.deepEqual(withKeys.failures, []);
    assert.ok(keys("cp-1").every(existsSync), "placed on control-plane nodes");
    assert.ok(!keys("w-1").some(existsSync), "never on workers");
    const without = await evaluate(() => defineStack(config({ caKeys: "none" }), { stack: "lab" }), { extra: commands, prior: withKeys });
    assert.deepEqual(without.failures, []);
    for (const n of ["cp-1", "cp-2", "cp-3"]) assert.ok(!keys(n).some(existsSync), `${n}: CA keys removed`);
    first = without;
  });
});

