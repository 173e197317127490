// The shard push of a bootstrap cluster's join files (one command for many workers), run as the command provider runs
// it (/bin/sh -c), under dash: local roots, and SSH through a PATH shim that runs the remote command locally and
// refuses a chosen host, so a failure is forced deterministically. Its worker list and the node program come from the
// join cache (a temp KUBE_PKI_CACHE per test), where the program puts them (storeJoinFile).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  bundlePayload,
  JoinKubeletRestart,
  joinProgramFile,
  joinPushCommand,
  joinPushInput,
  JoinTarget,
  joinWorkerFile,
} from "../components";
import { joinCacheDir, storeJoinFile } from "../components/delivery/joinDelivery";
import { makeTempDir } from "./e2e/proc";
import { opensslSelfSigned } from "./support";

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

/** The push's stdin, its worker list and the node program stored in `<dir>/cache` as the program stores them. */
function pushInput(dir: string, targets: readonly JoinTarget[], key?: string, files = bundle, restart?: JoinKubeletRestart): string {
  const cache = joinCacheDir({ KUBE_PKI_CACHE: join(dir, "cache") });
  const workers = joinWorkerFile(targets);
  for (const f of [joinProgramFile(), workers]) storeJoinFile(cache, f);
  return joinPushInput(workers, files, key, restart);
}

