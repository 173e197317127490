// The node-side install and removal scripts under attack and failure, run for real with /bin/sh against scratch
// roots: a crash inside the swap followed by a different bundle, planted symlinks and foreign directories, paths that
// leave the root, concurrent installs to one root, failures before the commit line, and how long a previous key
// stays on the node. Each case reproduces a defect found by the audit (issue 12).
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import {
  chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { bundlePayload, installCommand, PayloadFile, removeCommand, restartCommand, restartInput } from "../components/nodeScripts";
import { makeNodeRoot, makeTempDir } from "./e2e/proc";

interface ShResult { ok: boolean; code: number | null; out: string }

function sh(command: string, input: string, env: NodeJS.ProcessEnv = process.env): ShResult {
  try {
    return { ok: true, code: 0, out: execFileSync("/bin/sh", ["-c", command], { input, encoding: "utf8", stdio: "pipe", env }) };
  } catch (e: any) {
    return { ok: false, code: e.status ?? null, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

function shAsync(command: string, input: string): Promise<ShResult> {
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { out += d.toString(); });
    child.on("close", (code) => resolve({ ok: code === 0, code, out }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}

/** A real key and certificate pair (openssl), so "the key matches its certificate" is checked by crypto. */
function keyPair(cn: string): { key: string; cert: string } {
  const dir = makeTempDir("pair");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${cn}`,
    "-days", "1", "-keyout", join(dir, "k"), "-out", join(dir, "c")], { stdio: "pipe" });
  return { key: readFileSync(join(dir, "k"), "utf8"), cert: readFileSync(join(dir, "c"), "utf8") };
}

const CRT = "/etc/kubernetes/pki/apiserver.crt";
const KEY = "/etc/kubernetes/pki/apiserver.key";
const pairFiles = (p: { key: string; cert: string }): PayloadFile[] => [
  { path: CRT, mode: 0o644, owner: "root", content: p.cert },
  { path: KEY, mode: 0o600, owner: "root", content: p.key },
];
const matches = (root: string) =>
  new X509Certificate(readFileSync(join(root, CRT))).checkPrivateKey(createPrivateKey(readFileSync(join(root, KEY))));

/** Every file under `dir` whose name says it is an install's scratch file (staged, commit marker, journal). */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory() && !e.isSymbolicLink()) walk(full);
      else if (/kube-pki-(new|commit)|\.tmp$/.test(e.name)) out.push(full.slice(dir.length));
    }
  };
  walk(dir);
  return out;
}

const MV = execFileSync("/bin/sh", ["-c", "command -v mv"], { encoding: "utf8" }).trim();

/**
 * A PATH in which `mv` kills the shell that ran it right after it renamed a file onto one of `targets`, the
 * `after`-th time: a crash of the node inside the install's swap, at a chosen point.
 */
function crashingPath(targets: readonly string[], after: number): NodeJS.ProcessEnv {
  const bin = makeTempDir("crash-bin");
  const count = join(bin, "count");
  writeFileSync(join(bin, "mv"), `#!/bin/sh
${MV} "$@" || exit $?
for last; do :; done
case " ${targets.join(" ")} " in *" $last "*) ;; *) exit 0 ;; esac
c=$(cat ${count} 2>/dev/null || echo 0); c=$((c + 1)); echo $c > ${count}
if [ "$c" -ge ${after} ]; then kill -9 $PPID; fi
exit 0
`, { mode: 0o755 });
  return { ...process.env, PATH: `${bin}:${process.env.PATH}` };
}

const isRoot = process.getuid?.() === 0;

describe("install script: crashes, symlinks, foreign directories, concurrency (run with sh)", () => {
  it("a crash inside the swap of version 2, then version 3 (another bundle): every file is version 3, nothing outside the root", () => {
    const root = makeNodeRoot("crash");
    const [v1, v2, v3] = [keyPair("v1"), keyPair("v2"), keyPair("v3")];
    assert.ok(sh(installCommand(root), bundlePayload(pairFiles(v1))).ok);
    const outside = "/..kube-pki-new";
    const existedBefore = existsSync(outside);
    // Killed right after the first file of version 2 was renamed into place: the other is still staged.
    const crashed = sh(installCommand(root), bundlePayload(pairFiles(v2)), crashingPath([join(root, CRT), join(root, KEY)], 1));
    assert.equal(crashed.ok, false, "the install was killed");
    assert.equal(matches(root), false, "the crash left a mixed pair (the situation the next install must repair)");
    const r = sh(installCommand(root), bundlePayload(pairFiles(v3)));
    try {
      assert.ok(r.ok, r.out);
      assert.equal(readFileSync(join(root, CRT), "utf8"), v3.cert, "certificate is version 3");
      assert.equal(readFileSync(join(root, KEY), "utf8"), v3.key, "key is version 3");
      assert.ok(matches(root), "key matches certificate");
      assert.deepEqual(leftovers(root), [], "no staged file or marker left");
      assert.equal(!existedBefore && existsSync(outside), false, `nothing written at ${outside}`);
    } finally {
      if (!existedBefore) rmSync(outside, { force: true });
    }
  });

  it("refuses a symlink planted at the target: the file it points to keeps its content and mode", () => {
    const root = makeNodeRoot("symlink");
    const victim = join(makeTempDir("victim"), "shadow");
    writeFileSync(victim, "root:secret-hash:19000::::::\n", { mode: 0o640 });
    mkdirSync(join(root, "etc/kubernetes/pki"), { recursive: true, mode: 0o755 });
    symlinkSync(victim, join(root, KEY));
    const r = sh(installCommand(root), bundlePayload(pairFiles(keyPair("a"))));
    assert.equal(r.ok, false, "install refused");
    assert.match(r.out, /symlink/);
    assert.equal(readFileSync(victim, "utf8"), "root:secret-hash:19000::::::\n");
    assert.equal(statSync(victim).mode & 0o777, 0o640);
    assert.ok(lstatSync(join(root, KEY)).isSymbolicLink(), "the planted link is left for the operator to inspect");
    assert.deepEqual(readdirSync(join(root, "etc/kubernetes/pki")).filter((f) => f !== "apiserver.key"), [], "nothing staged or backed up");
  });

  it("never writes through a symlink planted at a staging or backup name", () => {
    const root = makeNodeRoot("symlink-stage");
    const elsewhere = makeTempDir("elsewhere");
    const pki = join(root, "etc/kubernetes/pki");
    mkdirSync(pki, { recursive: true, mode: 0o755 });
    const v1 = keyPair("v1");
    assert.ok(sh(installCommand(root), bundlePayload(pairFiles(v1))).ok);
    for (const name of [".apiserver.key.kube-pki-new", ".apiserver.key.kube-pki-prev", ".apiserver.key.kube-pki-prev-new"]) {
      writeFileSync(join(elsewhere, name), "untouched\n");
      rmSync(join(pki, name), { force: true });
      symlinkSync(join(elsewhere, name), join(pki, name));
    }
    sh(installCommand(root), bundlePayload(pairFiles(keyPair("v2"))));
    for (const name of readdirSync(elsewhere)) {
      assert.equal(readFileSync(join(elsewhere, name), "utf8"), "untouched\n", `${name}: nothing written through the link`);
    }
    assert.ok(matches(root), "the node still has a matching pair");
  });

  it("refuses a symlinked directory on the way to a target", () => {
    const root = makeNodeRoot("symlink-dir");
    const elsewhere = makeTempDir("elsewhere-dir");
    mkdirSync(join(root, "etc/kubernetes"), { recursive: true, mode: 0o755 });
    symlinkSync(elsewhere, join(root, "etc/kubernetes/pki"));
    const r = sh(installCommand(root), bundlePayload(pairFiles(keyPair("a"))));
    assert.equal(r.ok, false);
    assert.match(r.out, /symlink/);
    assert.deepEqual(readdirSync(elsewhere), [], "nothing written into the link's target");
  });

  it("refuses a directory that another user could write to (world-writable, or owned by someone else)", () => {
    const root = makeNodeRoot("foreign");
    const pki = join(root, "etc/kubernetes/pki");
    mkdirSync(pki, { recursive: true, mode: 0o755 });
    chmodSync(pki, 0o777);
    let r = sh(installCommand(root), bundlePayload(pairFiles(keyPair("a"))));
    assert.equal(r.ok, false, "world-writable directory refused");
    assert.match(r.out, /writable by others|owned by/);
    assert.deepEqual(readdirSync(pki), []);
    // CI runs as root, where a directory owned by another user (here: nobody) is the realistic attack.
    assert.ok(isRoot, "this test needs root (as CI runs it) to make a directory owned by another user");
    chmodSync(pki, 0o755);
    chownSync(pki, 65534, 65534);
    r = sh(installCommand(root), bundlePayload(pairFiles(keyPair("a"))));
    assert.equal(r.ok, false, "directory owned by another user refused");
    assert.match(r.out, /owned by/);
    assert.deepEqual(readdirSync(pki), []);
  });

  it("refuses paths that leave the root (`..`) even when the payload was not made by bundlePayload", () => {
    const root = makeNodeRoot("dotdot");
    const escape = makeTempDir("escape");
    const data = Buffer.from("evil\n").toString("base64");
    const sum = execFileSync("sha256sum", { input: "evil\n", encoding: "utf8" }).split(" ")[0];
    // root + path resolves to <escape>/x: two levels up from the root's parent, then the absolute escape dir.
    for (const path of [`/etc/../../..${escape}/x`, `/../..${escape}/x`]) {
      const payload = `file 0600 root ${sum} ${path} ${data}\ncommit 1\n`;
      const r = sh(installCommand(root), payload);
      assert.equal(r.ok, false, `${path} refused`);
      assert.match(r.out, /outside the root|\.\./);
    }
    assert.deepEqual(readdirSync(escape), [], "nothing written outside the root");
  });

  it("a failed install leaves no staged file behind (bad base64, checksum mismatch, no commit line)", () => {
    const root = makeNodeRoot("cleanup");
    const good = bundlePayload(pairFiles(keyPair("a")));
    const badBase64 = good.replace(/^(file \S+ \S+ \S+ \S+ )(\S+)$/m, "$1!!!not-base64!!!");
    const badSum = good.replace(/^(file \S+ \S+ )([0-9a-f]{64})/m, `$1${"0".repeat(64)}`);
    const noCommit = good.replace(/commit \d+\n$/, "");
    for (const [label, payload] of [["bad base64", badBase64], ["checksum", badSum], ["no commit", noCommit]] as const) {
      const r = sh(installCommand(root), payload);
      assert.equal(r.ok, false, `${label}: fails`);
      assert.deepEqual(leftovers(root), [], `${label}: no staged file left`);
      assert.equal(existsSync(join(root, KEY)), false, `${label}: nothing installed`);
    }
  });

  it("no failure path prints file content or key material", () => {
    const root = makeNodeRoot("quiet");
    const p = keyPair("quiet");
    const good = bundlePayload(pairFiles(p));
    const keyBase64 = Buffer.from(p.key).toString("base64");
    const payloads = [
      good.replace(/^(file \S+ \S+ \S+ \S+ )(\S+)$/m, "$1%%%"), good.replace(/^(file \S+ \S+ )([0-9a-f]{64})/m, `$1${"0".repeat(64)}`),
      good.replace(/commit \d+\n$/, ""), good.replace(/commit \d+/, "commit 99"), good.replace(/\/etc\//g, "/etc/../../"),
    ];
    for (const payload of payloads) {
      for (const command of [installCommand(root), removeCommand(root)]) {
        const r = sh(command, payload);
        assert.ok(!r.out.includes("PRIVATE KEY") && !r.out.includes(keyBase64.slice(0, 40)) && !r.out.includes(keyBase64.slice(-40)),
          `output holds key material:\n${r.out.slice(0, 300)}`);
      }
    }
  });

  it("concurrent installs of two bundles to one root never end with a mismatched pair (locked per root)", async function () {
    this.timeout(300_000);
    const root = makeNodeRoot("concurrent");
    const [a, b] = [keyPair("a"), keyPair("b")];
    const [pa, pb] = [bundlePayload(pairFiles(a)), bundlePayload(pairFiles(b))];
    let mismatched = 0;
    const trials = 100;
    for (let i = 0; i < trials; i++) {
      const [ra, rb] = await Promise.all([shAsync(installCommand(root), pa), shAsync(installCommand(root), pb)]);
      assert.ok(ra.ok && rb.ok, `${ra.out}\n${rb.out}`);
      if (!matches(root)) mismatched++;
    }
    console.log(`      ${trials} concurrent pairs of installs: ${mismatched} mismatched`);
    assert.equal(mismatched, 0);
  });
});

describe("previous versions on the node (run with sh)", () => {
  it("a bundle that nothing restarts keeps no previous version; one that is restarted keeps it until the health check passed", () => {
    const root = makeNodeRoot("prev");
    const prevKey = join(root, "etc/kubernetes/pki/.apiserver.key.kube-pki-prev");
    assert.ok(sh(installCommand(root), bundlePayload(pairFiles(keyPair("v1")), [], { keepPrevious: false })).ok);
    assert.ok(sh(installCommand(root), bundlePayload(pairFiles(keyPair("v2")), [], { keepPrevious: false })).ok);
    assert.equal(existsSync(prevKey), false, "no previous key kept when no restart needs a fallback");
    assert.ok(sh(installCommand(root), bundlePayload(pairFiles(keyPair("v3")), [], { keepPrevious: true })).ok);
    assert.ok(existsSync(prevKey), "kept while the restart is pending");
    // The restart's health check fails (nothing serves on port 1): the previous version stays for a rollback.
    const input = restartInput([{ host: "127.0.0.1", port: 1, fingerprint: "AB:CD" }], { apiserver: "d1" }, [CRT, KEY]);
    assert.equal(sh(restartCommand("true", root, "kube-apiserver", 1, "update"), input).ok, false);
    assert.ok(existsSync(prevKey), "kept after a failed health check");
    // With no health check to pass (none configured), a successful restart drops it.
    assert.ok(sh(restartCommand("true", root, "kube-apiserver", 1, "update"), restartInput([], { apiserver: "d2" }, [CRT, KEY])).ok);
    assert.equal(existsSync(prevKey), false, "dropped once the restart succeeded");
  });
});

describe("files kube-pki did not install (an adopted kubeadm node; run with sh)", () => {
  it("the first replace keeps the original, with its mode, under var/lib/kube-pki/originals; later ones and unchanged files keep nothing", () => {
    const root = makeNodeRoot("originals");
    const kubeadm = keyPair("kubeadm");
    mkdirSync(join(root, "etc/kubernetes/pki"), { recursive: true });
    writeFileSync(join(root, CRT), kubeadm.cert, { mode: 0o644 });
    writeFileSync(join(root, KEY), kubeadm.key, { mode: 0o600 });
    writeFileSync(join(root, "etc/kubernetes/pki/ca.crt"), "kubeadm's CA\n", { mode: 0o644 });
    const same: PayloadFile = { path: "/etc/kubernetes/pki/ca.crt", mode: 0o644, owner: "root", content: "kubeadm's CA\n" };
    const r = sh(installCommand(root), bundlePayload([...pairFiles(keyPair("v1")), same]));
    assert.ok(r.ok, r.out);
    assert.match(r.out, /2 file\(s\) kube-pki did not install kept as they were/);
    const orig = (p: string) => join(root, "var/lib/kube-pki/originals", p);
    assert.equal(readFileSync(orig(CRT), "utf8"), kubeadm.cert);
    assert.equal(readFileSync(orig(KEY), "utf8"), kubeadm.key);
    assert.equal(statSync(orig(KEY)).mode & 0o777, 0o600, "the key keeps its mode");
    assert.equal(statSync(join(root, "var/lib/kube-pki/originals")).mode & 0o777, 0o700);
    assert.equal(existsSync(orig("/etc/kubernetes/pki/ca.crt")), false, "a file kube-pki installs unchanged is not copied");
    assert.ok(matches(root), "the new pair is installed");
    assert.ok(sh(installCommand(root), bundlePayload(pairFiles(keyPair("v2")))).ok);
    assert.equal(readFileSync(orig(KEY), "utf8"), kubeadm.key, "kube-pki's own v1 is not an original: kubeadm's stays");
    assert.deepEqual(leftovers(root), []);
  });

  it("a signing key a node is no longer entitled to goes from originals/ too", () => {
    const root = makeNodeRoot("originals-ca");
    const path = "/etc/kubernetes/pki/ca.key";
    mkdirSync(join(root, "etc/kubernetes/pki"), { recursive: true });
    writeFileSync(join(root, path), "kubeadm's CA key\n", { mode: 0o600 });
    assert.ok(sh(installCommand(root), bundlePayload([{ path, mode: 0o600, owner: "root", content: "another key\n" }])).ok);
    assert.ok(existsSync(join(root, "var/lib/kube-pki/originals", path)));
    assert.ok(sh(installCommand(root), bundlePayload(pairFiles(keyPair("v1")), [{ path, signingKey: true }])).ok);
    assert.equal(existsSync(join(root, path)), false);
    assert.equal(existsSync(join(root, "var/lib/kube-pki/originals", path)), false, "no copy of a CA key is left behind");
  });
});
