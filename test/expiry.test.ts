// The expiry report, against a rendered tree (with an expired and an almost-expired cluster), live endpoints (a real
// etcd member with mutual TLS and a TLS server on loopback) and the stack outputs.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as https from "node:https";
import { AddressInfo } from "node:net";
import { defineStack, planClusters } from "../components";
import { evaluate, valueOf } from "../emulator/evaluate";
import {
  expiresText,
  renderExpiryText,
  residualTime,
  rowsFromDirectory,
  rowsFromEndpoint,
  rowsFromStackOutputs,
  statusOf,
} from "../offline/expiry";
import { renderClusters } from "../offline/render";
import { clusterConfig, runWithLateStdin } from "./support";
import { makeTempDir, startDaemon, stopAll, waitForPort } from "./e2e/proc";

const HOUR = 3_600_000;
/** Async: the TLS server under test lives in this process and must keep answering while the CLI runs. */
const cliAsync = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/expiry.ts", ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => (stdout += b));
    child.stderr.on("data", (b) => (stderr += b));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "scripts/expiry.ts", ...args], { encoding: "utf8", input });

describe("expiry report", function () {
  let out: string;
  const now = new Date();
  before(async () => {
    out = makeTempDir("expiry");
    // Three clusters whose certificates were issued at different times: leaves expired 10 h ago, due in 2 days, fresh.
    const issuedAt = (hoursAgo: number) => ({ now: () => new Date(now.getTime() - hoursAgo * HOUR) });
    await renderClusters([clusterConfig("old", 1, 1, { validity: { earlyRenewalHours: 0 } })], out, { tls: issuedAt(8770) });
    await renderClusters([clusterConfig("soon", 1, 1)], out, { tls: issuedAt(8760 - 48) });
    await renderClusters([clusterConfig("fresh", 1, 1)], out);
  });
  after(() => stopAll());

  it("kubeadm's residual-time and expiry formats", () => {
    const t = new Date("2026-01-01T00:00:00Z");
    const plus = (ms: number) => new Date(t.getTime() + ms);
    assert.deepEqual(
      [
        plus(-5000),
        plus(-500),
        plus(30_000),
        plus(5 * 60_000),
        plus(5 * HOUR),
        plus(364 * 24 * HOUR + HOUR),
        plus(9.5 * 365 * 24 * HOUR),
      ].map((d) => residualTime(d, t)),
      ["<invalid>", "0s", "30s", "5m", "5h", "364d", "9y"],
    );
    assert.equal(expiresText(new Date("2027-03-04T05:06:07Z")), "Mar 04, 2027 05:06 UTC");
  });

  it("reads a rendered tree: every node's certificates and kubeconfigs, with their CA; expired and almost-expired flagged", () => {
    const rows = rowsFromDirectory(out);
    const names = rows.map((r) => r.certificate);
    for (const c of ["old", "soon", "fresh"]) {
      for (const n of [
        "apiserver",
        "etcd-server",
        "etcd-peer",
        "admin.conf",
        "super-admin.conf",
        "controller-manager.conf",
        "kubelet.conf",
        "kubelet-serving",
        "ca",
        "etcd-ca",
      ]) {
        assert.ok(names.includes(`${c}/cp-1/${n}`), `${c}/cp-1/${n}`);
      }
      assert.ok(names.includes(`${c}/w-1/kubelet.conf`) && !names.includes(`${c}/w-1/apiserver`));
    }
    const row = (n: string) => rows.find((r) => r.certificate === n)!;
    assert.equal(row("fresh/cp-1/apiserver-etcd-client").authority, "etcd-ca");
    assert.equal(row("fresh/cp-1/front-proxy-client").authority, "front-proxy-ca");
    assert.equal(row("fresh/cp-1/admin.conf").authority, "ca");
    assert.equal(statusOf(row("old/cp-1/apiserver"), now, 30), "expired");
    assert.equal(statusOf(row("old/cp-1/ca"), now, 30), "ok", "the CA outlives its leaves");
    assert.equal(statusOf(row("soon/cp-1/apiserver"), now, 30), "warning");
    assert.equal(statusOf(row("soon/cp-1/apiserver"), now, 1), "ok");
    assert.equal(statusOf(row("fresh/cp-1/apiserver"), now, 30), "ok");
    const text = renderExpiryText(rows, now);
    assert.match(text, /^CERTIFICATE +EXPIRES +RESIDUAL TIME +CERTIFICATE AUTHORITY$/m);
    assert.match(text, /^old\/cp-1\/apiserver +\w{3} \d\d, \d{4} \d\d:\d\d UTC +<invalid> +ca$/m);
    assert.match(text, /^soon\/cp-1\/apiserver +.* UTC +1d +ca$/m);
    assert.match(text, /^CERTIFICATE AUTHORITY +EXPIRES +RESIDUAL TIME$/m);
  });

  it("the command line exits non-zero when anything is within the threshold, zero otherwise; -o json for monitoring", () => {
    const due = cli(["--dir", out, "--warn-days", "30"]);
    assert.equal(due.status, 1, due.stderr);
    assert.match(due.stderr, /old\/cp-1\/apiserver/);
    const fresh = cli(["--dir", join(out, "fresh", "cp-1", "etc", "kubernetes"), "--warn-days", "30", "-o", "json"]);
    assert.equal(fresh.status, 0, fresh.stderr);
    const json = JSON.parse(fresh.stdout);
    assert.ok(json.certificates.length >= 14 && json.certificates.every((c: any) => c.status === "ok" && c.residualSeconds > 0));
    assert.equal(cli(["--warn-days", "x"]).status, 2);
  });

  it("reads live endpoints: a real etcd member with mutual TLS, and a TLS server presenting an almost-expired certificate", async () => {
    const node = join(out, "soon", "cp-1");
    const f = (p: string) => join(node, p);
    const fresh = (p: string) => join(out, "fresh", "cp-1", p);
    const work = makeTempDir("expiry-etcd");
    const etcd = startDaemon(
      "etcd expiry",
      "etcd",
      [
        "--name",
        "cp-1",
        "--data-dir",
        join(work, "data"),
        "--listen-client-urls",
        "https://127.0.0.41:2379",
        "--advertise-client-urls",
        "https://127.0.0.41:2379",
        "--listen-peer-urls",
        "https://127.0.0.41:2380",
        "--initial-advertise-peer-urls",
        "https://127.0.0.41:2380",
        "--initial-cluster",
        "cp-1=https://127.0.0.41:2380",
        "--cert-file",
        fresh("etc/kubernetes/pki/etcd/server.crt"),
        "--key-file",
        fresh("etc/kubernetes/pki/etcd/server.key"),
        "--client-cert-auth",
        "--trusted-ca-file",
        fresh("etc/kubernetes/pki/etcd/ca.crt"),
        "--peer-cert-file",
        fresh("etc/kubernetes/pki/etcd/peer.crt"),
        "--peer-key-file",
        fresh("etc/kubernetes/pki/etcd/peer.key"),
        "--peer-client-cert-auth",
        "--peer-trusted-ca-file",
        fresh("etc/kubernetes/pki/etcd/ca.crt"),
      ],
      join(work, "etcd.log"),
      { maxLifetimeMs: 60_000 },
    );
    await waitForPort("127.0.0.41", 2379, 20_000, etcd);
    const client = {
      cert: readFileSync(fresh("etc/kubernetes/pki/etcd/healthcheck-client.crt"), "utf8"),
      key: readFileSync(fresh("etc/kubernetes/pki/etcd/healthcheck-client.key"), "utf8"),
    };
    const etcdRows = await rowsFromEndpoint("127.0.0.41:2379", client);
    assert.equal(etcdRows[0]!.certificate, "127.0.0.41:2379 cp-1");
    assert.equal(etcdRows[0]!.authority, "etcd-ca");
    assert.equal(statusOf(etcdRows[0]!, now, 30), "ok");

    // A server presenting the almost-expired apiserver certificate with its CA in the chain.
    const server = https.createServer(
      {
        cert: readFileSync(f("etc/kubernetes/pki/apiserver.crt"), "utf8") + readFileSync(f("etc/kubernetes/pki/ca.crt"), "utf8"),
        key: readFileSync(f("etc/kubernetes/pki/apiserver.key")),
      },
      (_, res) => res.end("ok"),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.42", r));
    try {
      const endpoint = `127.0.0.42:${(server.address() as AddressInfo).port}`;
      const rows = await rowsFromEndpoint(endpoint);
      assert.deepEqual(
        rows.map((r) => [r.certificate, r.isCa, statusOf(r, now, 30)]),
        [
          [`${endpoint} kube-apiserver`, false, "warning"],
          [`${endpoint} ca`, true, "ok"],
        ],
      );
      const r = await cliAsync([
        "--endpoint",
        endpoint,
        "--endpoint",
        "127.0.0.41:2379",
        "--client-cert",
        fresh("etc/kubernetes/pki/etcd/healthcheck-client.crt"),
        "--client-key",
        fresh("etc/kubernetes/pki/etcd/healthcheck-client.key"),
        "--warn-days",
        "7",
      ]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stdout, new RegExp(`${endpoint.replace(/\./g, "\\.")} kube-apiserver .* 1d +ca`));
      assert.match(r.stdout, /127\.0\.0\.41:2379 cp-1 .* 364d +etcd-ca/);
    } finally {
      server.close();
    }
    await assert.rejects(rowsFromEndpoint("127.0.0.43:1"), /127\.0\.0\.43:1: connect ECONNREFUSED/);
  });

  it("reads the stack outputs (`pulumi stack output --json`): every cluster's inventory", async () => {
    const ev = await evaluate(() => defineStack(planClusters([clusterConfig("a", 1, 1), clusterConfig("b", 1, 0)])));
    const outputs = { inventory: await valueOf(ev.result.outputs.inventory) };
    const rows = rowsFromStackOutputs(JSON.parse(JSON.stringify(outputs)));
    assert.ok(rows.some((r) => r.certificate === "a/cp-1/apiserver" && r.authority === "ca"));
    assert.ok(rows.some((r) => r.certificate === "b/etcd-ca" && r.isCa));
    assert.equal(rows.length, outputs.inventory.a!.length + outputs.inventory.b!.length);
    const r = cli(["--stack-output", "-", "--warn-days", "30"], JSON.stringify(outputs));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^a\/w-1\/kubelet\.conf +.* 364d +ca$/m);
    assert.throws(() => rowsFromStackOutputs({ other: 1 }), /no `inventory`/);
  });

  it("--stack-output - waits for a non-blocking pipe that is still empty when it starts reading (no EAGAIN)", async () => {
    const r = await runWithLateStdin("expiry", ["--stack-output", "-"], "{}");
    assert.deepEqual(
      [r.idle, r.code, r.stderr.trim()],
      [true, 2, "kube-pki expiry: stack outputs have no `inventory` (is this a kube-pki stack?)"],
    );
  });
});
