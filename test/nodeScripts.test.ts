// The node-side scripts run for real with /bin/sh against a scratch root: content-checked removal, absent paths,
// and the restart gate (restart only when what a component reads changed; a silent server accepted only on create).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundlePayload, installCommand, removeCommand, restartCommand, restartInput } from "../components/nodeScripts";
import { makeTempDir } from "./e2e/proc";

function sh(command: string, input: string): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync("/bin/sh", ["-c", command], { input, encoding: "utf8", stdio: "pipe" }) };
  } catch (e: any) {
    return { ok: false, out: `${e.stdout}${e.stderr}` };
  }
}

describe("node scripts (run with sh)", () => {
  it("install removes the paths a bundle declares absent (a CA key the node may no longer hold), backups included", () => {
    const root = makeTempDir("scripts");
    mkdirSync(join(root, "pki"), { recursive: true });
    for (const f of ["pki/ca.key", "pki/.ca.key.kube-pki-prev"]) writeFileSync(join(root, f), "old key\n");
    const payload = bundlePayload([{ path: "/pki/ca.crt", mode: 0o644, owner: "root", content: "cert\n" }], [{ path: "/pki/ca.key", signingKey: true }]);
    assert.match(payload, /^absent always - - \/pki\/ca\.key$/m);
    assert.ok(sh(installCommand(root), payload).ok);
    assert.equal(readFileSync(join(root, "pki/ca.crt"), "utf8"), "cert\n");
    assert.ok(!existsSync(join(root, "pki/ca.key")) && !existsSync(join(root, "pki/.ca.key.kube-pki-prev")));
    // The commit count covers absent lines too: a cut before them installs nothing.
    assert.equal(sh(installCommand(root), payload.replace(/absent .*\n/, "")).ok, false);
  });

  it("removal deletes only files that still hold what this bundle installed", () => {
    const root = makeTempDir("scripts");
    const v1 = bundlePayload([{ path: "/pki/a.crt", mode: 0o644, owner: "root", content: "v1\n" }]);
    const v2 = bundlePayload([{ path: "/pki/a.crt", mode: 0o644, owner: "root", content: "v2\n" }]);
    assert.ok(sh(installCommand(root), v2).ok);
    // The old owner's delete (e.g. a node renamed) carries v1: the file now holds v2 and stays.
    assert.match(sh(removeCommand(root), v1).out, /removed 0 file\(s\), kept 1/);
    assert.equal(readFileSync(join(root, "pki/a.crt"), "utf8"), "v2\n");
    assert.match(sh(removeCommand(root), v2).out, /removed 1 file\(s\), kept 0/);
    assert.ok(!existsSync(join(root, "pki/a.crt")));
  });

  it("restart gate: create accepts a silent server; update restarts only on new digests; a failure is retried", () => {
    const root = makeTempDir("scripts");
    const log = join(root, "restarts.log");
    const restart = `echo restarted >> ${log}`;
    // Port 1 on loopback: nothing listens there.
    const input = (digest: string) => restartInput([{ host: "127.0.0.1", port: 1, fingerprint: "AB:CD" }], { apiserver: digest });
    const count = () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean).length : 0);
    const create = sh(restartCommand(restart, root, "kube-apiserver", 1, "create"), input("d1"));
    assert.ok(create.ok, create.out);
    assert.match(create.out, /nothing serves on 127\.0\.0\.1:1 yet/);
    assert.equal(count(), 1);
    const same = sh(restartCommand(restart, root, "kube-apiserver", 1, "update"), input("d1"));
    assert.ok(same.ok);
    assert.match(same.out, /reads nothing new here: not restarted/);
    assert.equal(count(), 1, "a re-run with the same digests restarts nothing");
    const changed = sh(restartCommand(restart, root, "kube-apiserver", 1, "update"), input("d2"));
    assert.equal(changed.ok, false, "on update a silent server fails the health check");
    assert.match(changed.out, /after 1s 127\.0\.0\.1:1 still serves no certificate, not AB:CD/);
    assert.equal(count(), 2);
    // Not recorded: the next apply restarts again.
    sh(restartCommand(restart, root, "kube-apiserver", 1, "update"), input("d2"));
    assert.equal(count(), 3);
    // A failing restart command fails the restart (quotes in the command survive).
    const failing = sh(restartCommand("echo 'no crictl here' >&2; false", root, "etcd", 1, "update"), input("d9"));
    assert.equal(failing.ok, false);
    assert.match(failing.out, /no crictl here[\s\S]*restarting etcd failed/);
  });
});
