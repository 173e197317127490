// The PR certificate diff: from real `pulumi preview --json` captures and offline from config pairs; both modes give
// the same report for the same change; no report ever holds key material.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { defineStack, planClusters } from "../components";
import {
  blockedFromPreview,
  buildReport,
  CertDiffReport,
  offlineReport,
  renderMarkdown,
  renderText,
  stepsFromEvaluation,
  stepsFromPreview,
} from "../offline/certDiff";
import { evaluate, Evaluation, isWrappedSecret } from "../emulator/evaluate";
import { clusterConfig, runWithLateStdin } from "./support";
import { STACKS_DIR } from "../offline/stackFile";

const fixture = (f: string) => JSON.parse(readFileSync(join(__dirname, "fixtures/pulumi-preview", f), "utf8"));
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function assertNoKeyMaterial(r: CertDiffReport): void {
  for (const text of [renderMarkdown(r), renderText(r), JSON.stringify(r)]) {
    assert.ok(!/PRIVATE KEY|BEGIN |\[secret\]|client-key-data/.test(text), "no PEM, no secret placeholder");
    assert.ok(!/[A-Za-z0-9+/]{80,}/.test(text), "no long base64 blob");
  }
}

/** What `pulumi preview --json` prints for an evaluation: secrets as "[secret]", outputs of replaced resources unknown. */
function previewJsonOf(head: Evaluation<unknown>, base: Evaluation<unknown>): unknown {
  const before = new Map(base.resources.map((r) => [r.urn, r]));
  const replaced = new Set(head.resources.filter((r) => r.op === "replace" || r.op === "create").map((r) => r.urn));
  const mask = (inputs: Record<string, unknown>, deps: Readonly<Record<string, readonly string[]>>) =>
    Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [
        k,
        (deps[k] ?? []).some((u) => replaced.has(u)) ? UNKNOWN : isWrappedSecret(v) ? "[secret]" : v,
      ]),
    );
  return {
    steps: [
      ...head.resources.map((r) => ({
        op: r.op,
        urn: `urn:pulumi:t::kube-pki::kube-pki:pki:ClusterPki$${r.type}::${r.name}`,
        oldState: before.has(r.urn) ? { type: r.type, inputs: mask(before.get(r.urn)!.inputs, {}) } : undefined,
        newState: { type: r.type, inputs: mask(r.inputs, r.propertyDependencies) },
        replaceReasons: r.op === "replace" ? r.replaceKeys : undefined,
      })),
      ...head.deleted.map((r) => ({
        op: "delete",
        urn: `urn:pulumi:t::kube-pki::${r.type}::${r.name}`,
        oldState: { type: r.type, inputs: mask(r.inputs, {}) },
      })),
    ],
  };
}

