// npm run adopt without the engine (test/engine/adopt.test.ts runs it with the real CLI and kubeadm's PKI): what it
// says when the pulumi CLI is missing, and what it reports once it adopted (the files it read, never their content).
// A `pulumi` shim on PATH stands for the CLI: it swallows the key on stdin and succeeds.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { makeTempDir } from "./e2e/proc";
import { opensslSelfSigned } from "./support";

const ROOT = join(__dirname, "..");

describe("npm run adopt (no engine)", () => {
  let pki: string;
  let stackFile: string;

  before(() => {
    // A kubeadm-like pki/: three CAs (openssl req -x509 makes CA:TRUE certificates) and the service-account pair.
    pki = join(makeTempDir("adopt-pki"), "pki");
    mkdirSync(join(pki, "etcd"), { recursive: true });
    for (const [name, cn] of [
      ["ca", "kubernetes"],
      ["front-proxy-ca", "front-proxy-ca"],
      ["etcd/ca", "etcd-ca"],
    ]) {
      const { cert, key } = opensslSelfSigned(cn!, { days: 30 });
      writeFileSync(join(pki, `${name}.key`), key, { mode: 0o600 });
      writeFileSync(join(pki, `${name}.crt`), cert);
    }
    execFileSync("openssl", ["genrsa", "-out", join(pki, "sa.key"), "2048"], { stdio: "pipe" });
    execFileSync("openssl", ["rsa", "-in", join(pki, "sa.key"), "-pubout", "-out", join(pki, "sa.pub")], { stdio: "pipe" });
  });
  beforeEach(() => {
    stackFile = join(makeTempDir("adopt-stack"), "Pulumi.dev.yaml");
    copyFileSync(join(ROOT, "stacks", "Pulumi.dev.yaml"), stackFile);
  });

  function adopt(path: string) {
    const r = spawnSync(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        join(ROOT, "scripts", "adopt.ts"),
        "--stack",
        "dev",
        "--config",
        stackFile,
        "--cluster",
        "dev",
        "--dir",
        pki,
      ],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH: path } },
    );
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it("without the pulumi CLI on PATH: says it needs it and how to get it, and writes nothing", () => {
    const before = readFileSync(stackFile, "utf8");
    const r = adopt("/usr/bin:/bin");
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /needs the pulumi CLI.*npm run toolchain.*installer/);
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
    assert.equal(readFileSync(stackFile, "utf8"), before);
  });

  it("reports each root it adopted with the file it read, never the PEM", () => {
    const shim = makeTempDir("adopt-shim");
    writeFileSync(join(shim, "pulumi"), "#!/bin/sh\ncat >/dev/null\n", { mode: 0o755 });
    const r = adopt(`${shim}:/usr/bin:/bin`);
    assert.equal(r.code, 0, r.stderr);
    for (const [root, file] of [
      ["ca", "ca.crt"],
      ["front-proxy-ca", "front-proxy-ca.crt"],
      ["etcd-ca", "etcd/ca.crt"],
      ["sa", "sa.pub"],
    ]) {
      assert.ok(
        r.stdout.includes(`adopted ${root} from ${join(pki, file!)}; its key is the secret kube-pki:adopted-dev-${root}-key\n`),
        `${root}:\n${r.stdout}`,
      );
    }
    assert.ok(!/-----BEGIN/.test(r.stdout + r.stderr), "no PEM in the output");
  });

  it("a kubeadm cluster whose kubelets rotate their own client certificates gets workers: bootstrap and caKeys: control-plane", () => {
    const shim = makeTempDir("adopt-shim");
    writeFileSync(join(shim, "pulumi"), "#!/bin/sh\ncat >/dev/null\n", { mode: 0o755 });
    const kubelet = join(pki, "..", "kubelet.conf");
    writeFileSync(
      kubelet,
      "users:\n- name: default-auth\n  user:\n    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n",
    );
    try {
      const r = adopt(`${shim}:/usr/bin:/bin`);
      assert.equal(r.code, 0, r.stderr);
      const [dev] = (parse(readFileSync(stackFile, "utf8")) as any).config["kube-pki:clusters"];
      assert.deepEqual([dev.workers, dev.caKeys], ["bootstrap", "control-plane"]);
    } finally {
      rmSync(kubelet);
    }
  });
});
