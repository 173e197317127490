// Fleet status (`npm run status`, offline/status.ts): the classification of files and endpoints as tables, the reading
// of a stack export, the Prometheus output; then a fleet of three loopback sshd nodes (test/support-sshd.ts) deployed
// by the real program under the mock runtime with the command stand-in, whose emulated readers serve the delivered
// certificates with `openssl s_server`: a file changed by hand, a file removed, a restart that did not happen and a
// node whose sshd stopped are each reported as what they are, read in one SSH session per node and never written.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { defineStack, planClusters, StackProgram } from "../components";
import { CommandStandIn } from "../emulator/commandStandIn";
import { evaluate, Evaluation } from "../emulator/evaluate";
import {
  classifyEndpoint,
  classifyFile,
  EndpointState,
  FileState,
  NodeReport,
  parseProbe,
  probeCommand,
  renderStatusPrometheus,
  resourcesFromExport,
  statusExitCode,
  targetsFromState,
} from "../offline/status";
import { rowsOfPem } from "../offline/expiry";
import { probeFleet, stateOfEvaluation } from "../offline/statusProbe";
import { opensslSelfSigned, runWithLateStdin } from "./support";
import { nodeShell, SHELLS } from "./support-shells";
import { readTree } from "./support-tree";
import { FakeReaderMode, SshCluster, waitForInstallsToFinish } from "./support-sshd";

const SUM = "a".repeat(64);
const OTHER = "b".repeat(64);

describe("fleet status: a file's state", () => {
  const table: [string, string | undefined, boolean, FileState][] = [
    ["the delivered digest, every reader restarted on it", SUM, false, "in-sync"],
    ["the delivered digest, a reader not restarted since", SUM, true, "not-served"],
    ["another digest", OTHER, false, "changed"],
    ["another digest, a reader not restarted either", OTHER, true, "changed"],
    ["not a regular file (a symlink, a directory)", "other", false, "changed"],
    ["absent", "-", false, "missing"],
    ["absent, a reader not restarted either", "-", true, "missing"],
    ["unreadable by the status's user", "unreadable", false, "unreachable"],
    ["the node did not answer", undefined, false, "unreachable"],
  ];
  for (const [what, found, pending, want] of table) it(`${what}: ${want}`, () => assert.equal(classifyFile(SUM, found, pending), want));
});

describe("fleet status: an endpoint's state", () => {
  const [STACK, OLD, HAND] = ["AA:01", "AA:02", "AA:03"];
  const table: [string, string | undefined, string | undefined, EndpointState][] = [
    ["serves the stack's certificate", STACK, STACK, "in-sync"],
    ["serves the stack's certificate, the file on disk changed since", HAND, STACK, "in-sync"],
    ["the stack's certificate on disk, an older one served (no restart)", STACK, OLD, "not-served"],
    ["serves the certificate of a file changed by hand", HAND, HAND, "changed"],
    ["serves neither the stack's nor the disk's", HAND, OLD, "changed"],
    ["the file is missing and something else is served", undefined, OLD, "changed"],
    ["nothing answers", STACK, "", "unreachable"],
  ];
  for (const [what, disk, served, want] of table) it(`${what}: ${want}`, () => assert.equal(classifyEndpoint(STACK, disk, served), want));
});

