// SSH delivery under the real engine: `pulumi up` pushes to five loopback sshd nodes (test/support-sshd.ts) through
// the command plugin, authenticated by a real ssh-agent (sshAuth: agent, as the shipped SSH stacks and the workflow
// run it), with emulated readers restarted and health-checked. A SAN change previews as exactly the apiserver chain,
// pushes and kube-apiserver restarts, and runs two sessions per control-plane node; an unchanged up opens no session
// at all (sshd's own logs); a connection cut during a push fails only that update, and the next up completes it. The
// host-key types: the provider's SSH client offers only the pinned key's own algorithm, so an ssh-rsa key is refused
// in config (OpenSSH ≥ 8.8 no longer accepts SHA-1 RSA host keys), and every other type works.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { validateClusters } from "../../components";
import { makeTempDir } from "../e2e/proc";
import { SshCluster } from "../support-sshd";
import { changedSteps, describeRun, Workspace } from "./workspace";

const API_PORT = 16443;

/** A real ssh-agent holding `key`: SSH_AUTH_SOCK for the CLI (and so for the command plugin it starts). */
function startAgent(key: string): { sock: string; pid: number; stop(): void } {
  const dir = makeTempDir("agent");
  const sock = join(dir, "agent.sock");
  const out = execFileSync("ssh-agent", ["-a", sock, "-s"], { encoding: "utf8" });
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)![1]);
  const add = spawnSync("ssh-add", ["-"], { input: key, env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: "utf8" });
  if (add.status !== 0) throw new Error(`ssh-add failed: ${add.stderr}`);
  return {
    sock,
    pid,
    stop: () => {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        /* gone */
      }
    },
  };
}

/** Every process whose command line contains all of `parts` (the plugin's ssh clients are not our children). */
function pidsWith(...parts: string[]): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
        return parts.every((x) => cmd.includes(x));
      } catch {
        return false;
      }
    });
}

describe("engine: SSH delivery to loopback sshd nodes (real engine, command plugin, ssh-agent)", function () {
  this.timeout(900_000);
  let nodes: SshCluster;
  let agent: ReturnType<typeof startAgent>;
  let ws: Workspace;
  const sans = ["k8s.example.com"];
  const config = () => [
    {
      name: "s",
      serviceSubnet: "10.96.0.0/12",
      apiServer: { certSANs: [...sans], bindPort: API_PORT },
      delivery: { mode: "ssh", sshAuth: "agent", restart: nodes.restartCommands(), healthCheckTimeoutSeconds: 20 },
      nodes: nodes.nodes.map((n) => ({ name: n.name, role: n.role, address: n.address, ssh: nodes.sshTarget(n.name) })),
    },
  ];
  const up = async () => {
    const before = nodes.sessions();
    const r = await ws.up("t", []);
    const after = nodes.sessions();
    return { r, sessions: Object.fromEntries(Object.entries(after).map(([n, c]) => [n, c - (before[n] ?? 0)])) };
  };
  const servedFingerprint = (address: string) => {
    const out = spawnSync(
      "sh",
      ["-c", `openssl s_client -connect ${address}:${API_PORT} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`],
      { encoding: "utf8" },
    );
    return out.stdout.trim().replace(/^.*=/, "");
  };

  before(async () => {
    nodes = await SshCluster.start({ label: "engine", apiServerPort: API_PORT });
    agent = startAgent(nodes.clientKey);
    ws = await Workspace.create("ssh", { t: config() });
    (ws.env as Record<string, string>).SSH_AUTH_SOCK = agent.sock;
    await ws.init("t");
  });
  after(async () => {
    agent?.stop();
    await nodes?.stop();
  });

  it("first up: every node gets its files over SSH, the restarted readers serve them", async () => {
    const { r, sessions } = await up();
    assert.equal(r.code, 0, describeRun(r));
    console.log(`      first up: sessions per node ${JSON.stringify(sessions)}`);
    for (const n of nodes.nodes) assert.ok((sessions[n.name] ?? 0) > 0, `${n.name} was reached`);
    for (const n of nodes.nodes.filter((x) => x.role === "control-plane")) {
      const crt = readFileSync(join(n.root, "etc/kubernetes/pki/apiserver.crt"), "utf8");
      assert.equal(servedFingerprint(n.address), new X509Certificate(crt).fingerprint256, `${n.name} serves its apiserver.crt`);
    }
    assert.ok(!readdirSync(join(nodes.node("w-1").root, "etc/kubernetes/pki")).some((f) => /\.key$/.test(f)), "no key in a worker's pki/");
  });

  it("an unchanged up opens no SSH session (sshd's logs)", async () => {
    const { r, sessions } = await up();
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(
      Object.values(sessions).filter((c) => c > 0),
      [],
      JSON.stringify(sessions),
    );
  });

  it("a SAN change: the preview lists the apiserver chain, pushes and restarts only; up uses two sessions per control-plane node", async () => {
    sans.push("san-change.example.com");
    ws.writeStack("t", config());
    const preview = await ws.preview("t");
    assert.equal(preview.exitCode, 0);
    const cps = ["cp-1", "cp-2", "cp-3"];
    assert.deepEqual(
      changedSteps(preview),
      [
        ...cps.map((n) => `replace tls:index/certRequest:CertRequest::s-apiserver-${n}-csr`),
        ...cps.map((n) => `replace tls:index/locallySignedCert:LocallySignedCert::s-apiserver-${n}-cert`),
        ...cps.map((n) => `update command:remote:Command::s-${n}-push-apiserver`),
        ...cps.map((n) => `update command:remote:Command::s-${n}-restart-kube-apiserver`),
      ].sort(),
    );
    const before = nodes.restartLog().length;
    const { r, sessions } = await up();
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(sessions, { "cp-1": 2, "cp-2": 2, "cp-3": 2, "w-1": 0, "w-2": 0 });
    const restarts = nodes.restartLog().slice(before);
    assert.deepEqual(
      restarts.map((e) => `${e.node} ${e.event} ${e.reader}`),
      cps.flatMap((n) => [`${n} start kube-apiserver`, `${n} end kube-apiserver`]),
      "kube-apiserver restarted one control-plane node at a time, nothing else",
    );
    for (const n of cps) {
      const crt = readFileSync(join(nodes.node(n).root, "etc/kubernetes/pki/apiserver.crt"), "utf8");
      assert.match(new X509Certificate(crt).subjectAltName!, /DNS:san-change\.example\.com/);
      assert.equal(servedFingerprint(nodes.node(n).address), new X509Certificate(crt).fingerprint256);
    }
  });

  it("a connection cut during one push fails that update; the next up completes it", async () => {
    sans.push("cut.example.com");
    ws.writeStack("t", config());
    const target = nodes.node("cp-2");
    // Kill the ssh client of cp-2's apiserver push as soon as it runs (the plugin's child, found by its command line).
    let killed = 0;
    const watcher = setInterval(() => {
      for (const pid of pidsWith("ssh ", "kube-pki-install", `root@${target.address}`)) {
        try {
          process.kill(pid, "SIGKILL");
          killed++;
        } catch {
          /* finished */
        }
      }
    }, 5);
    const failed = await ws.up("t", [], { checkpoints: true });
    clearInterval(watcher);
    assert.ok(killed > 0, "a connection was cut");
    assert.notEqual(failed.code, 0);
    assert.match(failed.stdout + failed.stderr, /s-cp-2-push-apiserver/);
    const crt = readFileSync(join(target.root, "etc/kubernetes/pki/apiserver.crt"), "utf8");
    assert.ok(!/cut\.example\.com/.test(new X509Certificate(crt).subjectAltName!), "cp-2 keeps its previous certificate");
    const retry = await up();
    assert.equal(retry.r.code, 0, describeRun(retry.r));
    const fixed = readFileSync(join(target.root, "etc/kubernetes/pki/apiserver.crt"), "utf8");
    assert.match(new X509Certificate(fixed).subjectAltName!, /DNS:cut\.example\.com/);
    assert.equal(servedFingerprint(target.address), new X509Certificate(fixed).fingerprint256);
    assert.deepEqual(changedSteps(await ws.preview("t")), []);
  });
});

