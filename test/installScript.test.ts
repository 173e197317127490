// The node program's install, removal and restart under attack and failure, run for real under dash and under busybox
// sh (support-shells.ts) against scratch roots: a crash inside the swap followed by a different bundle, installs
// killed while staging, planted symlinks and foreign directories, paths that leave the root, an install that starts
// while another is inside its swap, failures before the commit line (a full disk among them), how long a previous key
// or a replaced original stays on the node, and the restart's health gate against real TLS servers. Each case
// reproduces a defect found by an audit (issues 12 and 19).
import assert from "node:assert/strict";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { X509Certificate, createPrivateKey } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  bundlePayload,
  certificateFingerprint,
  installCommand,
  PayloadFile,
  removeCommand,
  restartCommand,
  restartInput,
} from "../components/node/nodeProgram";
import { makeTempDir } from "./e2e/proc";
import { opensslSelfSigned } from "./support";
import { nodeShell, SHELLS } from "./support-shells";

const CRT = "/etc/kubernetes/pki/apiserver.crt";
const KEY = "/etc/kubernetes/pki/apiserver.key";
/** A real pair (opensslSelfSigned), so "the key matches its certificate" is checked by crypto. */
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

const which = (command: string) => execFileSync("/bin/sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).trim();

/** A directory of `bodies` (name → sh script), to put first on a PATH. */
function shims(bodies: Record<string, string>): string {
  const bin = makeTempDir("shim-bin");
  for (const [name, body] of Object.entries(bodies)) writeFileSync(join(bin, name), `#!/bin/sh\n${body}`, { mode: 0o755 });
  return bin;
}

/**
 * Shims in which `command` kills the shell that ran it (kill -9: no trap runs) right after it did its work on a last
 * argument matching the sh pattern `pattern`: a node crashing at a chosen point.
 */
const killing = (command: string, pattern: string) =>
  shims({
    [command]: `${which(command)} "$@" || exit $?
for last; do :; done
case $last in ${pattern}) kill -9 $PPID ;; esac
`,
  });

const isRoot = process.getuid?.() === 0;

/** The files of one bundle as a restart reads them, no other component restarted after it. */
const readsOf = (bundle: string, ...paths: string[]) => paths.map((path) => ({ path, bundle, sharedWith: [] }));

/** Servers started for a test, killed after it (whether or not the restart under test stopped them). */
const servers: (ChildProcess | number)[] = [];

/** An `openssl s_server` on loopback serving `pair` (on a free port): the running component a restart replaces. */
async function serveTls(pair: { key: string; cert: string }): Promise<{ pid: number; port: number }> {
  const dir = makeTempDir("served");
  writeFileSync(join(dir, "c"), pair.cert);
  writeFileSync(join(dir, "k"), pair.key, { mode: 0o600 });
  const child = spawn("openssl", ["s_server", "-accept", "127.0.0.1:0", "-cert", join(dir, "c"), "-key", join(dir, "k"), "-www"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  servers.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`openssl s_server exited (${code}) before it listened`)));
  });
  return { pid: child.pid!, port };
}