describe("fleet status: inputs and outputs", () => {
  it("an answer without its end marker (a session cut) is refused", () => {
    assert.throws(() => parseProbe(`file /etc/kubernetes/admin.conf ${SUM}\n`), /ended early/);
  });

  it("a stack export with encrypted secrets is refused, saying to export with --show-secrets", () => {
    const exported = {
      deployment: {
        resources: [
          {
            urn: "u",
            type: "t",
            outputs: { stdin: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "x" } },
          },
        ],
      },
    };
    assert.throws(() => resourcesFromExport(exported), /--show-secrets/);
  });

  // The envelope's key and value are Pulumi's (sdk/go/common/resource/sig, v3.248.0: Key, Secret), as a real
  // `pulumi stack export --show-secrets` writes them; a wrong key left every secret output unread on the real control
  // plane (no files, no connection host).
  it("a stack export's plaintext secrets are read as their values", () => {
    const exported = {
      deployment: {
        resources: [
          {
            urn: "u",
            type: "t",
            outputs: { stdin: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: '"file x"' } },
          },
        ],
      },
    };
    assert.equal(resourcesFromExport(exported)[0]!.outputs.stdin, "file x");
  });

  it("the Prometheus output names cert-manager's metrics with kube_pki_ and has one series per drift state", () => {
    const pem = opensslSelfSigned("front-proxy-client").cert;
    const path = "/etc/kubernetes/pki/front-proxy-client.crt";
    const report: NodeReport = {
      cluster: "c",
      node: "n",
      files: [{ path, state: "missing" }],
      endpoints: [],
      expiry: rowsOfPem("c/n/front-proxy-client", pem, "stack"),
    };
    const text = renderStatusPrometheus([report], new Date());
    const at = 'cluster="c",node="n"';
    assert.match(
      text,
      new RegExp(
        `^kube_pki_certificate_expiration_timestamp_seconds\\{${at},name="front-proxy-client",issuer_name="front-proxy-client"\\} \\d+$`,
        "m",
      ),
    );
    assert.match(text, new RegExp(`^kube_pki_certificate_ready_status\\{${at},name="front-proxy-client",condition="False"\\} 1$`, "m"));
    assert.match(text, new RegExp(`^kube_pki_file_state\\{${at},path="${path}",state="missing"\\} 1$`, "m"));
    assert.match(text, new RegExp(`^kube_pki_file_state\\{${at},path="${path}",state="in-sync"\\} 0$`, "m"));
  });

  it("the command line reads the state from a non-blocking pipe that is still empty when it starts reading (--state -)", async () => {
    const { idle, code, stderr } = await runWithLateStdin("status", ["--state", "-"], '{"deployment":{"resources":[]}}');
    assert.deepEqual(
      [idle, code, stderr.trim()],
      [true, 2, "kube-pki status: the stack delivers to no node (delivery.mode none, or nothing deployed yet)"],
    );
  });

  it("the exit code adds 4 for drift and 8 for an unreachable node, so a script tells them apart", () => {
    const report = (state: FileState): NodeReport => ({
      cluster: "c",
      node: "n",
      files: [{ path: "/p", state }],
      endpoints: [],
      expiry: [],
    });
    assert.deepEqual(
      (["in-sync", "changed", "missing", "not-served", "unreachable"] as const).map((s) => statusExitCode([report(s)], new Date(), 30)),
      [0, 4, 4, 4, 8],
    );
  });
});

