// The offline render writes only into a directory that is empty or that an earlier render marked as its own (and
// replaces a marked one only with --force), and a render that fails halfway leaves no key behind (issue 12, item 2).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { renderClusters } from "../offline/render";
import { makeTempDir } from "./e2e/proc";
import { clusterConfig } from "./support";

/** Every file under `dir` that holds a private key (PEM or inside a kubeconfig). */
function keyFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (/PRIVATE KEY|client-key-data/.test(readFileSync(full, "utf8"))) out.push(full);
    }
  };
  walk(dir);
  return out;
}

describe("offline render: where it may write", () => {
  it("refuses a cluster directory holding someone else's files (an --out of /etc with a cluster named kubernetes)", async () => {
    const etc = makeTempDir("etc");
    mkdirSync(join(etc, "kubernetes/manifests"), { recursive: true });
    writeFileSync(join(etc, "kubernetes/manifests/kube-apiserver.yaml"), "user's manifest\n");
    writeFileSync(join(etc, "hostname"), "node-1\n");
    await assert.rejects(
      renderClusters([clusterConfig("kubernetes", 1, 0)], etc, { force: true }),
      /kubernetes.* is not empty and was not made by kube-pki's render: nothing was written/,
    );
    assert.equal(readFileSync(join(etc, "kubernetes/manifests/kube-apiserver.yaml"), "utf8"), "user's manifest\n");
    assert.deepEqual(readdirSync(etc).sort(), ["hostname", "kubernetes"], "nothing added beside it either");
    assert.deepEqual(readdirSync(join(etc, "kubernetes")), ["manifests"]);
  });

  it("writes into a missing or empty directory; replaces its own earlier render only with force", async () => {
    const out = makeTempDir("out");
    mkdirSync(join(out, "empty"));
    await renderClusters([clusterConfig("empty", 1, 0)], out);
    await renderClusters([clusterConfig("fresh", 1, 0)], out);
    const first = readFileSync(join(out, "fresh/cp-1/etc/kubernetes/pki/ca.crt"), "utf8");
    await assert.rejects(renderClusters([clusterConfig("fresh", 1, 0)], out), /an earlier render.*--force/);
    assert.equal(readFileSync(join(out, "fresh/cp-1/etc/kubernetes/pki/ca.crt"), "utf8"), first, "left as it was");
    await renderClusters([clusterConfig("fresh", 1, 1)], out, { force: true });
    assert.notEqual(readFileSync(join(out, "fresh/cp-1/etc/kubernetes/pki/ca.crt"), "utf8"), first, "replaced");
    assert.ok(existsSync(join(out, "fresh/w-1")), "the new render, whole");
    assert.deepEqual(readdirSync(out).sort(), ["empty", "fresh"], "no temporary directory left");
  });

  it("a render that fails halfway (a disk error) leaves no key and no partial directory behind", async () => {
    const out = makeTempDir("fail");
    // The module object the render calls through (CommonJS): a disk error on the 12th file it writes.
    const fsModule = require("node:fs") as typeof import("node:fs");
    const realWrite = fsModule.writeFileSync;
    let writes = 0;
    (fsModule as any).writeFileSync = (...args: Parameters<typeof realWrite>) => {
      if (String(args[0]).includes(".rendering-") && ++writes === 12)
        throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      return realWrite(...args);
    };
    try {
      await assert.rejects(renderClusters([clusterConfig("half", 2, 1)], out), /ENOSPC/);
    } finally {
      (fsModule as any).writeFileSync = realWrite;
    }
    assert.ok(writes >= 12, "the fault was injected while files were being written");
    assert.deepEqual(keyFiles(out), [], "no key left anywhere under the output directory");
    assert.deepEqual(readdirSync(out), [], "nothing left at all");
  });
});

describe("offline render: a big cluster in batches of workers", () => {
  it("renders exactly what one evaluation renders: one set of CAs and shared kubeconfigs on every node, every node's own leaves", async () => {
    const out = makeTempDir("batches");
    const rendered = await renderClusters([clusterConfig("b", 2, 7)], out, { workerBatch: 3 });
    assert.deepEqual(Object.keys(rendered[0]!.nodes).sort(), ["cp-1", "cp-2", "w-1", "w-2", "w-3", "w-4", "w-5", "w-6", "w-7"]);
    const read = (node: string, path: string) => readFileSync(join(out, "b", node, path), "utf8");
    const nodes = Object.keys(rendered[0]!.nodes);
    assert.equal(new Set(nodes.map((n) => read(n, "etc/kubernetes/pki/ca.crt"))).size, 1, "one cluster CA on every node");
    assert.equal(new Set(nodes.map((n) => read(n, "etc/kubernetes/kube-proxy.conf"))).size, 1, "one kube-proxy.conf");
    assert.equal(new Set(nodes.map((n) => read(n, "etc/kubernetes/kubelet.conf"))).size, nodes.length, "a kubelet.conf per node");
    const ca = new X509Certificate(read("cp-1", "etc/kubernetes/pki/ca.crt"));
    for (const n of nodes) {
      const serving = new X509Certificate(read(n, "var/lib/kubelet/pki/kubelet-serving.crt"));
      assert.ok(serving.verify(ca.publicKey), `${n}: signed by the one CA`);
      assert.equal(serving.subject, `O=system:nodes\nCN=system:node:${n}`);
    }
    const admin = readFileSync(join(out, "b", "admin.conf"), "utf8");
    assert.ok(admin.includes(Buffer.from(ca.toString()).toString("base64")), "admin.conf trusts the same CA");
  });
});