for (const shell of SHELLS.map(nodeShell))
  describe(`under ${shell.name}`, () => {
    const { run: sh, runAsync: shAsync, nodeRoot, env } = shell;

    describe("install script: crashes, symlinks, foreign directories, concurrency", () => {
      it("a crash inside the swap of version 2, then version 3 (another bundle): every file is version 3, nothing outside the root", () => {
        const root = nodeRoot("crash");
        const [v1, v2, v3] = [opensslSelfSigned("v1"), opensslSelfSigned("v2"), opensslSelfSigned("v3")];
        assert.ok(sh(installCommand(root), bundlePayload(pairFiles(v1))).ok);
        const outside = "/..kube-pki-new";
        const existedBefore = existsSync(outside);
        // Killed right after the first file of version 2 was renamed into place: the other is still staged.
        const crashed = sh(installCommand(root), bundlePayload(pairFiles(v2)), env(killing("mv", `${join(root, CRT)}|${join(root, KEY)}`)));
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
        const root = nodeRoot("symlink");
        const victim = join(makeTempDir("victim"), "shadow");
        writeFileSync(victim, "root:secret-hash:19000::::::\n", { mode: 0o640 });
        mkdirSync(join(root, "etc/kubernetes/pki"), { recursive: true, mode: 0o755 });
        symlinkSync(victim, join(root, KEY));
        const r = sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("a"))));
        assert.equal(r.ok, false, "install refused");
        assert.match(r.out, /symlink/);
        assert.equal(readFileSync(victim, "utf8"), "root:secret-hash:19000::::::\n");
        assert.equal(statSync(victim).mode & 0o777, 0o640);
        assert.ok(lstatSync(join(root, KEY)).isSymbolicLink(), "the planted link is left for the operator to inspect");
        assert.deepEqual(
          readdirSync(join(root, "etc/kubernetes/pki")).filter((f) => f !== "apiserver.key"),
          [],
          "nothing staged or backed up",
        );
      });

      it("symlinks at its staging and backup names (`.X.kube-pki-new.*`, `.X.kube-pki-prev-new.*`, `.X.kube-pki-prev`): removed or replaced, not written through", () => {
        const root = nodeRoot("symlink-stage");
        const elsewhere = makeTempDir("elsewhere");
        const pki = join(root, "etc/kubernetes/pki");
        const [v1, v2] = [opensslSelfSigned("v1"), opensslSelfSigned("v2")];
        assert.ok(sh(installCommand(root), bundlePayload(pairFiles(v1))).ok);
        // The names a killed install leaves (mktemp's pattern) and the backup name the swap renames onto.
        const names = [".apiserver.key.kube-pki-new.AAAAAA", ".apiserver.key.kube-pki-prev-new.AAAAAA", ".apiserver.key.kube-pki-prev"];
        for (const name of names) {
          writeFileSync(join(elsewhere, name), "untouched\n");
          symlinkSync(join(elsewhere, name), join(pki, name));
        }
        const r = sh(installCommand(root), bundlePayload(pairFiles(v2), [], { keepPrevious: true }));
        assert.ok(r.ok, r.out);
        assert.match(r.out, /installed 2 file\(s\), removed 0 no longer entitled; previous version kept: yes/);
        for (const name of names)
          assert.equal(readFileSync(join(elsewhere, name), "utf8"), "untouched\n", `${name}: nothing written through the link`);
        assert.deepEqual(
          readdirSync(pki).filter((f) => lstatSync(join(pki, f)).isSymbolicLink()),
          [],
          "no link left",
        );
        assert.equal(readFileSync(join(pki, ".apiserver.key.kube-pki-prev"), "utf8"), v1.key, "the backup is a file of its own");
        assert.equal(readFileSync(join(root, KEY), "utf8"), v2.key);
        assert.ok(matches(root));
      });

      // The lock is opened for appending, the journal and the ledger are read as instructions and written with `>`
      // through their .tmp names: a link at any of them could send kube-pki's writes (or reads) anywhere.
      for (const name of ["lock", "journal", "journal.tmp", "installed", "installed.tmp"]) {
        it(`refuses a symlink planted at var/lib/kube-pki/${name}: nothing written through it, nothing installed`, () => {
          const root = nodeRoot("symlink-state");
          const victim = join(makeTempDir("victim"), "file");
          const v1 = opensslSelfSigned("v1");
          assert.ok(sh(installCommand(root), bundlePayload(pairFiles(v1))).ok);
          writeFileSync(victim, "untouched\n");
          const at = join(root, "var/lib/kube-pki", name);
          rmSync(at, { force: true });
          symlinkSync(victim, at);
          const r = sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("v2"))));
          assert.equal(r.ok, false, `install refused:\n${r.out}`);
          assert.match(r.out, new RegExp(`refusing ${at.replace(/[.]/g, "\\.")}: it is a symlink`));
          assert.equal(readFileSync(victim, "utf8"), "untouched\n");
          assert.equal(readFileSync(join(root, KEY), "utf8"), v1.key, "the node keeps its pair");
        });
      }

      it("refuses a symlinked directory on the way to a target", () => {
        const root = nodeRoot("symlink-dir");
        const elsewhere = makeTempDir("elsewhere-dir");
        mkdirSync(join(root, "etc/kubernetes"), { recursive: true, mode: 0o755 });
        symlinkSync(elsewhere, join(root, "etc/kubernetes/pki"));
        const r = sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("a"))));
        assert.equal(r.ok, false);
        assert.match(r.out, /symlink/);
        assert.deepEqual(readdirSync(elsewhere), [], "nothing written into the link's target");
      });

      it("refuses a directory that another user could write to (world-writable, or owned by someone else)", () => {
        const root = nodeRoot("foreign");
        const pki = join(root, "etc/kubernetes/pki");
        mkdirSync(pki, { recursive: true, mode: 0o755 });
        chmodSync(pki, 0o777);
        let r = sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("a"))));
        assert.equal(r.ok, false, "world-writable directory refused");
        assert.match(r.out, /writable by others|owned by/);
        assert.deepEqual(readdirSync(pki), []);
        // CI runs as root, where a directory owned by another user (here: nobody) is the realistic attack.
        assert.ok(isRoot, "this test needs root (as CI runs it) to make a directory owned by another user");
        chmodSync(pki, 0o755);
        chownSync(pki, 65534, 65534);
        r = sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("a"))));
        assert.equal(r.ok, false, "directory owned by another user refused");
        assert.match(r.out, /owned by/);
        assert.deepEqual(readdirSync(pki), []);
      });

      it("refuses paths that leave the root (`..`) even when the payload was not made by bundlePayload", () => {
        const root = nodeRoot("dotdot");
        const escape = makeTempDir("escape");
        const data = Buffer.from("evil\n").toString("base64");
        const sum = execFileSync("sha256sum", { input: "evil\n", encoding: "utf8" }).split(" ")[0];
        // root + path resolves to <escape>/x: two levels up from the root's parent, then the absolute escape dir.
        for (const path of [`/etc/../../..${escape}/x`, `/../..${escape}/x`]) {
          const payload = `file 0600 root ${sum} ${path} ${data}\ncommit 1\n`;
          const r = sh(installCommand(root), payload);
          assert.equal(r.ok, false, `${path} refused`);
          assert.match(r.out, new RegExp(`path ${path.replace(/[.]/g, "\\.")} leaves the root \\(\\. or \\.\\. component\\)`));
        }
        assert.deepEqual(readdirSync(escape), [], "nothing written outside the root");
      });

      it("a failed install leaves no staged file behind (bad base64, checksum mismatch, no commit line)", () => {
        const root = nodeRoot("cleanup");
        const good = bundlePayload(pairFiles(opensslSelfSigned("a")));
        const badBase64 = good.replace(/^(file \S+ \S+ \S+ \S+ )(\S+)$/m, "$1!!!not-base64!!!");
        const badSum = good.replace(/^(file \S+ \S+ )([0-9a-f]{64})/m, `$1${"0".repeat(64)}`);
        const noCommit = good.replace(/commit \d+\n$/, "");
        for (const [label, payload] of [
          ["bad base64", badBase64],
          ["checksum", badSum],
          ["no commit", noCommit],
        ] as const) {
          const r = sh(installCommand(root), payload);
          assert.equal(r.ok, false, `${label}: fails`);
          assert.deepEqual(leftovers(root), [], `${label}: no staged file left`);
          assert.equal(existsSync(join(root, KEY)), false, `${label}: nothing installed`);
        }
      });

      it("no failure path prints file content or key material", () => {
        const root = nodeRoot("quiet");
        const p = opensslSelfSigned("quiet");
        const good = bundlePayload(pairFiles(p));
        const keyBase64 = Buffer.from(p.key).toString("base64");
        const payloads = [
          good.replace(/^(file \S+ \S+ \S+ \S+ )(\S+)$/m, "$1%%%"),
          good.replace(/^(file \S+ \S+ )([0-9a-f]{64})/m, `$1${"0".repeat(64)}`),
          good.replace(/commit \d+\n$/, ""),
          good.replace(/commit \d+/, "commit 99"),
          good.replace(/\/etc\//g, "/etc/../../"),
        ];
        for (const payload of payloads) {
          for (const command of [installCommand(root), removeCommand(root)]) {
            const r = sh(command, payload);
            assert.ok(
              !r.out.includes("PRIVATE KEY") && !r.out.includes(keyBase64.slice(0, 40)) && !r.out.includes(keyBase64.slice(-40)),
              `output holds key material:\n${r.out.slice(0, 300)}`,
            );
          }
        }
      });

      it("an install that starts while another is staging waits for it (locked per root): the pair matches", async function () {
        this.timeout(60_000);
        const root = nodeRoot("concurrent");
        const [a, b] = [opensslSelfSigned("a"), opensslSelfSigned("b")];
        const at = makeTempDir("interleave");
        const mark = (name: string) => join(at, name);
        const waitUntil = (...names: string[]) =>
          `i=0; until ${names.map((n) => `[ -e ${mark(n)} ]`).join(" || ")}; do i=$((i + 1)); [ $i -lt 600 ] || exit 1; sleep 0.05; done`;
        // The first, while staging (inside the lock), waits until the second has gone for the lock or, were there no lock,
        // is inside its swap.
        const first = shAsync(
          installCommand(root),
          bundlePayload(pairFiles(a)),
          env(
            shims({
              chmod: `${which("chmod")} "$@" || exit $?
if [ ! -e ${mark("first-staging")} ]; then : > ${mark("first-staging")}; ${waitUntil("second-at-lock", "second-in-swap")}; fi
`,
            }),
          ),
        ).then((r) => {
          writeFileSync(mark("first-done"), "");
          return r;
        });
        for (let i = 0; !existsSync(mark("first-staging")); i++) {
          assert.ok(i < 600, "the first install did not reach its staging");
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        // The second says when it goes for the lock and, right after renaming its certificate into place (its key not
        // yet), waits until the first has finished.
        const second = shAsync(
          installCommand(root),
          bundlePayload(pairFiles(b)),
          env(
            shims({
              flock: `: > ${mark("second-at-lock")}\nexec ${which("flock")} "$@"\n`,
              mv: `${which("mv")} "$@" || exit $?
for last; do :; done
if [ "$last" = ${join(root, CRT)} ] && [ ! -e ${mark("second-in-swap")} ]; then : > ${mark("second-in-swap")}; ${waitUntil("first-done")}; fi
`,
            }),
          ),
        );
        const [r1, r2] = await Promise.all([first, second]);
        assert.ok(r1.ok, r1.out);
        assert.ok(r2.ok, r2.out);
        assert.ok(matches(root), "key matches certificate");
        assert.equal(readFileSync(join(root, CRT), "utf8"), b.cert, "the second install, which ran last, installed its certificate");
        assert.ok(existsSync(mark("second-at-lock")), "the second install went for the lock while the first was staging");
      });
    });

    describe("previous versions on the node", () => {
      it("a bundle that nothing restarts keeps no previous version; one that is restarted keeps it until the health check passed", () => {
        const root = nodeRoot("prev");
        const prevKey = join(root, "etc/kubernetes/pki/.apiserver.key.kube-pki-prev");
        assert.ok(sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("v1")), [], { keepPrevious: false })).ok);
        assert.ok(sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("v2")), [], { keepPrevious: false })).ok);
        assert.equal(existsSync(prevKey), false, "no previous key kept when no restart needs a fallback");
        assert.ok(sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("v3")), [], { keepPrevious: true })).ok);
        assert.ok(existsSync(prevKey), "kept while the restart is pending");
        // The restart's health check fails (nothing serves on port 1): the previous version stays for a rollback.
        const input = restartInput(
          [{ host: "127.0.0.1", port: 1, fingerprint: "AB:CD" }],
          { apiserver: "d1" },
          readsOf("apiserver", CRT, KEY),
        );
        assert.equal(sh(restartCommand("true", root, "kube-apiserver", 1, "update"), input).ok, false);
        assert.ok(existsSync(prevKey), "kept after a failed health check");
        // With no health check to pass (none configured), a successful restart drops it.
        assert.ok(
          sh(
            restartCommand("true", root, "kube-apiserver", 1, "update"),
            restartInput([], { apiserver: "d2" }, readsOf("apiserver", CRT, KEY)),
          ).ok,
        );
        assert.equal(existsSync(prevKey), false, "dropped once the restart succeeded");
      });

      it("a file several restarted components read keeps its previous version until every one of them passed", () => {
        const root = nodeRoot("prev-shared");
        const CA = "/etc/kubernetes/pki/ca.crt";
        const prev = join(root, "etc/kubernetes/pki/.ca.crt.kube-pki-prev");
        const ca = (content: string) => bundlePayload([{ path: CA, mode: 0o644, owner: "root", content }], [], { keepPrevious: true });
        assert.ok(sh(installCommand(root), ca("v1\n")).ok);
        assert.ok(sh(installCommand(root), ca("v2\n")).ok);
        assert.ok(existsSync(prev));
        // The restart stdin as restartInput writes it (a unit test in nodeScripts.test.ts pins that): each prev line names
        // the file's bundle, its digest and the other components restarted after it on this node.
        const input = (others: string) => `# ca d2\nprev ${CA} ca d2 ${others}\n`;
        const first = sh(restartCommand("true", root, "kube-apiserver", 1, "update"), input("kube-controller-manager kubelet"));
        assert.ok(first.ok, first.out);
        assert.ok(existsSync(prev), "kept: the controller-manager and the kubelet still read the previous CA and may need it back");
        assert.ok(sh(restartCommand("true", root, "kube-controller-manager", 1, "update"), input("kube-apiserver kubelet")).ok);
        assert.ok(existsSync(prev), "kept: the kubelet has not passed yet");
        assert.ok(sh(restartCommand("true", root, "kubelet", 1, "update"), input("kube-apiserver kube-controller-manager")).ok);
        assert.equal(existsSync(prev), false, "dropped once the last of them passed");
      });
    });

    describe("files kube-pki did not install (an adopted kubeadm node)", () => {
      it("the first replace keeps the original, with its mode, under var/lib/kube-pki/originals; later ones and unchanged files keep nothing", () => {
        const root = nodeRoot("originals");
        const kubeadm = opensslSelfSigned("kubeadm");
        mkdirSync(join(root, "etc/kubernetes/pki"), { recursive: true });
        writeFileSync(join(root, CRT), kubeadm.cert, { mode: 0o644 });
        writeFileSync(join(root, KEY), kubeadm.key, { mode: 0o600 });
        writeFileSync(join(root, "etc/kubernetes/pki/ca.crt"), "kubeadm's CA\n", { mode: 0o644 });
        const same: PayloadFile = { path: "/etc/kubernetes/pki/ca.crt", mode: 0o644, owner: "root", content: "kubeadm's CA\n" };
        const r = sh(installCommand(root), bundlePayload([...pairFiles(opensslSelfSigned("v1")), same]));
        assert.ok(r.ok, r.out);
        assert.match(r.out, /2 file\(s\) kube-pki did not install kept as they were/);
        const orig = (p: string) => join(root, "var/lib/kube-pki/originals", p);
        assert.equal(readFileSync(orig(CRT), "utf8"), kubeadm.cert);
        assert.equal(readFileSync(orig(KEY), "utf8"), kubeadm.key);
        assert.equal(statSync(orig(KEY)).mode & 0o777, 0o600, "the key keeps its mode");
        assert.equal(statSync(join(root, "var/lib/kube-pki/originals")).mode & 0o777, 0o700);
        assert.equal(existsSync(orig("/etc/kubernetes/pki/ca.crt")), false, "a file kube-pki installs unchanged is not copied");
        assert.ok(matches(root), "the new pair is installed");
        assert.ok(sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("v2")))).ok);
        assert.equal(readFileSync(orig(KEY), "utf8"), kubeadm.key, "kube-pki's own v1 is not an original: kubeadm's stays");
        assert.deepEqual(leftovers(root), []);
      });

      it("a signing key a node is no longer entitled to goes from originals/ too", () => {
        const root = nodeRoot("originals-ca");
        const path = "/etc/kubernetes/pki/ca.key";
        mkdirSync(join(root, "etc/kubernetes/pki"), { recursive: true });
        writeFileSync(join(root, path), "kubeadm's CA key\n", { mode: 0o600 });
        assert.ok(sh(installCommand(root), bundlePayload([{ path, mode: 0o600, owner: "root", content: "another key\n" }])).ok);
        assert.ok(existsSync(join(root, "var/lib/kube-pki/originals", path)));
        assert.ok(sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("v1")), [{ path, signingKey: true }])).ok);
        assert.equal(existsSync(join(root, path)), false);
        assert.equal(existsSync(join(root, "var/lib/kube-pki/originals", path)), false, "no copy of a CA key is left behind");
      });

      it("a kubeconfig a node is no longer entitled to (an old init node's super-admin.conf) goes from originals/ too", () => {
        const root = nodeRoot("originals-conf");
        const path = "/etc/kubernetes/super-admin.conf";
        mkdirSync(join(root, "etc/kubernetes"), { recursive: true });
        writeFileSync(join(root, path), "kubeadm's system:masters credential\n", { mode: 0o600 });
        assert.ok(sh(installCommand(root), bundlePayload([{ path, mode: 0o600, owner: "root", content: "kube-pki's\n" }])).ok);
        assert.ok(existsSync(join(root, "var/lib/kube-pki/originals", path)));
        const r = sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("v1")), [{ path, signingKey: false }]));
        assert.ok(r.ok, r.out);
        assert.match(r.out, /removed 1 no longer entitled/);
        assert.equal(existsSync(join(root, path)), false);
        assert.equal(existsSync(join(root, "var/lib/kube-pki/originals", path)), false, "kubeadm's credential is not left behind");
      });
    });

    describe("installs killed while staging, and paths a node is no longer entitled to", () => {
      const CA_CRT = "/etc/kubernetes/pki/ca.crt";
      const CA_KEY = "/etc/kubernetes/pki/ca.key";

      it("an install killed while staging a CA key, then one that declares the key absent (caKeys: none): no staged copy is left", () => {
        const root = nodeRoot("staged-ca-key");
        const ca = opensslSelfSigned("ca");
        const crt: PayloadFile = { path: CA_CRT, mode: 0o644, owner: "root", content: ca.cert };
        const killed = sh(
          installCommand(root),
          bundlePayload([crt, { path: CA_KEY, mode: 0o600, owner: "root", content: ca.key }]),
          env(killing("chmod", "*/.ca.key.kube-pki-new.*")),
        );
        assert.equal(killed.ok, false, "the install was killed");
        assert.deepEqual(leftovers(root).filter((f) => f.includes("/.ca.key.kube-pki-new.")).length, 1, "the kill left the staged CA key");
        const r = sh(installCommand(root), bundlePayload([crt], [{ path: CA_KEY, signingKey: true }]));
        assert.ok(r.ok, r.out);
        assert.deepEqual(leftovers(root), [], "no staged file left");
      });

      it("an install killed while copying a file it replaces to originals/, then the same bundle: no staged copy is left there", () => {
        const root = nodeRoot("staged-original");
        mkdirSync(join(root, "etc/kubernetes/pki"), { recursive: true });
        const kubeadm = opensslSelfSigned("kubeadm");
        writeFileSync(join(root, CRT), kubeadm.cert, { mode: 0o644 });
        writeFileSync(join(root, KEY), kubeadm.key, { mode: 0o600 });
        const v1 = bundlePayload(pairFiles(opensslSelfSigned("v1")));
        const killed = sh(installCommand(root), v1, env(killing("cp", "*/originals/*.kube-pki-new.*")));
        assert.equal(killed.ok, false, "the install was killed");
        assert.ok(
          leftovers(root).some((f) => f.startsWith("/var/lib/kube-pki/originals/")),
          "the kill left a staged copy under originals/",
        );
        const r = sh(installCommand(root), v1);
        assert.ok(r.ok, r.out);
        assert.deepEqual(leftovers(root), [], "no staged file left");
        assert.equal(
          readFileSync(join(root, "var/lib/kube-pki/originals", KEY), "utf8"),
          kubeadm.key,
          "kubeadm's key kept once, as it was",
        );
      });

      it("an absent path kept because it changed since kube-pki installed it: its previous version goes anyway", () => {
        const root = nodeRoot("absent-prev");
        const path = "/etc/kubernetes/admin.conf";
        const conf = (content: string) => bundlePayload([{ path, mode: 0o600, owner: "root", content }], [], { keepPrevious: true });
        assert.ok(sh(installCommand(root), conf("kube-pki's v1\n")).ok);
        assert.ok(sh(installCommand(root), conf("kube-pki's v2\n")).ok);
        const prev = join(root, "etc/kubernetes/.admin.conf.kube-pki-prev");
        assert.equal(readFileSync(prev, "utf8"), "kube-pki's v1\n");
        writeFileSync(join(root, path), "edited by hand\n");
        const r = sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("v1")), [{ path, signingKey: false }]));
        assert.ok(r.ok, r.out);
        assert.match(r.out, /kept \(not installed by kube-pki, or changed since\): \/etc\/kubernetes\/admin\.conf/);
        assert.equal(readFileSync(join(root, path), "utf8"), "edited by hand\n");
        assert.equal(existsSync(prev), false, "kube-pki's earlier credential is not left behind");
      });
    });

    describe("a full disk while staging (a 64 KiB tmpfs)", () => {
      let mounted: string | undefined;
      afterEach(() => {
        if (mounted) execFileSync("umount", [mounted]);
        mounted = undefined;
      });

      it("is reported as a write failure, not as bad base64, and leaves nothing staged", () => {
        assert.ok(isRoot, "this test needs root (as CI runs it) to mount a tmpfs");
        const root = nodeRoot("enospc");
        const pki = join(root, "etc/kubernetes/pki");
        mkdirSync(pki, { recursive: true, mode: 0o755 });
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", pki]);
        mounted = pki;
        execFileSync("/bin/sh", ["-c", `dd if=/dev/zero of=${join(pki, "filler")} bs=4k 2>/dev/null || true`]);
        const r = sh(installCommand(root), bundlePayload(pairFiles(opensslSelfSigned("a"))));
        assert.equal(r.ok, false);
        assert.match(
          r.out,
          /\/etc\/kubernetes\/pki\/apiserver\.crt: cannot write .*\.apiserver\.crt\.kube-pki-new\.\S+ \(.*No space left on device\)/,
        );
        assert.doesNotMatch(r.out, /not valid base64/);
        assert.deepEqual(readdirSync(pki), ["filler"], "nothing staged");
      });
    });

    describe("the restart's health gate against real TLS servers (openssl s_server on loopback)", () => {
      afterEach(() => {
        for (const s of servers.splice(0)) {
          try {
            if (typeof s === "number") process.kill(s, "SIGKILL");
            else if (s.exitCode === null && s.signalCode === null) s.kill("SIGKILL");
          } catch {
            /* already gone */
          }
        }
      });

      it("create, where the component served before its restart and nothing serves after: fails, the previous version stays", async () => {
        const root = nodeRoot("create-served");
        const [v1, v2] = [opensslSelfSigned("v1"), opensslSelfSigned("v2")];
        assert.ok(sh(installCommand(root), bundlePayload(pairFiles(v1))).ok);
        assert.ok(sh(installCommand(root), bundlePayload(pairFiles(v2), [], { keepPrevious: true })).ok);
        // Still serving the old pair (kubeadm's, on an adopted node); the restart stops it and it does not come back.
        const server = await serveTls(v1);
        const input = restartInput(
          [{ host: "127.0.0.1", port: server.port, fingerprint: certificateFingerprint(v2.cert) }],
          { apiserver: "d2" },
          readsOf("apiserver", CRT, KEY),
        );
        const r = await shAsync(restartCommand(`kill ${server.pid}`, root, "kube-apiserver", 2, "create"), input);
        assert.equal(r.ok, false, r.out);
        assert.match(
          r.out,
          new RegExp(`after 2s 127\\.0\\.0\\.1:${server.port} still serves no certificate, not ${certificateFingerprint(v2.cert)}`),
        );
        assert.ok(existsSync(join(root, "etc/kubernetes/pki/.apiserver.key.kube-pki-prev")), "kept for a rollback");
        // Nothing recorded: the next apply restarts and checks again rather than finding "nothing new".
        const again = await shAsync(restartCommand("true", root, "kube-apiserver", 1, "update"), input);
        assert.equal(again.ok, false);
        assert.doesNotMatch(again.out, /reads nothing new/);
      });

      it("create, where the component served before its restart and serves its new certificate after: passes", async () => {
        const root = nodeRoot("create-served-new");
        const [v1, v2] = [opensslSelfSigned("v1"), opensslSelfSigned("v2")];
        assert.ok(sh(installCommand(root), bundlePayload(pairFiles(v2))).ok);
        const server = await serveTls(v1);
        const pidFile = join(makeTempDir("new-server"), "pid");
        // Stops the old server (waits until its port is free), then serves the installed pair on the same port.
        const command =
          `kill ${server.pid}; while kill -0 ${server.pid} 2>/dev/null; do sleep 0.05; done; ` +
          `openssl s_server -accept 127.0.0.1:${server.port} -cert ${join(root, CRT)} -key ${join(root, KEY)} -www </dev/null >/dev/null 2>&1 & ` +
          `echo $! > ${pidFile}`;
        const input = restartInput(
          [{ host: "127.0.0.1", port: server.port, fingerprint: certificateFingerprint(v2.cert) }],
          { apiserver: "d2" },
          readsOf("apiserver", CRT, KEY),
        );
        const r = await shAsync(restartCommand(command, root, "kube-apiserver", 5, "create"), input);
        if (existsSync(pidFile)) servers.push(Number(readFileSync(pidFile, "utf8")));
        assert.ok(r.ok, r.out);
        assert.match(r.out, new RegExp(`127\\.0\\.0\\.1:${server.port} serves the new certificate`));
      });
    });
  });