describe("SSH host keys: what the provider's client can pin", function () {
  this.timeout(120_000);

  it("an ssh-rsa host key is refused in config with a clear message; ed25519 and ECDSA keys are accepted", () => {
    const cluster = (hostKey: string) => [
      {
        name: "k",
        serviceSubnet: "10.96.0.0/12",
        delivery: { mode: "ssh" },
        nodes: [{ name: "cp-1", role: "control-plane", address: "10.0.0.1", ssh: { hostKey } }],
      },
    ];
    const dir = makeTempDir("hostkeys");
    for (const type of ["ed25519", "ecdsa", "rsa"]) {
      execFileSync("ssh-keygen", ["-q", "-t", type, ...(type === "ecdsa" ? ["-b", "384"] : []), "-N", "", "-f", join(dir, type)]);
      const key = readFileSync(join(dir, `${type}.pub`), "utf8").trim();
      if (type === "rsa") {
        assert.throws(
          () => validateClusters(cluster(key)),
          /clusters\[0\]\.nodes\[0\]\.ssh\.hostKey: an ssh-rsa host key cannot be pinned/,
        );
      } else {
        assert.doesNotThrow(() => validateClusters(cluster(key)), type);
      }
    }
  });

  it("the reason, for real: a client offering only the pinned key's algorithm cannot connect to an sshd with an RSA host key", async () => {
    // OpenSSH ≥ 8.8 (Debian's sshd here) signs with rsa-sha2-256/512 only; x/crypto/ssh's FixedHostKey for an
    // ssh-rsa key offers just "ssh-rsa" (SHA-1). The same negotiation with the OpenSSH client:
    const version = spawnSync("ssh", ["-V"], { encoding: "utf8" }).stderr.trim();
    const nodes = await SshCluster.start({
      label: "rsa",
      nodes: [{ name: "r-1", role: "control-plane", address: "127.0.0.41" }],
      hostKeyType: "rsa",
    });
    try {
      const n = nodes.node("r-1");
      const dir = makeTempDir("rsa-client");
      const keyFile = join(dir, "id");
      require("node:fs").writeFileSync(keyFile, nodes.clientKey, { mode: 0o600 });
      require("node:fs").writeFileSync(join(dir, "known_hosts"), `[${n.address}]:${n.port} ${n.hostKey}\n`);
      const attempt = (algorithms: string) =>
        spawnSync(
          "ssh",
          [
            "-p",
            String(n.port),
            "-i",
            keyFile,
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            `UserKnownHostsFile=${join(dir, "known_hosts")}`,
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            `HostKeyAlgorithms=${algorithms}`,
            `root@${n.address}`,
            "true",
          ],
          { encoding: "utf8", timeout: 20_000 },
        );
      const sha1 = attempt("ssh-rsa");
      assert.notEqual(sha1.status, 0, `${version}: ssh-rsa only must fail`);
      assert.match(sha1.stderr, /no matching host key type found/);
      assert.equal(attempt("rsa-sha2-256,rsa-sha2-512").status, 0, "the same key with SHA-2 signatures works");
    } finally {
      await nodes.stop();
    }
  });
});
