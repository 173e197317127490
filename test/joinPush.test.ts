// The shard push of a bootstrap cluster's join files (one command for many workers), run as the command provider runs
// it (/bin/sh -c), under dash: local roots, and SSH through a PATH shim that runs the remote command locally and
// refuses a chosen host, so a failure is forced deterministically.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundlePayload, joinPushCommand, joinPushInput, JoinTarget } from "../components";
import { makeTempDir } from "./e2e/proc";

const FILES = [
  { path: "/etc/kubernetes/pki/ca.crt", mode: 0o644, owner: "root", content: "ca\n" },
  { path: "/etc/kubernetes/bootstrap-kubelet.conf", mode: 0o600, owner: "root", content: "token: abcdef.0123456789abcdef\n" },
];
const owner = String(process.getuid!());
const bundle = bundlePayload(FILES.map((f) => ({ ...f, owner })));

/** An `ssh` that records its arguments and runs the remote command here; `FAIL_HOSTS` (space-separated) refuse. */
function sshShim(dir: string): string {
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(
    join(bin, "ssh"),
    [
      "#!/bin/sh",
      'printf "%s\\n" "$*" >> "$SHIM_LOG"',
      'while [ "$1" != "--" ]; do dest=$1; shift; done; shift',
      'host=${dest#*@}; for f in $FAIL_HOSTS; do if [ "$f" = "$host" ]; then echo "ssh: connect to host $host port 22: Connection refused" >&2; exit 255; fi; done',
      'exec sh -c "$1"',
    ].join("\n"),
  );
  chmodSync(join(bin, "ssh"), 0o755);
  return bin;
}

function run(mode: "local" | "ssh", input: string, env: Record<string, string> = {}) {
  const r = spawnSync("dash", ["-c", joinPushCommand(mode)], { input, env: { ...process.env, ...env }, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sshTargets = (dir: string, hosts: string[]): JoinTarget[] =>
  hosts.map((h, i) => ({
    name: `w-${i + 1}`,
    root: join(dir, `w-${i + 1}`),
    ssh: { host: h, port: 22, user: "root", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKpQ6SxQ0Xn1+D7K0YV0hJw5mH1lO3R0fJc1m3m5hY9x" },
  }));

describe("join files: one push per shard of workers", () => {
  it("local: every worker's root gets the files with their modes", () => {
    const dir = makeTempDir("join-local");
    const targets = ["w-1", "w-2", "w-3"].map((name) => ({ name, root: join(dir, name) }));
    const r = run("local", joinPushInput(targets, bundle));
    assert.equal(r.code, 0, r.stderr);
    for (const t of targets) {
      assert.equal(readFileSync(join(t.root, "etc/kubernetes/bootstrap-kubelet.conf"), "utf8"), FILES[1]!.content);
      assert.equal(statSync(join(t.root, "etc/kubernetes/bootstrap-kubelet.conf")).mode & 0o777, 0o600);
    }
  });

  it("ssh: a refused worker is named in the error, and the others of its shard still get their files", () => {
    const dir = makeTempDir("join-ssh");
    const targets = sshTargets(dir, ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    const r = run("ssh", joinPushInput(targets, bundle), {
      PATH: `${sshShim(dir)}:${process.env.PATH}`,
      SHIM_LOG: join(dir, "log"),
      FAIL_HOSTS: "10.1.0.2",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /kube-pki: w-2: join files not installed \(exit 255\): ssh: connect to host 10\.1\.0\.2 port 22: Connection refused/,
    );
    assert.match(r.stderr, /join files failed on w-2 \(the next pulumi up retries this shard\)/);
    assert.ok(
      existsSync(join(dir, "w-1/etc/kubernetes/bootstrap-kubelet.conf")) &&
        existsSync(join(dir, "w-3/etc/kubernetes/bootstrap-kubelet.conf")),
    );
  });

  it("ssh: the host key is pinned and the deploy key reaches no command line and no error", () => {
    const dir = makeTempDir("join-ssh-key");
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "deploy")]);
    const key = readFileSync(join(dir, "deploy"), "utf8");
    const targets = sshTargets(dir, ["10.1.0.1"]);
    const r = run("ssh", joinPushInput(targets, bundle, key), {
      PATH: `${sshShim(dir)}:${process.env.PATH}`,
      SHIM_LOG: join(dir, "log"),
      FAIL_HOSTS: "",
    });
    assert.equal(r.code, 0, r.stderr);
    const log = readFileSync(join(dir, "log"), "utf8");
    assert.match(log, /-o StrictHostKeyChecking=yes/);
    const body = key.split("\n")[1]!;
    assert.ok(!log.includes(body) && !r.stderr.includes(body) && !r.stdout.includes(body));
  });
});