for (const shell of SHELLS) {
  describe(`fleet status: the node's probe under ${shell}`, () => {
    it("hashes files, says which are absent or not regular, returns certificates and a kubeconfig's client certificate only, and the restart digests", () => {
      const sh = nodeShell(shell);
      const root = mkdtempSync(join(tmpdir(), "kube-pki-status-probe-"));
      try {
        const pem = opensslSelfSigned("x").cert;
        const b64 = Buffer.from(pem).toString("base64");
        mkdirSync(join(root, "etc/kubernetes/pki"), { recursive: true });
        mkdirSync(join(root, "var/lib/kube-pki"), { recursive: true });
        writeFileSync(join(root, "etc/kubernetes/pki/ca.crt"), pem);
        writeFileSync(
          join(root, "etc/kubernetes/admin.conf"),
          `users:\n- user:\n    client-certificate-data: ${b64}\n    client-key-data: S0VZ\n`,
        );
        symlinkSync("/etc/passwd", join(root, "etc/kubernetes/pki/sa.pub"));
        writeFileSync(join(root, "var/lib/kube-pki/restart-kubelet.digests"), `# ca ${SUM}\n`);
        const r = sh.run(
          probeCommand(root),
          "file /etc/kubernetes/pki/ca.crt\nfile /etc/kubernetes/admin.conf\nfile /etc/kubernetes/pki/sa.pub\nfile /etc/kubernetes/pki/ca.key\nrestart kubelet\n",
        );
        assert.ok(r.ok, r.out);
        assert.ok(!r.out.includes("S0VZ"), "no client-key-data");
        const got = parseProbe(r.out);
        const sha = (t: string) => createHash("sha256").update(t).digest("hex");
        assert.deepEqual(
          [[...got.files], [...got.certificates], [...got.restarted]],
          [
            [
              ["/etc/kubernetes/pki/ca.crt", sha(pem)],
              ["/etc/kubernetes/admin.conf", sha(readFileSync(join(root, "etc/kubernetes/admin.conf"), "utf8"))],
              ["/etc/kubernetes/pki/sa.pub", "other"],
              ["/etc/kubernetes/pki/ca.key", "-"],
            ],
            [
              ["/etc/kubernetes/pki/ca.crt", pem],
              ["/etc/kubernetes/admin.conf", pem],
            ],
            [["kubelet ca", SUM]],
          ],
        );
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
}

describe("fleet status of a local delivery tree", function () {
  this.timeout(120_000);
  let dir = "";
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it("reads the tree in place (no SSH): in sync after the delivery, a file edited there changed", async () => {
    dir = mkdtempSync(join(tmpdir(), "kube-pki-status-local-"));
    const raw = [
      {
        name: "l",
        serviceSubnet: "10.96.0.0/12",
        delivery: { mode: "local", localDirectory: "out" },
        nodes: [{ name: "cp-1", role: "control-plane", address: "10.0.0.11" }],
      },
    ];
    const commands = new CommandStandIn({ cwd: dir });
    const ev = await evaluate(() => defineStack(planClusters(raw), { stack: "l" }), { extra: commands }).finally(() => commands.dispose());
    assert.deepEqual(ev.failures, []);
    const status = async () => (await probeFleet(targetsFromState(stateOfEvaluation(ev)), { cwd: dir }))[0]!;
    const before = await status();
    appendFileSync(join(dir, "out/l/cp-1/etc/kubernetes/admin.conf"), "# edited\n");
    const after = await status();
    assert.deepEqual(
      [[...new Set(before.files.map((f) => f.state))], after.files.filter((f) => f.state !== "in-sync")],
      [["in-sync"], [{ path: "/etc/kubernetes/admin.conf", state: "changed" }]],
    );
  });
});

describe("fleet status over SSH (three loopback sshd nodes)", function () {
  this.timeout(180_000);
  const API_PORT = 16443;
  let nodes: SshCluster;
  let state: Evaluation<StackProgram>;

  const config = (sans: string[], apiserver: FakeReaderMode) => [
    {
      name: "s",
      serviceSubnet: "10.96.0.0/12",
      apiServer: { certSANs: ["k8s.example.com", ...sans], bindPort: API_PORT },
      delivery: {
        mode: "ssh",
        restart: { ...nodes.restartCommands(), "kube-apiserver": nodes.restartCommand("kube-apiserver", apiserver) },
        healthCheckTimeoutSeconds: 3,
      },
      nodes: nodes.nodes.map((n) => ({ name: n.name, role: n.role, address: n.address, ssh: nodes.sshTarget(n.name) })),
    },
  ];

  async function apply(raw: unknown[]): Promise<Evaluation<StackProgram>> {
    const commands = new CommandStandIn({ timeoutMs: 60_000 });
    try {
      const ev = await evaluate(
        () =>
          defineStack(planClusters(raw), {
            stack: "s",
            secret: (k) => (k === "sshPrivateKey" ? pulumi.secret(nodes.clientKey) : undefined),
          }),
        { extra: commands, prior: state },
      );
      state = ev;
      await waitForInstallsToFinish(nodes.dir);
      return ev;
    } finally {
      commands.dispose();
    }
  }

  const status = () => probeFleet(targetsFromState(stateOfEvaluation(state)), { timeoutMs: 30_000 });
  const reportOf = (reports: NodeReport[], node: string) => reports.find((r) => r.node === node)!;
  const fileState = (reports: NodeReport[], node: string, path: string) =>
    reportOf(reports, node).files.find((f) => f.path === path)?.state;
  const endpointState = (reports: NodeReport[], node: string, port: number) =>
    reportOf(reports, node).endpoints.find((e) => e.endpoint.endsWith(`:${port}`))?.state;
  const rootOf = (node: string) => nodes.node(node).root;

  before(async function () {
    this.timeout(150_000);
    // 127.0.3.x: beside the SSH delivery tests (127.0.0.x) and benchmark (127.0.1.x).
    nodes = await SshCluster.start({
      label: "status",
      apiServerPort: API_PORT,
      nodes: [
        { name: "cp-1", role: "control-plane", address: "127.0.3.11" },
        { name: "cp-2", role: "control-plane", address: "127.0.3.12" },
        { name: "w-1", role: "worker", address: "127.0.3.21" },
      ],
    });
    assert.deepEqual((await apply(config([], "restart"))).failures, [], "the fleet deploys");
  });

  after(async () => {
    await nodes?.stop();
  });

  it("a deployed fleet is in sync, every file and endpoint, exit 0, in one SSH session per node", async () => {
    const before = nodes.sessions();
    const reports = await status();
    const after = nodes.sessions();
    const notInSync = reports.flatMap((r) =>
      [...r.files, ...r.endpoints].filter((x) => x.state !== "in-sync").map((x) => `${r.node} ${JSON.stringify(x)}`),
    );
    assert.deepEqual(notInSync, []);
    assert.deepEqual(
      reports.map((r) => `${r.node}: ${r.endpoints.map((e) => `${e.reader} ${e.endpoint}`).join(", ")}`),
      [
        `cp-1: etcd 127.0.3.11:2379, etcd 127.0.3.11:2380, kube-apiserver 127.0.3.11:${API_PORT}, kubelet 127.0.3.11:10250`,
        `cp-2: etcd 127.0.3.12:2379, etcd 127.0.3.12:2380, kube-apiserver 127.0.3.12:${API_PORT}, kubelet 127.0.3.12:10250`,
        "w-1: kubelet 127.0.3.21:10250",
      ],
    );
    assert.equal(statusExitCode(reports, new Date(), 30), 0);
    assert.deepEqual(Object.fromEntries(Object.keys(after).map((n) => [n, after[n]! - before[n]!])), { "cp-1": 1, "cp-2": 1, "w-1": 1 });
  });

  it("a file changed by hand is reported changed, and nothing else on its node", async () => {
    appendFileSync(join(rootOf("cp-2"), "etc/kubernetes/scheduler.conf"), "# edited by hand\n");
    const reports = await status();
    assert.equal(fileState(reports, "cp-2", "/etc/kubernetes/scheduler.conf"), "changed");
    assert.deepEqual(
      reportOf(reports, "cp-2")
        .files.filter((f) => f.state !== "in-sync" && f.path !== "/etc/kubernetes/pki/front-proxy-client.crt")
        .map((f) => f.path),
      ["/etc/kubernetes/scheduler.conf"],
    );
  });

  it("a removed file is reported missing", async () => {
    rmSync(join(rootOf("cp-2"), "etc/kubernetes/pki/front-proxy-client.crt"));
    assert.equal(fileState(await status(), "cp-2", "/etc/kubernetes/pki/front-proxy-client.crt"), "missing");
  });

  it("a pushed certificate whose restart did not happen is reported not served, on disk and at its endpoint", async () => {
    // A SAN change whose kube-apiserver restart on cp-1 runs but restarts nothing: the push installed the new
    // certificate, the health check failed, the old one is still served.
    const ev = await apply(config(["status.example.com"], "stale-on-cp-1"));
    assert.ok(
      ev.failures.some((f) => f.name === "s-cp-1-restart-kube-apiserver"),
      "the health check on cp-1 failed",
    );
    const reports = await status();
    assert.deepEqual(
      [fileState(reports, "cp-1", "/etc/kubernetes/pki/apiserver.crt"), endpointState(reports, "cp-1", API_PORT)],
      ["not-served", "not-served"],
    );
  });

  it("a node whose sshd stopped is reported unreachable, every file of it, with exit bit 8", async () => {
    await nodes.stopNode("w-1");
    const reports = await status();
    const w1 = reportOf(reports, "w-1");
    assert.match(w1.error ?? "", /ssh 127\.0\.3\.21:2222/);
    assert.deepEqual([...new Set([...w1.files, ...w1.endpoints].map((x) => x.state))], ["unreachable"]);
    assert.equal(statusExitCode(reports, new Date(), 30) & 8, 8);
  });

  it("the status writes nothing on a node: every file, mode and digest under its root is as before", async () => {
    // The emulated readers' logs and pids are the emulation's own, not the node's.
    const tree = () => readTree(rootOf("cp-1"), { skip: /^\/emu\// });
    const before = tree();
    await status();
    assert.deepEqual(tree(), before);
  });
});
