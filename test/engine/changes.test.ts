// What the real engine plans and does for the changes a platform team makes, against what kube-pki's offline model
// (emulator/evaluate.ts, under mocks with the stand-ins) predicts for the same change: the same steps (type, name,
// operation), so the PR diff and the offline tools can be trusted. Also the lifecycle rules only the real engine
// shows: protected CAs (a replace fails the preview; destroy refuses before deleting anything), the renewal window
// and an expired CA (state rewritten, imported), a hand-edited file (refresh cannot see it; --replace restores it),
// and a push failing on one node under a plain `pulumi up`.
import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineStack, planClusters } from "../../components";
import { blockedFromPreview, buildReport, offlineReport, renderText, stepsFromPreview } from "../../offline/certDiff";
import { evaluate, valueOf } from "../../emulator/evaluate";
import { clusterConfig, protectedByProtectCAs } from "../support";
import { changedSteps, checkCapture, describeRun, typeAndName, Workspace } from "./workspace";
import * as pulumi from "@pulumi/pulumi";

const env = { stack: "t", secret: () => pulumi.secret("unused") };

/** The offline model's steps for moving from `base` to `head` (a plan of everything, as a preview lists it). */
async function predicted(base: unknown[], head: unknown[]): Promise<string[]> {
  const a = await evaluate(() => defineStack(planClusters(base), env), { stack: "t" });
  // As index.ts does: the head is held to the trust roots the base recorded (a made CA keeps how it was made).
  const previousTrust = await valueOf(a.result.outputs.trustRoots);
  const b = await evaluate(() => defineStack(planClusters(head), { ...env, previousTrust }), {
    stack: "t",
    prior: a,
    continueOnError: true,
  });
  return [
    ...b.resources.filter((r) => r.op !== "same").map((r) => `${r.op} ${typeAndName(r.urn)}`),
    ...b.deleted.map((r) => `delete ${typeAndName(r.urn)}`),
  ].sort();
}

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

