// The entry point Pulumi runs (index.ts), under the mock runtime with the stacks' config set as `pulumi up` sets
// it (JSON strings, secret keys marked), and the offline render's own behaviour.
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { evaluate, isWrappedSecret, unwrapSecrets, valueOf } from "../emulator/evaluate";
import { readStackConfig } from "../offline/stackFile";
import { renderClusters } from "../offline/render";
import { clusterConfig } from "./support";
import { makeTempDir } from "./e2e/proc";

/** Loads index.ts afresh (it registers resources when imported) after the mocks and config are in place. */
function loadProgram(): Promise<Record<string, pulumi.Output<unknown>>> {
  delete require.cache[require.resolve("../index")];
  return require("../index")();
}

describe("the Pulumi program (index.ts)", () => {
  it("reads kube-pki:clusters, makes one ClusterPki per cluster and exports the outputs", async () => {
    // prod-eu authenticates with the ssh-agent; here one of its clusters uses a deploy key from the stack config.
    const clusters = structuredClone(readStackConfig("prod-eu").clusters) as any[];
    clusters[0].delivery.sshAuth = "key";
    const ev = await evaluate(loadProgram, {
      stack: "prod-eu",
      config: {
        "kube-pki:clusters": JSON.stringify(clusters),
        "kube-pki:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
      },
      secretKeys: ["kube-pki:sshPrivateKey"],
    });
    assert.deepEqual(
      ev.resources.filter((r) => r.type === "kube-pki:pki:ClusterPki").map((r) => r.name),
      ["eu-1", "eu-2"],
    );
    assert.deepEqual(Object.keys(ev.result).sort(), [
      "adminKubeconfigs",
      "caCertificates",
      "controlPlaneFlags",
      "inventory",
      "rotation",
      "trustRoots",
      "userKubeconfigs",
    ]);
    assert.deepEqual(Object.keys((await valueOf(ev.result.caCertificates!)) as object).sort(), ["eu-1", "eu-2"]);
    assert.equal(await pulumi.isSecret(ev.result.adminKubeconfigs!), true);
    // The SSH key reached every connection of eu-1 as a secret; eu-2's connections hold no key (the agent's).
    const remote = ev.resources.filter((r) => r.type === "command:remote:Command");
    assert.ok(remote.some((r) => r.name.startsWith("eu-1-")) && remote.some((r) => r.name.startsWith("eu-2-")));
    for (const r of remote) {
      const connection = (r.inputs as any).connection;
      if (r.name.startsWith("eu-2-")) {
        assert.equal((unwrapSecrets(connection) as any).privateKey, undefined, r.name);
        continue;
      }
      assert.ok(isWrappedSecret(connection) || isWrappedSecret(connection.privateKey), r.name);
      assert.match(String((unwrapSecrets(connection) as any).privateKey), /OPENSSH PRIVATE KEY/, r.name);
    }
  });

  it("without kube-pki:clusters it fails with the config path before registering anything", async () => {
    let error: unknown;
    const ev = await evaluate(
      () =>
        loadProgram().catch((e) => {
          error = e;
          return {};
        }),
      { stack: "empty", config: {} },
    );
    assert.match(String(error), /clusters: is not set/);
    // Nothing but the read of the stack's own outputs (a StackReference is a read, not a resource it manages).
    assert.equal(ev.resources.length, 0);
  });
});

describe("the offline render", () => {
  it("reports progress per cluster and writes truthful manifests", async () => {
    const out = makeTempDir("render");
    const lines: string[] = [];
    const rendered = await renderClusters([clusterConfig("a", 1, 1), clusterConfig("b", 1, 0)], out, { log: (l) => lines.push(l) });
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^cluster a \(1\/2\): 19 certificates, 2 nodes, \d+ files in [\d.]+ s -> /);
    assert.deepEqual(
      rendered.map((r) => r.cluster),
      ["a", "b"],
    );
    const manifest = JSON.parse(readFileSync(join(out, "a", "cp-1", "manifest.json"), "utf8"));
    for (const e of manifest) {
      const file = join(out, "a", "cp-1", e.path);
      assert.equal(createHash("sha256").update(readFileSync(file)).digest("hex"), e.sha256, e.path);
      assert.equal(`0${(statSync(file).mode & 0o777).toString(8)}`, e.mode, e.path);
    }
    assert.ok(existsSync(join(out, "a", "admin.conf")));
    assert.deepEqual(readdirSync(out).sort(), ["a", "b"], "no temporary directories left");
  });

  it("a bad config is an error and nothing is written", async () => {
    const out = join(makeTempDir("render-bad"), "out");
    const bad = clusterConfig("a", 1, 1);
    bad.nodes[0].address = "999.1.1.1";
    await assert.rejects(renderClusters([clusterConfig("ok", 1, 0), bad], out), /clusters\[1\]\.nodes\[0\]\.address/);
    assert.equal(existsSync(out), false);
  });
});
