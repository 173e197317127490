// The node program: what ships (the digest a deployed stack knows, shellcheck on its source) and, run for real under
// dash and under busybox sh against a scratch root, content-checked removal, absent paths and the restart gate
// (restart only when what a component reads changed; a silent server accepted only on create); and the restart stdin
// the delivery plan gives each component.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { buildCatalog, validateClusters } from "../components";
import { deliveryPlan } from "../components/model/deliveryPlan";
import {
  bundlePayload,
  installCommand,
  NODE_PROGRAM_DIGEST,
  nodeProgramPath,
  nodeToolsPayload,
  removeCommand,
  restartCommand,
  restartInput,
  toolsCommand,
} from "../components/node/nodeProgram";
import { makeTempDir } from "./e2e/proc";
import { clusterConfig } from "./support";
import { nodeShell, SHELLS } from "./support-shells";

const REPO = join(__dirname, "..");
const SOURCE = join(REPO, "components/node/kube-pki-node.sh");

describe("the node program as shipped", () => {
  // Every node's tools command and every push's command name this digest: a change replaces them all and re-runs
  // every push. It was the digest of the program kube-pki shipped when the program still lived in nodeScripts.ts's
  // template literals (46250475…) until the restart gate learnt /healthz (the approver's), then d176a987… until an
  // install stopped checking a directory it had already checked (issue 21: the forks of a 1,000-worker local first
  // up); change it only with the program.
  it("is the program this kube-pki version ships (its digest is pinned: a change re-runs every push once)", () => {
    assert.equal(NODE_PROGRAM_DIGEST, "d40d9a4c6ffe7149cfb0e7ed5a6b6ac8fdde5541508bb0481edbb5a237514eae");
  });

  it("holds the source file's code without its comment lines (documentation and directives stay in the repository)", () => {
    const shipped = gunzipSync(Buffer.from(nodeToolsPayload(), "base64")).toString("utf8");
    assert.ok(
      readFileSync(SOURCE, "utf8")
        .split("\n")
        .some((l) => /^\s*#/.test(l)),
      "the source documents itself",
    );
    assert.deepEqual(
      shipped.split("\n").filter((l) => /^\s*#/.test(l)),
      [],
      "no comment line shipped",
    );
    assert.match(shipped, /^op=\$1; shift\n/);
  });

  it("is clean under shellcheck --shell=sh, as the project's scripts are (npm run lint:sh; Debian's shellcheck, never skipped)", () => {
    const lint = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).scripts["lint:sh"];
    assert.equal(lint, "shellcheck --shell=sh components/node/kube-pki-node.sh && shellcheck --severity=warning scripts/*.sh");
    try {
      execFileSync("/bin/sh", ["-c", lint], { cwd: REPO, encoding: "utf8", stdio: "pipe" });
    } catch (e: any) {
      if (e.status === 127) assert.fail('shellcheck is not installed: apt-get install shellcheck (README, "Set up")');
      assert.fail(`shellcheck findings:\n${e.stdout}${e.stderr}`);
    }
  });
});

for (const shell of SHELLS.map(nodeShell))
  describe(`the node program under ${shell.name}`, () => {
    const { run: sh, nodeRoot } = shell;

    it(`runs in ${shell.name}: the loader's exec and the restart command it starts both find that shell as sh`, () => {
      const root = nodeRoot("which-shell");
      const seen = join(root, "shells");
      const r = sh(
        restartCommand(`echo "$(readlink /proc/$PPID/exe) $(readlink /proc/$$/exe)" > ${seen}`, root, "kubelet", 1, "create"),
        restartInput([], { kubelet: "d1" }),
      );
      assert.ok(r.ok, r.out);
      const binary = execFileSync("/bin/sh", ["-c", `readlink -f "$(command -v ${shell.name.split(" ")[0]})"`], {
        encoding: "utf8",
      }).trim();
      assert.equal(readFileSync(seen, "utf8"), `${binary} ${binary}\n`);
    });

    it("install removes the paths a bundle declares absent (a CA key the node may no longer hold), backups included", () => {
      const root = nodeRoot("scripts");
      mkdirSync(join(root, "pki"), { recursive: true });
      for (const f of ["pki/ca.key", "pki/.ca.key.kube-pki-prev"]) writeFileSync(join(root, f), "old key\n");
      const payload = bundlePayload(
        [{ path: "/pki/ca.crt", mode: 0o644, owner: "root", content: "cert\n" }],
        [{ path: "/pki/ca.key", signingKey: true }],
      );
      assert.match(payload, /^absent always - - \/pki\/ca\.key$/m);
      assert.ok(sh(installCommand(root), payload).ok);
      assert.equal(readFileSync(join(root, "pki/ca.crt"), "utf8"), "cert\n");
      assert.ok(!existsSync(join(root, "pki/ca.key")) && !existsSync(join(root, "pki/.ca.key.kube-pki-prev")));
      // The commit count covers absent lines too: a cut before them installs nothing.
      assert.equal(sh(installCommand(root), payload.replace(/absent .*\n/, "")).ok, false);
    });

    it("removal deletes only files that still hold what this bundle installed", () => {
      const root = nodeRoot("scripts");
      const v1 = bundlePayload([{ path: "/pki/a.crt", mode: 0o644, owner: "root", content: "v1\n" }]);
      const v2 = bundlePayload([{ path: "/pki/a.crt", mode: 0o644, owner: "root", content: "v2\n" }]);
      assert.ok(sh(installCommand(root), v2).ok);
      // The old owner's delete (e.g. a node renamed) carries v1: the file now holds v2 and stays.
      assert.match(sh(removeCommand(root), v1).out, /removed 0 file\(s\), kept 1/);
      assert.equal(readFileSync(join(root, "pki/a.crt"), "utf8"), "v2\n");
      assert.match(sh(removeCommand(root), v2).out, /removed 1 file\(s\), kept 0/);
      assert.ok(!existsSync(join(root, "pki/a.crt")));
    });

    it("restart gate: create accepts a server silent before and after the restart; update restarts only on new digests; a failure is retried", () => {
      const root = nodeRoot("scripts");
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

    // The approver serves no certificate to compare: its gate is its /healthz (plain HTTP on loopback, no credentials),
    // asked with curl, here a PATH shim that answers what the test says, so no server and no race is involved.
    const healthzShim = (root: string, answers: string) => {
      const bin = join(root, "shim");
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(root, "answers"), answers);
      // Each call takes the next answer; the last one stays. A "-" answers nothing (connection refused).
      writeFileSync(
        join(bin, "curl"),
        `#!/bin/sh\necho "$*" >> ${root}/curl.log\na=$(head -n 1 ${root}/answers)\n[ "$(wc -l < ${root}/answers)" -gt 1 ] && sed -i 1d ${root}/answers\n[ "$a" = - ] && exit 7\necho "$a"\n`,
        { mode: 0o755 },
      );
      return shell.env(bin);
    };
    const approverInput = (digest: string) =>
      restartInput([], { "kube-pki-csr-approver-conf": digest }, [], [{ host: "127.0.0.1", port: 10271, node: "cp-1" }]);

    it("restart gate: the approver's update fails, naming node and reader, when its /healthz does not answer ok within the timeout", () => {
      const root = nodeRoot("healthz");
      const r = sh(restartCommand("true", root, "kube-pki-csr-approver", 1, "update"), approverInput("d2"), healthzShim(root, "-\n"));
      assert.equal(r.ok, false, r.out);
      assert.match(
        r.out,
        /kube-pki-csr-approver on node cp-1: http:\/\/127\.0\.0\.1:10271\/healthz did not answer ok within 1s after the restart/,
      );
    });

    it("restart gate: the approver's update passes once its /healthz answers ok, and the next run with the same digests restarts nothing", () => {
      const root = nodeRoot("healthz-ok");
      const env = healthzShim(root, "-\nleader stopped renewing\nok\n");
      const r = sh(restartCommand("true", root, "kube-pki-csr-approver", 5, "update"), approverInput("d2"), env);
      assert.ok(r.ok, r.out);
      assert.match(r.out, /http:\/\/127\.0\.0\.1:10271\/healthz answers ok/);
      assert.equal(readFileSync(join(root, "curl.log"), "utf8").split("\n").filter(Boolean).length, 3);
      assert.match(sh(restartCommand("true", root, "kube-pki-csr-approver", 5, "update"), approverInput("d2"), env).out, /not restarted/);
    });

    it("the node program: installed once by the tools command, checked before every run, earlier versions kept", () => {
      const root = makeTempDir("tools");
      const bundle = bundlePayload([{ path: "/pki/a.crt", mode: 0o644, owner: "root", content: "cert\n" }]);
      const program = nodeProgramPath(root);
      // Without it, a push says what is missing and what to do, and installs nothing.
      const missing = sh(installCommand(root), bundle);
      assert.equal(missing.ok, false);
      assert.match(missing.out, /node-[0-9a-f]{64}\.sh is missing .*replace the tools command of this node/);
      assert.ok(!existsSync(join(root, "pki/a.crt")));
      // A damaged transfer installs nothing.
      const damaged = sh(toolsCommand(root), Buffer.from("not the program").toString("base64"));
      assert.equal(damaged.ok, false);
      assert.ok(!existsSync(program));
      const ok = sh(toolsCommand(root), nodeToolsPayload());
      assert.ok(ok.ok, ok.out);
      assert.equal(statSync(program).mode & 0o777, 0o600);
      assert.equal(readdirSync(join(root, "var/lib/kube-pki/bin")).length, 1, "no staged file left");
      assert.ok(sh(installCommand(root), bundle).ok);
      assert.equal(readFileSync(join(root, "pki/a.crt"), "utf8"), "cert\n");
      // The command strings are short: the program is on the node, not in every push's state.
      assert.ok(installCommand(root).length < 1000 && removeCommand(root).length < 1000);
      // A program changed on the node is refused, not run.
      const text = readFileSync(program, "utf8");
      writeFileSync(program, text.replace("set -eu", "set -eu; touch " + join(root, "owned")));
      const tampered = sh(installCommand(root), bundle);
      assert.equal(tampered.ok, false);
      assert.match(tampered.out, /does not hold the node program it is named after/);
      assert.ok(!existsSync(join(root, "owned")));
      // Re-running the tools command restores it; another version beside it (an older kube-pki's) is left alone.
      writeFileSync(join(root, "var/lib/kube-pki/bin/node-" + "0".repeat(64) + ".sh"), "older\n");
      assert.ok(sh(toolsCommand(root), nodeToolsPayload()).ok);
      assert.equal(readFileSync(program, "utf8"), text);
      assert.ok(existsSync(join(root, "var/lib/kube-pki/bin/node-" + "0".repeat(64) + ".sh")));
      assert.ok(sh(installCommand(root), bundle).ok);
    });

    it("the tools command refuses a symlinked or foreign-writable program directory", () => {
      const root = makeTempDir("tools-symlink");
      const elsewhere = makeTempDir("tools-elsewhere");
      mkdirSync(join(root, "var/lib/kube-pki"), { recursive: true });
      symlinkSync(elsewhere, join(root, "var/lib/kube-pki/bin"));
      const r = sh(toolsCommand(root), nodeToolsPayload());
      assert.equal(r.ok, false);
      assert.match(r.out, /refusing .*bin: it is a symlink/);
      assert.deepEqual(readdirSync(elsewhere), []);
      const open = makeTempDir("tools-open");
      mkdirSync(join(open, "var/lib/kube-pki/bin"), { recursive: true });
      chmodSync(join(open, "var/lib/kube-pki/bin"), 0o777);
      const o = sh(toolsCommand(open), nodeToolsPayload());
      assert.equal(o.ok, false);
      assert.match(o.out, /writable by others/);
    });
  });

describe("restart inputs of the delivery plan", () => {
  it("each prev line names the file's bundle, the bundle's digest and the other readers restarted after it on the node", () => {
    const input = restartInput([], { apiserver: "d2", ca: "d1" }, [
      { path: "/etc/kubernetes/pki/ca.crt", bundle: "ca", sharedWith: ["kube-controller-manager", "kubelet"] },
      { path: "/etc/kubernetes/pki/apiserver.crt", bundle: "apiserver", sharedWith: [] },
    ]);
    assert.equal(
      input,
      [
        "# apiserver d2",
        "# ca d1",
        "prev /etc/kubernetes/pki/apiserver.crt apiserver d2",
        "prev /etc/kubernetes/pki/ca.crt ca d1 kube-controller-manager kubelet",
        "",
      ].join("\n"),
    );
  });

  it("the approver's restart is gated on its /healthz (127.0.0.1:10271) on each control-plane node of a workers: bootstrap cluster", () => {
    const raw = clusterConfig("t", 2, 1, { workers: "bootstrap", caKeys: "control-plane", delivery: { mode: "ssh" } });
    const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc0d2kaJ1rjbG5dNl5I6vvKyGFDDp0Q4z0FOh1lPdQ7";
    raw.nodes = raw.nodes.map((n: any) => ({ ...n, ssh: { hostKey } }));
    const plan = deliveryPlan(buildCatalog(validateClusters([raw])[0]!));
    const gated = plan.restarts.filter((r) => r.healthz?.length).map((r) => [r.resourceName, r.healthz]);
    assert.deepEqual(gated, [
      ["t-cp-1-restart-kube-pki-csr-approver", [{ host: "127.0.0.1", port: 10271 }]],
      ["t-cp-2-restart-kube-pki-csr-approver", [{ host: "127.0.0.1", port: 10271 }]],
    ]);
    assert.match(
      restartInput([], { x: "d" }, [], [{ host: "127.0.0.1", port: 10271, node: "cp-1" }]),
      /^healthz 127\.0\.0\.1 10271 cp-1$/m,
    );
  });

  it("a control-plane node's CA bundle is shared by its kube-apiserver, controller-manager and kubelet restarts; a worker's by none", () => {
    const raw = clusterConfig("t", 1, 1, { delivery: { mode: "ssh" } });
    const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc0d2kaJ1rjbG5dNl5I6vvKyGFDDp0Q4z0FOh1lPdQ7";
    raw.nodes = raw.nodes.map((n: any) => ({ ...n, ssh: { hostKey } }));
    const plan = deliveryPlan(buildCatalog(validateClusters([raw])[0]!));
    const caReaders = (restart: string) =>
      plan.restarts.find((r) => r.resourceName === restart)!.reads.find((r) => r.bundle === "ca")!.sharedWith;
    assert.deepEqual(caReaders("t-cp-1-restart-kube-apiserver"), ["kube-controller-manager", "kubelet"]);
    assert.deepEqual(caReaders("t-cp-1-restart-kubelet"), ["kube-apiserver", "kube-controller-manager"]);
    assert.deepEqual(caReaders("t-w-1-restart-kubelet"), []);
  });
});