function run(dir: string, mode: "local" | "ssh", input: string, env: Record<string, string> = {}) {
  const r = spawnSync("dash", ["-c", joinPushCommand(mode)], {
    input,
    env: { ...process.env, KUBE_PKI_CACHE: join(dir, "cache"), ...env },
    encoding: "utf8",
  });
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
    const r = run(dir, "local", pushInput(dir, targets));
    assert.equal(r.code, 0, r.stderr);
    for (const t of targets) {
      assert.equal(readFileSync(join(t.root, "etc/kubernetes/bootstrap-kubelet.conf"), "utf8"), FILES[1]!.content);
      assert.equal(statSync(join(t.root, "etc/kubernetes/bootstrap-kubelet.conf")).mode & 0o777, 0o600);
    }
  });

  it("ssh: a refused worker is named in the error, and the others of its shard still get their files", () => {
    const dir = makeTempDir("join-ssh");
    const targets = sshTargets(dir, ["10.1.0.1", "10.1.0.2", "10.1.0.3"]);
    const r = run(dir, "ssh", pushInput(dir, targets), {
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
    const r = run(dir, "ssh", pushInput(dir, targets, key), {
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

  it("refuses a shard whose worker list is not in the join cache, and says to run pulumi up again", () => {
    const dir = makeTempDir("join-absent");
    const targets = [{ name: "w-1", root: join(dir, "w-1") }];
    storeJoinFile(joinCacheDir({ KUBE_PKI_CACHE: join(dir, "cache") }), joinProgramFile());
    const r = run(dir, "local", joinPushInput(joinWorkerFile(targets), bundle));
    assert.equal(r.code, 1);
    const path = join(dir, "cache", "join", joinWorkerFile(targets).digest);
    assert.equal(
      r.stderr.trim(),
      `kube-pki: ${path} (the worker list of this shard) is missing: run pulumi up again (its program writes the file before this command runs)`,
    );
    assert.equal(existsSync(join(dir, "w-1")), false);
  });

  it("refuses a worker list changed since the program wrote it, and installs nothing", () => {
    const dir = makeTempDir("join-tampered");
    const targets = [{ name: "w-1", root: join(dir, "w-1") }];
    const input = pushInput(dir, targets);
    const path = join(dir, "cache", "join", joinWorkerFile(targets).digest);
    appendFileSync(path, `worker w-2 ${join(dir, "w-2")}\n`);
    const r = run(dir, "local", input);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      `kube-pki: ${path} (the worker list of this shard) does not hold what it is named after (changed since pulumi up wrote it): run pulumi up again`,
    );
    assert.ok(!existsSync(join(dir, "w-1")) && !existsSync(join(dir, "w-2")));
  });
});

describe("join files: the join cache", () => {
  it("leaves a file that holds its digest as it is (shared by runs and stacks)", () => {
    const cache = joinCacheDir({ KUBE_PKI_CACHE: makeTempDir("join-cache") });
    const file = joinWorkerFile([{ name: "w-1", root: "/srv/w-1" }]);
    storeJoinFile(cache, file);
    const before = statSync(join(cache, file.digest), { bigint: true });
    storeJoinFile(cache, file);
    const after = statSync(join(cache, file.digest), { bigint: true });
    assert.deepEqual([after.ino, after.mtimeNs], [before.ino, before.mtimeNs]);
  });

  it("replaces a damaged file with its text, mode 0644 whatever the umask", () => {
    const cache = joinCacheDir({ KUBE_PKI_CACHE: makeTempDir("join-cache") });
    const file = joinWorkerFile([{ name: "w-1", root: "/srv/w-1" }]);
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, file.digest), "worker w-9 /srv/w-9\n", { mode: 0o600 });
    const umask = process.umask(0o077);
    try {
      storeJoinFile(cache, file);
    } finally {
      process.umask(umask);
    }
    assert.equal(readFileSync(join(cache, file.digest), "utf8"), file.text);
    assert.equal(statSync(join(cache, file.digest)).mode & 0o777, 0o644);
  });

  it("needs an absolute path: the commands run in the consumer's project directory", () => {
    assert.throws(
      () => joinCacheDir({ KUBE_PKI_CACHE: "cache" }),
      /KUBE_PKI_CACHE or HOME to be an absolute path \(KUBE_PKI_CACHE="cache"\)/,
    );
  });
});

describe("join files over SSH: the kubelet restarts when its CAs changed (its API client keeps the CA it started with)", () => {
  const [oldCa, newCa] = [opensslSelfSigned("old-ca").cert, opensslSelfSigned("new-ca").cert];
  const caBundle = (...pems: string[]) =>
    bundlePayload([{ path: "/etc/kubernetes/pki/ca.crt", mode: 0o644, owner, content: pems.join("") }]);
  /** A push of ca.crt with `pems` to one worker, whose restart command logs to <dir>/restarts or fails (FAIL_RESTART). */
  const push = (dir: string, env: Record<string, string>, ...pems: string[]) =>
    run(
      dir,
      "ssh",
      pushInput(dir, sshTargets(dir, ["10.1.0.1"]), undefined, caBundle(...pems), {
        command: `[ ! -e ${dir}/fail ] && echo restarted >> ${dir}/restarts`,
        timeoutSeconds: 5,
        healthz: false,
      }),
      {
        PATH: `${existsSync(join(dir, "bin")) ? join(dir, "bin") : sshShim(dir)}:${process.env.PATH}`,
        SHIM_LOG: join(dir, "log"),
        FAIL_HOSTS: "",
        ...env,
      },
    );
  const restarts = (dir: string) =>
    existsSync(join(dir, "restarts")) ? readFileSync(join(dir, "restarts"), "utf8").split("\n").length - 1 : 0;

  it("restarts it after add (a CA more), not after switch (the same CAs reordered), again after drop (a CA less), never on the first install", () => {
    const dir = makeTempDir("join-restart");
    const counts = [[oldCa], [oldCa, newCa], [newCa, oldCa], [newCa]].map((pems) => {
      const r = push(dir, {}, ...pems);
      assert.equal(r.code, 0, r.stderr);
      return restarts(dir);
    });
    assert.deepEqual(counts, [0, 1, 1, 2]);
  });

  it("a failed restart fails the push and is retried by the next one, with the files already in place", () => {
    const dir = makeTempDir("join-restart-retry");
    assert.equal(push(dir, {}, oldCa).code, 0);
    writeFileSync(join(dir, "fail"), "");
    const failed = push(dir, {}, oldCa, newCa);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /kube-pki: w-1: join files not installed \(exit 1\):.*restarting kubelet failed/);
    rmSync(join(dir, "fail"));
    assert.equal(push(dir, {}, oldCa, newCa).code, 0);
    assert.equal(restarts(dir), 1);
  });
});