describe("cert diff", function () {
  describe("from real pulumi preview --json captures", () => {
    it("standard_json_replace.json: the ECDSA P256 → RSA 2048 key replace, commands and creates read without error", () => {
      const r = buildReport("capture", stepsFromPreview(fixture("standard_json_replace.json")));
      assert.equal(r.certificates.length, 1);
      const [c] = r.certificates;
      assert.deepEqual([c!.certificate, c!.operation, c!.causes], ["tls-key-0", "re-issue", ["new key"]]);
      assert.deepEqual(c!.key, { before: "ECDSA-P256", after: "RSA-2048" });
      assert.equal(r.unmatched, 1, "not a kube-pki resource: listed by name");
      assertNoKeyMaterial(r);
      console.log(renderText(r).replace(/^/gm, "      "));
    });

    it("small_scale_10_replace.json: a whole stack's steps (same, create, replace, update, delete) with one tls change", () => {
      const steps = stepsFromPreview(fixture("small_scale_10_replace.json"));
      assert.deepEqual([...new Set(steps.map((s) => s.op))].sort(), ["create", "delete", "replace", "same", "update"]);
      const r = buildReport("capture", steps);
      assert.deepEqual(
        r.certificates.map((c) => [c.certificate, c.operation]),
        [["tls-key-0", "re-issue"]],
      );
      assertNoKeyMaterial(r);
    });

    // kube-pki's own previews, captured by the engine tests (test/engine/workspace.ts checkCapture keeps each one
    // matching a fresh real preview of the same change): the report from the capture, and the offline mode's for the
    // same two configs, agree.
    const capture = (name: string) => fixture(`${name}.json`) as { base: unknown[]; head: unknown[]; preview: unknown };
    const fromCapture = async (name: string, opts: { trustRecorded?: boolean } = {}) => {
      const c = capture(name);
      const real = buildReport("t", stepsFromPreview(c.preview), planClusters(c.head as any), {
        basePlans: planClusters(c.base as any),
        blocked: blockedFromPreview(c.preview),
      });
      const offline = await offlineReport("t", c.base, c.head, opts);
      const rows = (r: CertDiffReport) => ({ certificates: r.certificates, pushes: r.pushes, restarts: r.restarts, blocked: r.blocked });
      assert.deepEqual(
        rows(offline),
        rows(real),
        `${name}: the offline report is the real preview's\n${renderText(offline)}\n---\n${renderText(real)}`,
      );
      assertNoKeyMaterial(real);
      return real;
    };

    it("kube-pki-dev-san-added.json: the three apiserver certificates re-issued with the new SAN, pushed to the three control-plane nodes", async () => {
      const r = await fromCapture("kube-pki-dev-san-added");
      assert.deepEqual(
        r.certificates.map((c) => [c.certificate, c.node, c.operation, c.sansAdded.join()]),
        ["cp-1", "cp-2", "cp-3"].map((n) => ["apiserver", n, "re-issue", "DNS:new.dev.example.com"]),
      );
      assert.deepEqual(
        r.pushes.map((p) => `${p.node} ${p.bundle}`),
        ["cp-1 apiserver", "cp-2 apiserver", "cp-3 apiserver"],
      );
    });

    it("kube-pki-worker-added.json: w-2's kubelet client and serving certificates issued and its files pushed to w-2 only", async () => {
      const r = await fromCapture("kube-pki-worker-added");
      assert.ok(r.certificates.length > 0 && r.certificates.every((c) => c.node === "w-2" && c.operation === "new"), renderText(r));
      assert.ok(r.pushes.length > 0 && r.pushes.every((p) => p.node === "w-2"), renderText(r));
    });

    it("kube-pki-protect-blocked.json: the real preview's protect errors become BLOCKED rows for every CA and the service-account key", async () => {
      // Captured on a stack deployed before kube-pki recorded its trust roots, the one case where a config change
      // (here the key algorithm) still replaces CAs: protectCAs stops it.
      const r = await fromCapture("kube-pki-protect-blocked", { trustRecorded: false });
      assert.match(renderText(r), /^BLOCKED: this change would replace or delete 7 protected resource/m);
      assert.deepEqual(
        r.certificates
          .filter((c) => c.operation === "blocked")
          .map((c) => c.certificate)
          .sort(),
        ["ca", "etcd-ca", "front-proxy-ca", "sa (service-account key)"],
      );
    });

    it("refuses input that is not preview JSON", () => {
      assert.throws(() => stepsFromPreview({ resources: [] }), /not the output of `pulumi preview --json`/);
    });
  });

  describe("offline, between two versions of a stack's config", () => {
    const A = () => [clusterConfig("t", 3, 2)];

    it("SAN added: the apiserver certificate of each control-plane node, its SAN, nothing else", async () => {
      const b = A();
      b[0].apiServer.certSANs.push("new.example.com");
      const r = await offlineReport("t", A(), b);
      assert.deepEqual(
        r.certificates.map((c) => [c.certificate, c.node, c.operation, c.sansAdded, c.sansRemoved]),
        ["cp-1", "cp-2", "cp-3"].map((n) => ["apiserver", n, "re-issue", ["DNS:new.example.com"], []]),
      );
      assert.ok(r.certificates.every((c) => c.causes.join() === "spec change (dnsNames)"));
      assertNoKeyMaterial(r);
      const md = renderMarkdown(r);
      assert.match(md, /\| `apiserver` \| t\/cp-1 \| \*\*re-issue\*\* \| spec change \(dnsNames\) \| SANs added: DNS:new\.example\.com \|/);
      console.log(md.replace(/^/gm, "      "));
    });

    it("SAN removed and an IP SAN changed show both directions", async () => {
      const b = A();
      b[0].apiServer.certSANs = ["k8s.example.com", "192.0.2.11"];
      const r = await offlineReport("t", A(), b);
      assert.ok(r.certificates.every((c) => c.sansAdded.join() === "IP:192.0.2.11" && c.sansRemoved.join() === "IP:192.0.2.10"));
    });

    it("node added: its new certificates and first pushes, nothing re-issued elsewhere", async () => {
      const sshify = (cs: any[]) =>
        cs.map((c) => ({
          ...c,
          delivery: { mode: "ssh" },
          nodes: c.nodes.map((n: any) => ({
            ...n,
            ssh: { hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc0d2kaJ1rjbG5dNl5I6vvKyGFDDp0Q4z0FOh1lPdQ7" },
          })),
        }));
      const b = A();
      b[0].nodes.push({ name: "w-3", role: "worker", address: "10.1.0.3" });
      const r = await offlineReport("t", sshify(A()), sshify(b));
      assert.deepEqual(r.certificates.map((c) => [c.certificate, c.node, c.operation]).sort(), [
        ["kubelet-serving", "w-3", "new"],
        ["kubelet.conf", "w-3", "new"],
      ]);
      assert.deepEqual(r.pushes.map((p) => [p.node, p.bundle, p.operation]).sort(), [
        ["w-3", "ca", "first push"],
        ["w-3", "kube-proxy.conf", "first push"],
        ["w-3", "kubelet-serving", "first push"],
        ["w-3", "kubelet.conf", "first push"],
      ]);
      assert.deepEqual(r.pushes.find((p) => p.bundle === "kubelet-serving")!.files, [
        "/var/lib/kubelet/pki/kubelet-serving.crt",
        "/var/lib/kubelet/pki/kubelet-serving.key",
      ]);
      assert.deepEqual(r.restarts.map((x) => `${x.node} ${x.component}`).sort(), ["w-3 kube-proxy", "w-3 kubelet"]);
    });

    it("leaf validity changed: every leaf re-issued with its validity change, CAs untouched", async () => {
      const b = A();
      b[0].validity = { leafHours: 4380 };
      const r = await offlineReport("t", A(), b);
      assert.equal(r.certificates.length, 40);
      assert.ok(
        r.certificates.every((c) => c.operation === "re-issue" && c.validityHours?.before === 8760 && c.validityHours.after === 4380),
      );
      assert.ok(!r.certificates.some((c) => /-?ca$/.test(c.certificate)));
    });

    it("key algorithm changed: every leaf key replaced, reported as a new key with the algorithms", async () => {
      const b = A();
      b[0].keyAlgorithm = "RSA-2048";
      const r = await offlineReport("t", A(), b);
      assert.equal(r.certificates.length, 40, renderText(r)); // 43 certificates less the three CAs
      assert.ok(r.certificates.every((c) => c.causes.includes("new key") && c.key?.before === "ECDSA-P256" && c.key.after === "RSA-2048"));
    });

    it("key algorithm changed: the CAs and the service-account key keep theirs (a trust root changes only by rotation)", async () => {
      const b = A();
      b[0].keyAlgorithm = "RSA-2048";
      const r = await offlineReport("t", A(), b);
      assert.deepEqual(
        r.certificates.filter((c) => /(^|-)ca$|^sa /.test(c.certificate)).map((c) => c.certificate),
        [],
      );
    });

    it("cluster added to a multi-cluster stack: only the new cluster's certificates, all new", async () => {
      const r = await offlineReport("m", A(), [...A(), clusterConfig("u", 1, 1)]);
      assert.ok(r.certificates.length > 0);
      assert.ok(
        r.certificates.every((c) => c.cluster === "u" && c.operation === "new"),
        renderText(r),
      );
      assertNoKeyMaterial(r);
    });

    it("a new stack (no base): everything new; the same config: no changes", async () => {
      assert.ok((await offlineReport("t", undefined, A())).certificates.every((c) => c.operation === "new"));
      const same = await offlineReport("t", A(), A());
      assert.deepEqual([same.certificates, same.pushes], [[], []]);
      assert.match(renderMarkdown(same), /No certificate changes\./);
    });
  });

  it("both modes print the same report for the same change", async () => {
    const a = [clusterConfig("t", 3, 1, { delivery: { mode: "local", localDirectory: "/nonexistent" } })];
    const b = structuredClone(a);
    b[0].apiServer.certSANs.push("new.example.com");
    b[0].validity = { earlyRenewalHours: 100 };
    const env = { stack: "t", secret: () => pulumi.secret("x") };
    const base = await evaluate(() => defineStack(planClusters(a), env));
    const head = await evaluate(() => defineStack(planClusters(b), env), { prior: base });
    const plans = planClusters(b);
    const offline = buildReport("t", stepsFromEvaluation(head, base), plans);
    const fromPreview = buildReport("t", stepsFromPreview(previewJsonOf(head, base)), plans);
    assert.deepEqual(fromPreview, offline);
    assert.ok(offline.certificates.some((c) => c.operation === "update in place" && c.earlyRenewalHours?.after === 100));
    assert.equal(offline.pushes.length, 3, "the 3 apiserver bundles and nothing else: an in-place update re-sends nothing");
    assertNoKeyMaterial(offline);
  });

  it("the command line: --preview - waits for a non-blocking pipe that is still empty when it starts reading (no EAGAIN)", async () => {
    const r = await runWithLateStdin("cert-diff", ["--config", join(STACKS_DIR, "Pulumi.dev.yaml"), "--preview", "-"], '{"steps":[]}');
    assert.deepEqual([r.idle, r.code, /No certificate changes\./.test(r.stdout)], [true, 0, true], r.stderr);
  });

  it("the command line: --base and --head at the same revision report no changes; a bad stack is an error", () => {
    const run = (args: string[]) =>
      execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/cert-diff.ts", ...args], {
        encoding: "utf8",
        stdio: "pipe",
      });
    assert.match(run(["--stack", "dev", "--base", "HEAD", "--head", "HEAD", "--format", "text"]), /0 re-issued, 0 new, 0 removed/);
    assert.throws(() => run(["--stack", "nope", "--base", "HEAD"]), /unknown stack "nope"/);
  });
});

