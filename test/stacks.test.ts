// Every stack in stacks/ evaluates under the mock runtime; the multi-cluster stack yields independent PKIs.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { defineStack, planClusters } from "../components";
import { evaluate, unwrapSecrets } from "../emulator/evaluate";
import { parseStackConfig, readStackConfig, stackNames } from "../offline/stackFile";
import { T } from "./support";

/** Any secret a stack asks for (its deploy key, a management kubeconfig, under whatever key name) is a placeholder. */
const env = (stack: string) => ({ stack, secret: (k: string) => pulumi.secret(`placeholder for kube-pki:${k}`) });
/** What a `kubeadm init` cluster holds in kube-system/kubeadm-config, for stacks that publish into it. */
const reads = {
  read: async () => ({ data: { ClusterConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n" } }),
};

describe("stacks/", () => {
  it("ships dev, staging, prod and the multi-cluster prod-eu (a user's own stacks may sit beside them)", () => {
    for (const stack of ["dev", "prod", "prod-eu", "staging"]) assert.ok(stackNames().includes(stack), stack);
  });

  // Whatever stacks/ holds: every stack evaluates, protects its CAs exactly as its config says, and delivers with the
  // command type its delivery mode implies.
  for (const stack of stackNames()) {
    it(`${stack} evaluates under mocks; CAs protected as configured; delivery as configured`, async () => {
      const config = readStackConfig(stack);
      const plans = planClusters(config.clusters);
      const clusters = plans.map((p) => p.catalog.cluster);
      const ev = await evaluate(() => defineStack(plans, env(stack)), { extra: reads });
      assert.deepEqual(ev.failures, []);
      for (const cluster of clusters) {
        const caKeys = ev.resources.filter(
          (r) =>
            r.type === T.key &&
            [`${cluster.name}-ca-key`, `${cluster.name}-etcd-ca-key`, `${cluster.name}-front-proxy-ca-key`].includes(r.name),
        );
        assert.equal(caKeys.length, 3, `${cluster.name}: three CA keys`);
        assert.ok(
          caKeys.every((r) => r.protect === cluster.protectCAs),
          `${cluster.name}: protectCAs ${cluster.protectCAs}`,
        );
        const commands = ev.resources.filter((r) => r.type.startsWith("command:") && r.name.startsWith(`${cluster.name}-`));
        const expected = { none: undefined, local: "command:local:Command", ssh: "command:remote:Command" }[cluster.delivery.mode];
        if (expected)
          assert.ok(commands.length > 0 && commands.every((r) => r.type === expected), `${cluster.name} delivers with ${expected}`);
        else assert.equal(commands.length, 0, `${cluster.name}: no delivery`);
      }
    });
  }

  it("the shipped stacks: dev delivers locally with unprotected CAs; staging, prod and prod-eu over SSH, CAs protected", () => {
    const of = (stack: string) => planClusters(readStackConfig(stack).clusters).map((p) => p.catalog.cluster);
    assert.deepEqual(
      of("dev").map((c) => [c.delivery.mode, c.protectCAs]),
      [["local", false]],
    );
    for (const stack of ["staging", "prod", "prod-eu"]) {
      assert.ok(
        of(stack).every((c) => c.delivery.mode === "ssh" && c.delivery.sshAuth === "agent" && c.protectCAs),
        stack,
      );
    }
  });

  it("prod-eu: two clusters, two independent PKIs (no shared key, no shared resource name)", async () => {
    const ev = await evaluate(() => defineStack(planClusters(readStackConfig("prod-eu").clusters), env("prod-eu")));
    const byCluster = (c: string) => ev.resources.filter((r) => r.name === c || r.name.startsWith(`${c}-`));
    const [a, b] = [byCluster("eu-1"), byCluster("eu-2")];
    assert.equal(a.length + b.length, ev.resources.length, "every resource belongs to one cluster");
    assert.equal(a.length, b.length);
    assert.equal(new Set(ev.resources.map((r) => r.urn)).size, ev.resources.length, "no shared URN");
    const keys = (rs: typeof a) => new Set(rs.filter((r) => r.type === T.key).map((r) => (unwrapSecrets(r.state) as any).privateKeyPem));
    const [ka, kb] = [keys(a), keys(b)];
    assert.equal(ka.size, a.filter((r) => r.type === T.key).length, "keys are distinct within eu-1");
    assert.equal([...ka].filter((k) => kb.has(k)).length, 0, "no key shared between the clusters");
    const signedBy = (rs: typeof a) =>
      new Set(rs.filter((r) => r.type === T.signed).map((r) => (unwrapSecrets(r.inputs) as any).caCertPem));
    assert.equal([...signedBy(a)].filter((ca) => signedBy(b).has(ca)).length, 0, "no CA signs certificates of both");
  });

  it("an unknown stack is a clear error naming the stacks that exist, and render writes nothing", () => {
    assert.throws(
      () => readStackConfig("nope"),
      new RegExp(`unknown stack "nope": no .*Pulumi\\.nope\\.yaml; stacks: ${stackNames().join(", ")}`),
    );
    const out = mkdtempSync(join(tmpdir(), "kube-pki-render-"));
    rmSync(out, { recursive: true });
    const r = (() => {
      try {
        execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/render.ts", "--stack", "nope", "--out", out], {
          encoding: "utf8",
          stdio: "pipe",
        });
        return { status: 0, stderr: "" };
      } catch (e: any) {
        return { status: e.status as number, stderr: String(e.stderr) };
      }
    })();
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown stack "nope"/);
    assert.match(r.stderr, /Nothing was written/);
    assert.equal(existsSync(out), false);
  });

  it("stack files may hold encrypted secrets (the SSH key): the offline tools skip them, but clusters must be plain", () => {
    const text = `config:\n  kube-pki:clusters: [{ name: a }]\n  kube-pki:sshPrivateKey:\n    secure: v1:abc\n`;
    assert.deepEqual(parseStackConfig(text, "f"), { clusters: [{ name: "a" }] });
    assert.throws(() => parseStackConfig(`config:\n  kube-pki:clusters:\n    secure: v1:abc\n`, "f"), /kube-pki:clusters is encrypted/);
  });
});