describe("engine: the real preview plans what the offline model predicts", function () {
  this.timeout(1_200_000);
  const base = () => clusterConfig("c", 3, 1, { delivery: { mode: "local", localDirectory: "out" } });
  let ws: Workspace;
  /**
   * The config the stack holds: a test that deploys a change leaves it for the next rather than deploying the base
   * again; the last test (w-1 removed with removeFiles) starts from it and leaves its own.
   */
  let deployed = base();

  before(async () => {
    ws = await Workspace.create("changes", { t: [base()] });
    await ws.init("t");
    const r = await ws.up("t");
    assert.equal(r.code, 0, describeRun(r));
  });

  const cases: [string, (c: any) => void][] = [
    ["a worker added", (c) => c.nodes.push({ name: "w-2", role: "worker", address: "10.1.0.2" })],
    [
      "a worker removed (its files stay: removeFiles is off)",
      (c) => {
        c.nodes = c.nodes.filter((n: any) => n.name !== "w-1");
      },
    ],
    [
      "cp-3 turned into a worker",
      (c) => {
        c.nodes[2].role = "worker";
      },
    ],
    [
      "leaf validity changed",
      (c) => {
        c.validity = { leafHours: 4380 };
      },
    ],
    [
      "early renewal changed (an in-place update)",
      (c) => {
        c.validity = { earlyRenewalHours: 500 };
      },
    ],
    [
      "key algorithm changed",
      (c) => {
        c.keyAlgorithm = "RSA-2048";
      },
    ],
    [
      "an etcd peer SAN added",
      (c) => {
        c.etcd = { peerCertSANs: ["etcd-peer.example.com"] };
      },
    ],
  ];
  for (const [what, change] of cases) {
    it(`${what}: same steps as predicted`, async () => {
      const head = base();
      change(head);
      ws.writeStack("t", [head]);
      const preview = await ws.preview("t");
      assert.equal(preview.exitCode, 0);
      const real = changedSteps(preview);
      assert.ok(real.length > 0);
      assert.deepEqual(real, await predicted([base()], [head]));
      if (what === "a worker added")
        checkCapture("kube-pki-worker-added", "a cluster of 3 + 1 nodes with worker w-2 added", [base()], [head], preview);
      console.log(
        `      ${real.length} steps: ${Object.entries(
          real.reduce((m, s) => ({ ...m, [s.split(" ")[0]!]: (m[s.split(" ")[0]!] ?? 0) + 1 }), {} as Record<string, number>),
        )
          .map(([k, v]) => `${v} ${k}`)
          .join(", ")}`,
      );
    });
  }

  it("a push failing on one node under a plain `pulumi up`: the engine starts no step after it, the next up completes", async () => {
    const head = base();
    head.apiServer.certSANs.push("fail.example.com");
    head.validity = { leafHours: 4000 };
    ws.writeStack("t", [head]);
    const planned = changedSteps(await ws.preview("t"));
    const pki = join(ws.dir, "out/c/cp-2/etc/kubernetes/pki");
    const cp2Before = sha(join(pki, "apiserver.crt"));
    chmodSync(pki, 0o777); // the install script refuses a directory others could write to
    // As a user runs it: the engine records each finished step as it goes.
    const failed = await ws.up("t", [], { checkpoints: true });
    assert.notEqual(failed.code, 0);
    // Whichever of cp-2's pushes into pki/ the engine ran first is the failure that stopped it.
    assert.match(failed.stdout + failed.stderr, /c-cp-2-push-[a-z-]+[\s\S]*writable by others/);
    assert.equal(sha(join(pki, "apiserver.crt")), cp2Before, "cp-2 keeps its previous certificate");
    const remaining = changedSteps(await ws.preview("t"));
    const done = planned.filter((s) => !remaining.includes(s));
    console.log(
      `      planned ${planned.length} steps; done before the failure stopped the update: ${done.length}; left for the next up: ${remaining.length}`,
    );
    assert.ok(remaining.includes("update command:local:Command::c-cp-2-push-apiserver"), "the failed push is still to do");
    assert.ok(
      remaining.every((s) => planned.includes(s) || /^(replace|update) /.test(s)),
      "nothing new appears",
    );
    chmodSync(pki, 0o755);
    const retry = await ws.up("t");
    assert.equal(retry.code, 0, describeRun(retry));
    assert.deepEqual(changedSteps(await ws.preview("t")), []);
    assert.notEqual(sha(join(pki, "apiserver.crt")), cp2Before);
    deployed = head;
  });

  it("a node removed with removeFiles: the same steps, and up deletes exactly that node's files", async () => {
    const withRemoval = () => ({ ...structuredClone(deployed), delivery: { mode: "local", localDirectory: "out", removeFiles: true } });
    ws.writeStack("t", [withRemoval()]);
    const on = await ws.up("t");
    assert.equal(on.code, 0, describeRun(on));
    const head = withRemoval();
    head.nodes = head.nodes.filter((n: any) => n.name !== "w-1");
    ws.writeStack("t", [head]);
    const preview = await ws.preview("t");
    assert.deepEqual(changedSteps(preview), await predicted([withRemoval()], [head]));
    const kubelet = join(ws.dir, "out/c/w-1/etc/kubernetes/kubelet.conf");
    assert.ok(existsSync(kubelet));
    const r = await ws.up("t");
    assert.equal(r.code, 0, describeRun(r));
    assert.ok(!existsSync(kubelet), "w-1's files are deleted");
    assert.ok(existsSync(join(ws.dir, "out/c/cp-1/etc/kubernetes/kubelet.conf")), "nothing else");
  });
});