describe("cert diff: the renewal window", () => {
  it("certificates inside their renewal window are reported as re-issued for that reason, and nothing else is", async () => {
    // The state was made 8,100 h ago: every leaf (8,760 h, renewed 720 h before expiry) expires in 660 h and so is
    // inside its window; the CAs (10 years, no early renewal) are not.
    const raw = [clusterConfig("t", 1, 1)];
    const longAgo = new Date(Date.now() - 8100 * 3_600_000);
    const base = await evaluate(() => defineStack(planClusters(raw)), { tls: { now: () => longAgo } });
    const head = await evaluate(() => defineStack(planClusters(raw)), { prior: base });
    const r = buildReport("t", stepsFromEvaluation(head, base), planClusters(raw));
    assert.equal(r.certificates.length, 16, "every leaf of a 1+1 cluster: its 19 certificates but the 3 CAs");
    assert.ok(
      r.certificates.every((c) => c.operation === "re-issue" && c.causes.join() === "renewal window reached"),
      renderText(r),
    );
    assert.ok(!r.certificates.some((c) => ["ca", "etcd-ca", "front-proxy-ca"].includes(c.certificate)));
    // Outside the window nothing is due.
    const fresh = await evaluate(() => defineStack(planClusters(raw)), { prior: head });
    assert.deepEqual(buildReport("t", stepsFromEvaluation(fresh, head), planClusters(raw)).certificates, []);
  });
});

describe("cert diff: defects found by the audit (issue 12)", () => {
  it("a control-plane node turned worker: its control-plane files are shown as removed from the node, not pushed", async () => {
    const a = [clusterConfig("t", 3, 1, { delivery: { mode: "local", localDirectory: "/nonexistent" } })];
    const b = structuredClone(a);
    b[0].nodes[2].role = "worker";
    const r = await offlineReport("t", a, b);
    const cp3 = r.pushes.filter((p) => p.node === "cp-3");
    const removed = cp3.filter((p) => p.operation === "removed from node");
    assert.deepEqual(removed.map((p) => p.bundle).sort(), [
      "admin.conf",
      "apiserver",
      "apiserver-etcd-client",
      "apiserver-kubelet-client",
      "controller-manager.conf",
      "etcd-ca",
      "etcd-healthcheck-client",
      "etcd-peer",
      "etcd-server",
      "front-proxy-ca",
      "front-proxy-client",
      "sa",
      "scheduler.conf",
    ]);
    assert.deepEqual(removed.find((p) => p.bundle === "apiserver")!.files, [
      "/etc/kubernetes/pki/apiserver.crt",
      "/etc/kubernetes/pki/apiserver.key",
    ]);
    assert.deepEqual(
      cp3.filter((p) => p.operation !== "removed from node").map((p) => `${p.bundle} ${p.operation}`),
      ["ca push"],
      "the ca bundle carries the removals; nothing else is pushed",
    );
    assert.match(
      renderMarkdown(r),
      /\| t\/cp-3 \| `apiserver` \| `\/etc\/kubernetes\/pki\/apiserver\.crt`<br>`\/etc\/kubernetes\/pki\/apiserver\.key` \| removed from node \|/,
    );
  });

  it("no value can break out of the Markdown: table cells and code spans are escaped", () => {
    const evil = "developers |\n\n**No certificate changes.**<!--";
    const steps = [
      {
        op: "replace" as const,
        type: "tls:index/certRequest:CertRequest",
        name: "t-user-alice-client-csr",
        replaceReasons: ["subject"],
        oldInputs: { subject: { commonName: "alice", organization: "developers" } },
        newInputs: { subject: { commonName: "alice", organization: evil } },
      },
      {
        op: "replace" as const,
        type: "tls:index/locallySignedCert:LocallySignedCert",
        name: "t-user-alice-client-cert",
        replaceReasons: ["certRequestPem"],
        oldInputs: { allowedUses: ["client_auth"] },
        newInputs: { allowedUses: ["client_auth"] },
      },
      {
        op: "replace" as const,
        type: "tls:index/certRequest:CertRequest",
        name: "t-`x`|y-csr",
        replaceReasons: ["dnsNames"],
        oldInputs: { dnsNames: ["a"] },
        newInputs: { dnsNames: ["a", "b`|<!--c\n| x |"] },
      },
      {
        op: "replace" as const,
        type: "tls:index/locallySignedCert:LocallySignedCert",
        name: "t-`x`|y-cert",
        replaceReasons: ["certRequestPem"],
        oldInputs: { allowedUses: ["server_auth"] },
        newInputs: { allowedUses: ["server_auth"] },
      },
    ];
    const md = renderMarkdown(buildReport("t", steps));
    assert.ok(!md.includes("<!--"), "no HTML comment can be opened");
    assert.ok(!/^\*\*No certificate changes\.\*\*/m.test(md), "no line of the attacker's own");
    const rows = md.split("\n").filter((l) => l.startsWith("| "));
    const cells = (l: string) => l.replace(/\\\|/g, "").split("|").length;
    assert.ok(rows.length >= 3 && rows.every((l) => cells(l) === cells(rows[0]!)), `every row keeps the header's cells:\n${md}`);
  });
});