describe("engine: lifecycle rules only the real engine shows", function () {
  this.timeout(1_200_000);

  it("protectCAs: a change that would replace a CA fails the preview with the engine's protect error; cert-diff says blocked; destroy deletes nothing", async () => {
    const base = clusterConfig("p", 1, 1, { protectCAs: true, delivery: { mode: "local", localDirectory: "out" } });
    const ws = await Workspace.create("protect", { t: [base] });
    await ws.init("t");
    assert.equal((await ws.up("t")).code, 0);
    // As deployed by a kube-pki that did not record its trust roots yet (output trustRoots): the one case where a
    // config change, the key algorithm here, still replaces the CAs (a recorded CA keeps how it was made).
    const state = await ws.exportState("t");
    delete state.deployment.resources.find((r: any) => r.type === "pulumi:pulumi:Stack").outputs.trustRoots;
    writeFileSync(join(ws.dir, "state.json"), JSON.stringify(state));
    await ws.ok(["stack", "import", "--stack", "t", "--file", join(ws.dir, "state.json")]);
    const beforeUrns = state.deployment.resources.map((r: any) => r.urn);
    const head = { ...structuredClone(base), keyAlgorithm: "RSA-2048" };
    ws.writeStack("t", [head]);
    const preview = await ws.preview("t");
    assert.notEqual(preview.exitCode, 0, "the preview fails");
    checkCapture(
      "kube-pki-protect-blocked",
      "protectCAs on, keyAlgorithm changed to RSA-2048: every CA would be replaced",
      [base],
      [head],
      preview,
    );
    const blocked = blockedFromPreview(preview);
    assert.deepEqual([...blocked].sort(), protectedByProtectCAs("p"));
    const report = buildReport("t", stepsFromPreview(preview), planClusters([head]), { blocked });
    assert.match(renderText(report), /^BLOCKED: this change would replace or delete 7 protected resource/m);
    assert.deepEqual(
      report.certificates
        .filter((c) => c.operation === "blocked")
        .map((c) => c.certificate)
        .sort(),
      ["ca", "etcd-ca", "front-proxy-ca", "sa (service-account key)"],
    );
    const offline = await offlineReport("t", [base], [head], { trustRecorded: false });
    assert.deepEqual(offline.blocked, report.blocked, "the offline model blocks the same resources");
    // `pulumi up` previews first (as the workflow runs it): it fails the same way before it changes anything. (With
    // --skip-preview the engine would already have replaced some unprotected keys when it reaches a CA.)
    const up = await ws.run(["up", "--stack", "t", "--yes", "--non-interactive"]);
    assert.notEqual(up.code, 0);
    assert.match(up.stdout + up.stderr, /marked for protection/);
    ws.writeStack("t", [base]);
    assert.deepEqual(changedSteps(await ws.preview("t")), []);
    const destroy = await ws.run(["destroy", "--stack", "t", "--yes", "--non-interactive", "--skip-preview"]);
    assert.notEqual(destroy.code, 0);
    assert.match(destroy.stdout + destroy.stderr, /p-destroy-guard[\s\S]*protected/);
    // Only the read of the stack's own outputs (a StackReference, and its provider) may go: nothing real.
    const left = new Set((await ws.exportState("t")).deployment.resources.map((r: any) => r.urn));
    assert.deepEqual(
      beforeUrns.filter((u: string) => !left.has(u)).filter((u: string) => !/::pulumi:(pulumi:StackReference|providers:pulumi)::/.test(u)),
      [],
      "destroy deleted nothing",
    );
  });

  describe("certificate times rewritten in the state (stack export, edit, stack import)", () => {
    let ws: Workspace;
    const base = () => clusterConfig("r", 1, 1, { delivery: { mode: "local", localDirectory: "out" } });
    const rewrite = async (ends: Record<string, Date>) => {
      const state = await ws.exportState("t");
      for (const r of state.deployment.resources) {
        const name = r.urn.split("::").pop();
        if (ends[name]) r.outputs.validityEndTime = ends[name]!.toISOString();
      }
      const file = join(ws.dir, "state.json");
      writeFileSync(file, JSON.stringify(state));
      await ws.ok(["stack", "import", "--stack", "t", "--file", file]);
    };

    before(async () => {
      ws = await Workspace.create("renewal", { t: [base()] });
      await ws.init("t");
      assert.equal((await ws.up("t")).code, 0);
    });

    it("a leaf inside its renewal window: only it is re-issued (readyForRenewal) and re-pushed", async () => {
      await rewrite({ "r-apiserver-cp-1-cert": new Date(Date.now() + 24 * 3_600_000) });
      const preview = await ws.preview("t");
      assert.deepEqual(changedSteps(preview), [
        "replace tls:index/locallySignedCert:LocallySignedCert::r-apiserver-cp-1-cert",
        "update command:local:Command::r-cp-1-push-apiserver",
      ]);
      assert.deepEqual(preview.steps.find((s) => s.urn.endsWith("::r-apiserver-cp-1-cert"))!.replaceReasons, ["readyForRenewal"]);
      const report = buildReport("t", stepsFromPreview(preview), planClusters([base()]));
      assert.deepEqual(
        report.certificates.map((c) => `${c.certificate} ${c.operation} ${c.causes.join()}`),
        ["apiserver re-issue renewal window reached"],
      );
      assert.equal((await ws.up("t")).code, 0);
      assert.deepEqual(changedSteps(await ws.preview("t")), [], "renewed: nothing due any more");
    });

    it("a CA is never renewed early; once expired, the next up would replace it and re-issue everything under it", async () => {
      // One year before expiry: nothing (earlyRenewalHours 0 on CAs).
      await rewrite({ "r-ca-cert": new Date(Date.now() + 365 * 24 * 3_600_000) });
      assert.deepEqual(changedSteps(await ws.preview("t")), []);
      await rewrite({ "r-ca-cert": new Date(Date.now() - 3_600_000) });
      const steps = changedSteps(await ws.preview("t"));
      assert.ok(steps.includes("replace tls:index/selfSignedCert:SelfSignedCert::r-ca-cert"));
      const leaves = steps.filter((s) => s.startsWith("replace tls:index/locallySignedCert"));
      assert.ok(leaves.length >= 10, `every leaf signed by the cluster CA: ${leaves.length}`);
      assert.ok(!steps.some((s) => /etcd-ca-cert|front-proxy-ca-cert/.test(s)), "the other CAs are untouched");
      console.log(
        `      expired cluster CA: ${steps.length} steps (${leaves.length} leaves re-issued); protectCAs turns this into a failing preview`,
      );
    });
  });

  it("a user in several groups: the dynamic provider makes the CSR once; the certificate carries every group; a second up changes nothing", async () => {
    const config = clusterConfig("g", 1, 0, { users: [{ name: "alice", groups: ["developers", "oncall"] }] });
    const ws = await Workspace.create("groups", { t: [config] });
    await ws.init("t");
    const r = await ws.up("t");
    assert.equal(r.code, 0, describeRun(r));
    const kubeconfig = JSON.parse((await ws.ok(["stack", "output", "userKubeconfigs", "--json", "--show-secrets", "--stack", "t"])).stdout)
      .g.alice;
    const cert = new X509Certificate(Buffer.from(/client-certificate-data: (\S+)/.exec(kubeconfig)![1]!, "base64"));
    assert.deepEqual(cert.subject.split(/\n| \+ /).sort(), ["CN=alice", "O=developers", "O=oncall"]);
    assert.deepEqual(changedSteps(await ws.preview("t")), [], "stable: nothing to do on the next up");
    const state = JSON.stringify(await ws.exportState("t"));
    assert.ok(!/PRIVATE KEY/.test(state), "the key the dynamic provider received is encrypted in the state");
  });

  it("a file changed by hand on a node: refresh cannot see it (a command has no read); `up --replace` of its push restores it", async () => {
    const config = clusterConfig("h", 1, 0, { delivery: { mode: "local", localDirectory: "out", removeFiles: true } });
    const ws = await Workspace.create("drift", { t: [config] });
    await ws.init("t");
    assert.equal((await ws.up("t")).code, 0);
    const file = join(ws.dir, "out/h/cp-1/etc/kubernetes/pki/apiserver.crt");
    const original = sha(file);
    writeFileSync(file, "edited by hand\n");
    const refresh = await ws.run(["refresh", "--stack", "t", "--yes", "--non-interactive", "--skip-preview"]);
    assert.equal(refresh.code, 0, describeRun(refresh));
    assert.deepEqual(changedSteps(await ws.preview("t")), [], "the next preview shows nothing to do");
    assert.equal(readFileSync(file, "utf8"), "edited by hand\n", "and an up would leave the file as it is");
    const urn = (await ws.exportState("t")).deployment.resources.find((r: any) => r.urn.endsWith("::h-cp-1-push-apiserver")).urn;
    const replace = await ws.up("t", ["--replace", urn]);
    assert.equal(replace.code, 0, describeRun(replace));
    assert.equal(sha(file), original, "restored (and not removed again by the old push's delete: deleteBeforeReplace)");
  });
});
