// A real Kubernetes control plane runs on kube-pki's PKI (test/cluster/controlPlane.ts): three control-plane nodes
// and a worker, their files delivered by a real `pulumi up` over SSH (sshAuth: agent), kube-apiserver, etcd,
// controller-manager and scheduler v1.36.3 behind haproxy. Shown: every kubeconfig authenticates as its identity
// through the load balancer; kubeadm's authorization (Node authorizer, NodeRestriction, the kubeadm:cluster-admins
// binding made with super-admin.conf); the front proxy; API server → kubelet with the kubelet serving certificate;
// service-account tokens across API servers; a worker kubeadm joined (a real kubelet) and the config does not list,
// untouched by the adoption; kubeadm takes every node's tree as it is and reads its expiry as
// `npm run expiry` does; publication into kubeadm-config and Cluster API secrets for real; workers: bootstrap's RBAC and
// cluster-info against what the real `kubeadm init phase bootstrap-token` makes, taken over and kept, a bootstrap
// token's rights, and the controller-manager signing its CSR with controlPlaneFlags; and the everyday operation,
// an apiserver SAN added and a fourth control-plane node joined, with clients looping through the load balancer and
// not one failed request.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { pemBlocks } from "../../components/model/trust";
import { join, relative } from "node:path";
import { parse, stringify } from "yaml";
import { rowsFromDirectory } from "../../offline/expiry";
import { makeTempDir, run, RunResult, startDaemon, stopDaemon, waitForPort } from "../e2e/proc";
import { changedSteps, describeRun, REPO, Workspace } from "../engine/workspace";
import { httpsRequest, ProbeStats, startClients } from "./clients";
import { SshCluster } from "../support-sshd";
import { opensslSelfSigned } from "../support";
import { API_PORT, ControlPlane, ENDPOINT, LabNetwork, LabNode, restartCommand } from "./controlPlane";
import { planClusters } from "../../components/model/plan";
import { BOOTSTRAP_RBAC, CLUSTER_INFO, clusterInfoKubeconfig } from "../../components/model/bootstrapRbac";
import { controllerManagerFlags, controlPlaneFlags, Flag } from "../../components/model/controlPlaneFlags";
import { bootstrapKubeconfig, holdKernelTunables, RealKubelet, waitFor } from "./kubelets";

const NODES = [
  { name: "cp-1", role: "control-plane", address: "10.88.0.11" },
  { name: "cp-2", role: "control-plane", address: "10.88.0.12" },
  { name: "cp-3", role: "control-plane", address: "10.88.0.13" },
  { name: "cp-4", role: "control-plane", address: "10.88.0.14" },
  { name: "w-1", role: "worker", address: "10.88.0.21" },
] as const;
/** A worker kubeadm joined and the config does not list: a real kubelet (test/cluster/kubelets.ts), no sshd. */
const UNLISTED = { name: "k-1", address: "10.88.0.31" } as const;
const SERVICE_SUBNET = "10.96.0.0/12";
/** What every kubeadm control-plane node shares: the CAs and the service-account key pair. */
const SHARED_BY_KUBEADM = [
  "ca.crt",
  "ca.key",
  "front-proxy-ca.crt",
  "front-proxy-ca.key",
  "etcd/ca.crt",
  "etcd/ca.key",
  "sa.key",
  "sa.pub",
];
const CPE = `https://${ENDPOINT}:${API_PORT}`;

/** A real ssh-agent holding the nodes' client key, as the workflow runs `up` (sshAuth: agent). */
function startAgent(key: string): { sock: string; stop(): void } {
  const sock = join(makeTempDir("agent"), "agent.sock");
  const out = execFileSync("ssh-agent", ["-a", sock, "-s"], { encoding: "utf8" });
  const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)![1]);
  execFileSync("ssh-add", ["-"], { input: key, env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: ["pipe", "ignore", "ignore"] });
  return {
    sock,
    stop: () => {
      try {
        process.kill(pid);
      } catch {
        /* gone */
      }
    },
  };
}

const kubectl = (kubeconfig: string, args: string[], timeoutMs = 20_000) =>
  run("kubectl", ["--kubeconfig", kubeconfig, ...args], { timeoutMs });
const ok = (r: RunResult) => {
  assert.equal(r.code, 0, `${r.command}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
const sha = (f: string) => createHash("sha256").update(readFileSync(f)).digest("hex");
function treeHashes(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) =>
    readdirSync(d).forEach((e) => {
      const f = join(d, e);
      if (statSync(f).isDirectory()) walk(f);
      else out[relative(root, f)] = sha(f);
    });
  walk(root);
  return out;
}

const describeCounts = (s: ProbeStats) =>
  Object.entries(s.counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(" + ") +
  ` (slowest: ${Object.entries(s.slowest)
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(", ")})`;

/** A client loop through the load balancer: /readyz and `kubectl get namespaces` as admin, every 100 ms. */
function clientLoop(adminConf: string, caFile: string) {
  let running = true;
  const stats = { readyz: 0, kubectl: 0, failures: [] as string[] };
  const ca = readFileSync(caFile);
  const readyz = (async () => {
    while (running) {
      await new Promise<void>((resolve) => {
        const req = https.get({ host: ENDPOINT, port: API_PORT, path: "/readyz", ca, agent: false, timeout: 5_000 }, (res) => {
          res.resume();
          res.on("end", () => {
            stats.readyz++;
            if (res.statusCode !== 200) stats.failures.push(`readyz ${res.statusCode}`);
            resolve();
          });
        });
        req.on("error", (e) => {
          stats.readyz++;
          stats.failures.push(`readyz ${e.message}`);
          resolve();
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
      });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const get = (async () => {
    while (running) {
      const r = await kubectl(adminConf, ["get", "namespaces", "-o", "name"], 15_000);
      stats.kubectl++;
      if (r.code !== 0) stats.failures.push(`kubectl: ${r.stderr.trim().split("\n").pop()}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  return {
    stats,
    stop: async () => {
      running = false;
      await Promise.all([readyz, get]);
      return stats;
    },
  };
}

describe("a real control plane on kube-pki's PKI (kube-apiserver, etcd, controller-manager, scheduler, haproxy)", function () {
  this.timeout(2_400_000);
  let ssh: SshCluster;
  let agent: ReturnType<typeof startAgent>;
  let ws: Workspace;
  let cp: ControlPlane;
  let network: LabNetwork;
  const sans = ["k8s.lab.example.com"];
  let members = ["cp-1", "cp-2", "cp-3", "w-1"];
  let publication: Record<string, unknown> = {};
  let workers: "managed" | "bootstrap" = "managed";
  /** haproxy's admin socket, named before the first up (the restart commands drain nodes through it). */
  const lbSocket = join(makeTempDir("lb"), "admin.sock");
  const lab = (name: string): LabNode => cp.node(name);
  const file = (node: string, path: string) => join(lab(node).root, path);
  const adminConf = () => file("cp-1", "etc/kubernetes/admin.conf");
  let adminBeforeBinding: RunResult;
  /** cp-1's /etc/kubernetes as kubeadm made it (hashes), and the shared files' text. */
  let kubeadmTree: Record<string, string> = {};
  const kubeadmFiles: Record<string, string> = {};
  /** The `adopt` section `npm run adopt` wrote, and the declared rotation, both kept in every config written. */
  let adopted: unknown;
  let rotation: Record<string, { generation: number; phase: string }> = {};
  /** The status test's restart that does nothing (kube-apiserver's), with a short health check to fail fast. */
  let apiServerRestart: string | undefined;
  /** The status test's restart that fails (kube-scheduler's): the push is installed, the restart never passes. */
  let schedulerRestart: string | undefined;
  let healthCheckTimeoutSeconds = 180;

  const config = () => [
    {
      name: "lab",
      clusterName: "kubernetes",
      controlPlaneEndpoint: `${ENDPOINT}:${API_PORT}`,
      serviceSubnet: SERVICE_SUBNET,
      ...(adopted ? { adopt: adopted } : {}),
      rotation,
      apiServer: { certSANs: [...sans] },
      caKeys: "control-plane",
      workers,
      publication,
      delivery: {
        mode: "ssh",
        sshAuth: "agent",
        healthCheckTimeoutSeconds,
        restart: {
          "kube-apiserver": apiServerRestart ?? restartCommand("kube-apiserver", lbSocket),
          "kube-controller-manager": restartCommand("kube-controller-manager", lbSocket),
          "kube-scheduler": schedulerRestart ?? restartCommand("kube-scheduler", lbSocket),
          etcd: restartCommand("etcd", lbSocket),
          kubelet: "",
          "kube-proxy": "",
          // The lab runs no approver (test/cluster/approver.test.ts runs the real one): nothing to restart.
          "kube-pki-csr-approver": "",
        },
      },
      nodes: NODES.filter((n) => members.includes(n.name)).map((n) => ({
        name: n.name,
        role: n.role,
        address: n.address,
        ssh: ssh.sshTarget(n.name),
      })),
      users: [{ name: "alice", groups: ["developers", "oncall"] }],
    },
  ];
  /** kube-system/kubeadm-config's ClusterConfiguration, read through admin.conf. */
  const clusterConfiguration = async () =>
    ok(
      await kubectl(adminConf(), [
        "get",
        "configmap",
        "kubeadm-config",
        "-n",
        "kube-system",
        "-o",
        "jsonpath={.data.ClusterConfiguration}",
      ]),
    );
  const up = async () => {
    ws.writeStack("lab", config());
    const r = await ws.up("lab");
    assert.equal(r.code, 0, describeRun(r));
  };
  /** Per control-plane node, the restart log's events: `{ time, reader, event }` (restart, exited, ready). */
  const restartEvents = () =>
    Object.fromEntries(
      cp.controlPlane.map((n) => {
        let lines: string[] = [];
        try {
          lines = readFileSync(join(n.root, "run/restarts.log"), "utf8").trim().split("\n").filter(Boolean);
        } catch {
          /* none yet */
        }
        return [
          n.name,
          lines.map((l) => {
            const [time, reader, event] = l.split(" ");
            return { time: Number(time), reader: reader!, event: event! };
          }),
        ];
      }),
    );
  /** Per control-plane node, which components were restarted, in order. */
  const restartsLogged = () =>
    Object.fromEntries(Object.entries(restartEvents()).map(([n, e]) => [n, e.filter((x) => x.event === "restart").map((x) => x.reader)]));

  before(async function () {
    network = LabNetwork.create([...NODES, UNLISTED]);
    ssh = await SshCluster.start({
      label: "cluster",
      nodes: NODES.map((n) => ({ ...n })),
      apiServerPort: API_PORT,
      wrap: (n) => network.exec(n.name),
    });
    agent = startAgent(ssh.clientKey);
    ws = await Workspace.create("cluster", {});
    (ws.env as Record<string, string>).SSH_AUTH_SOCK = agent.sock;
    ws.writeStack("lab", config());
    await ws.init("lab");
    cp = new ControlPlane(
      NODES.map((n) => ({ ...n, root: ssh.node(n.name).root })),
      "kubernetes",
      network,
    );
    // The cluster as kubeadm makes it: `kubeadm init` on cp-1 (RSA-2048, kubeadm's default), `kubeadm join
    // --control-plane` on cp-2 and cp-3 with the CAs and the service-account key copied from cp-1, as kubeadm's
    // certificate upload or a manual copy does.
    const first3 = cp.controlPlane.filter((n) => n.name !== "cp-4");
    for (const n of first3) {
      if (n.name !== "cp-1") {
        mkdirSync(join(n.root, "etc/kubernetes/pki/etcd"), { recursive: true });
        for (const f of SHARED_BY_KUBEADM) cpSync(join(lab("cp-1").root, "etc/kubernetes/pki", f), join(n.root, "etc/kubernetes/pki", f));
      }
      const cfg = kubeadmConfig(n.name, sans, "RSA-2048");
      const certs = await run("kubeadm", ["--rootfs", n.root, "init", "phase", "certs", "all", "--config", cfg], { timeoutMs: 120_000 });
      assert.equal(certs.code, 0, `${n.name}: ${certs.stdout}${certs.stderr}`);
      for (const phase of n.name === "cp-1" ? ["all"] : ["admin", "controller-manager", "scheduler", "kubelet"]) {
        const kc = await run("kubeadm", ["--rootfs", n.root, "init", "phase", "kubeconfig", phase, "--config", cfg], { timeoutMs: 60_000 });
        assert.equal(kc.code, 0, `${n.name} kubeconfig ${phase}: ${kc.stdout}${kc.stderr}`);
      }
    }
    kubeadmTree = treeHashes(join(lab("cp-1").root, "etc/kubernetes"));
    for (const f of SHARED_BY_KUBEADM) kubeadmFiles[f] = readFileSync(join(lab("cp-1").root, "etc/kubernetes/pki", f), "utf8");
    for (const n of first3) cp.startEtcd(n, first3);
    for (const n of first3) {
      let healthy = false;
      for (let i = 0; i < 100 && !healthy; i++) {
        healthy = (await cp.etcdctl(n, ["endpoint", "health"])).code === 0;
        if (!healthy) await new Promise((r) => setTimeout(r, 300));
      }
      assert.ok(healthy, `etcd on ${n.name}: ${cp.log(n, "etcd")}`);
    }
    for (const n of first3) cp.startApiServer(n, SERVICE_SUBNET);
    for (const n of first3) assert.ok(await cp.waitReady(n, 180_000), `kube-apiserver on ${n.name}:\n${cp.log(n, "kube-apiserver")}`);
    await cp.startLoadBalancer(cp.controlPlane, lbSocket);
    // kubeadm init's last PKI step: admin.conf's group gets cluster-admin, made with super-admin.conf (KEP-4214).
    adminBeforeBinding = await kubectl(adminConf(), ["get", "namespaces"]);
    ok(
      await kubectl(file("cp-1", "etc/kubernetes/super-admin.conf"), [
        "create",
        "clusterrolebinding",
        "kubeadm:cluster-admins",
        "--clusterrole=cluster-admin",
        "--group=kubeadm:cluster-admins",
      ]),
    );
    for (const n of first3) {
      cp.startControllerManager(n, true);
      cp.startScheduler(n);
    }
    // Node objects, as the kubelets would register them (no kubelet runs here): the Node authorizer needs them.
    for (const n of NODES.filter((x) => members.includes(x.name))) await registerNode(n.name, n.address);
  });

  /** Client loops of the running test: stopped after it even when it fails half-way (else they loop on forever). */
  let looping: { stop(): Promise<unknown> }[] = [];
  const track = <T extends { stop(): Promise<unknown> }>(c: T): T => {
    looping.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(looping.map((c) => c.stop()));
    looping = [];
  });

  after(async () => {
    await unlisted?.stop();
    releaseTunables();
    await cp?.stop();
    agent?.stop();
    await ssh?.stop();
    network?.destroy();
  });

  /** Creates Node <name> with its InternalIP and kubelet port, as admin. */
  async function registerNode(name: string, address: string): Promise<void> {
    const manifest = { apiVersion: "v1", kind: "Node", metadata: { name, labels: { "kubernetes.io/hostname": name } } };
    const create = spawnSync("kubectl", ["--kubeconfig", adminConf(), "apply", "-f", "-"], {
      input: JSON.stringify(manifest),
      encoding: "utf8",
    });
    assert.equal(create.status, 0, create.stderr);
    ok(
      await kubectl(adminConf(), [
        "patch",
        "node",
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({
          status: {
            addresses: [
              { type: "InternalIP", address },
              { type: "Hostname", address: name },
            ],
            daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
          },
        }),
      ]),
    );
  }

  /** `kubectl auth whoami` through the load balancer with a kubeconfig: user and groups. */
  async function whoami(kubeconfig: string): Promise<{ username: string; groups: string[] }> {
    const out = ok(await kubectl(kubeconfig, ["--server", CPE, "auth", "whoami", "-o", "json"]));
    const info = JSON.parse(out).status.userInfo;
    return { username: info.username, groups: [...info.groups].sort() };
  }

  // ---- An unlisted worker, joined the kubeadm way before the adoption: kube-pki leaves it as it is ----
  let unlisted: RealKubelet | undefined;
  let releaseTunables: () => void = () => {};
  /** The unlisted worker's kubelet.conf and cert dir (hashes), and its Ready condition's last transition, once joined. */
  let unlistedFiles: Record<string, string> = {};
  let unlistedReadySince = "";
  const unlistedTree = () => ({ "kubelet.conf": sha(unlisted!.kubeconfig), ...treeHashes(unlisted!.certDir) });
  const readyCondition = async (node: string) =>
    JSON.parse(ok(await kubectl(adminConf(), ["get", "node", node, "-o", "json"]))).status.conditions?.find(
      (c: { type: string }) => c.type === "Ready",
    ) as { status: string; lastTransitionTime: string } | undefined;
  /** kubeadm's RBAC before and after `kubeadm init phase bootstrap-token`, which the join below runs (as kubeadm init does). */
  let phaseRbac: { before: Awaited<ReturnType<typeof kubeadmRbac>>; after: Awaited<ReturnType<typeof kubeadmRbac>> } | undefined;

  it("adoption's setting: a real kubelet joins kubeadm's cluster as an unlisted worker (kubeadm init phase bootstrap-token, kubeadm token create) and its Node is Ready", async () => {
    const t0 = Date.now();
    const before = await kubeadmRbac();
    const phase = await run(
      "kubeadm",
      ["--rootfs", lab("cp-1").root, "init", "phase", "bootstrap-token", "--config", kubeadmConfig("cp-1")],
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(phase.code, 0, phase.stdout + phase.stderr);
    bootstrapToken = /Using token: ([a-z0-9]{6}\.[a-z0-9]{16})/.exec(phase.stdout)?.[1] ?? "";
    assert.ok(bootstrapToken, phase.stdout);
    phaseRbac = { before, after: await kubeadmRbac() };
    // The worker's own token, as `kubeadm token create --print-join-command` gives an operator for each join.
    const token = ok(await run("kubeadm", ["token", "create", "--ttl", "1h", "--kubeconfig", adminConf()], { timeoutMs: 60_000 })).trim();
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    releaseTunables = holdKernelTunables();
    const caPem = readFileSync(file("cp-1", "etc/kubernetes/pki/ca.crt"), "utf8");
    unlisted = new RealKubelet({
      ...UNLISTED,
      netns: `kpki-${UNLISTED.name}`,
      bootstrapKubeconfig: bootstrapKubeconfig(CPE, caPem, token),
      caPem,
    });
    unlisted.start();
    const ready = await waitFor(
      async () => {
        const c = await readyCondition(UNLISTED.name).catch(() => undefined);
        return c?.status === "True" ? c : undefined;
      },
      120_000,
      () => `${UNLISTED.name} Ready:\n${unlisted!.log.slice(-3000)}`,
    );
    unlistedReadySince = ready.lastTransitionTime;
    unlistedFiles = unlistedTree();
    assert.ok(unlistedFiles["kubelet-client-current.pem"], JSON.stringify(Object.keys(unlistedFiles)));
    console.log(`      unlisted worker joined and Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  it("kubeadm's cluster is adopted (npm run adopt over SSH, then pulumi up) with clients of every kind looping: 0 failed requests; the CAs and the service-account key stay byte for byte, every leaf is re-issued, kubeadm's files are kept", async () => {
    const first3 = cp.controlPlane.filter((n) => n.name !== "cp-4");
    const clients = track(await startClients(lab("cp-1"), lab("cp-2"), first3));
    const t = ssh.sshTarget("cp-1");
    const stackFile = join(ws.dir, "stacks", "Pulumi.lab.yaml");
    // Asynchronously: the clients loop in this process and must not stall while adopt runs.
    const adopt = await run(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        join(REPO, "scripts", "adopt.ts"),
        "--stack",
        "lab",
        "--config",
        stackFile,
        "--cluster",
        "lab",
        "--ssh",
        `root@${t.host}:${t.port}`,
        "--host-key",
        t.hostKey,
        "--root",
        t.root,
      ],
      { env: { ...ws.env, INIT_CWD: ws.dir }, cwd: REPO, timeoutMs: 120_000 },
    );
    assert.equal(adopt.code, 0, adopt.stdout + adopt.stderr);
    assert.ok(
      !/PRIVATE KEY/.test(adopt.stdout + adopt.stderr + readFileSync(stackFile, "utf8")),
      "no key in the output or in plain text in the stack file",
    );
    adopted = (parse(readFileSync(stackFile, "utf8")) as any).config["kube-pki:clusters"][0].adopt;
    assert.deepEqual(treeHashes(join(lab("cp-1").root, "etc/kubernetes")), kubeadmTree, "adopting changed nothing on the node");
    const start = Date.now();
    await up();
    const seconds = (Date.now() - start) / 1000;
    await new Promise((r) => setTimeout(r, 2_000));
    const stats = await clients.stop();
    console.log(`      adoption rolled out in ${seconds.toFixed(1)} s; clients: ${describeCounts(stats)}, ${stats.failures.length} failed`);
    assert.deepEqual(stats.failures, [], "no request failed");
    for (const n of first3) {
      for (const f of SHARED_BY_KUBEADM)
        assert.equal(readFileSync(file(n.name, `etc/kubernetes/pki/${f}`), "utf8"), kubeadmFiles[f], `${n.name}: ${f} byte for byte`);
      const apiserver = file(n.name, "etc/kubernetes/pki/apiserver.crt");
      assert.ok(
        new X509Certificate(readFileSync(apiserver)).checkIssued(new X509Certificate(kubeadmFiles["ca.crt"]!)),
        `${n.name}: issued by kubeadm's CA`,
      );
      const original = join(n.root, "var/lib/kube-pki/originals/etc/kubernetes/pki/apiserver.crt");
      assert.notEqual(
        readFileSync(apiserver, "utf8"),
        readFileSync(original, "utf8"),
        `${n.name}: re-issued; kubeadm's own kept under originals/`,
      );
    }
    const rsaLeaf = new X509Certificate(readFileSync(file("cp-1", "etc/kubernetes/pki/apiserver.crt"))).publicKey.asymmetricKeyType;
    assert.equal(rsaLeaf, "ec", "leaves have kube-pki's key algorithm; kubeadm's CA is RSA");
    // The one manifest change the README asks for before rotating the cluster CA: the controller-manager signs with
    // ca-signer.crt (the certificate of ca.key alone), one node at a time as a static-pod manifest edit rolls.
    for (const n of first3) {
      assert.equal(
        new X509Certificate(readFileSync(file(n.name, "etc/kubernetes/pki/ca-signer.crt"))).fingerprint256,
        new X509Certificate(kubeadmFiles["ca.crt"]!).fingerprint256,
        `${n.name}: ca-signer.crt is kubeadm's CA`,
      );
      await cp.stopComponent(n, "kube-controller-manager");
      cp.startControllerManager(n, true, "ca-signer.crt");
    }
  });

  it("adoption keeps the unlisted worker untouched: its kubelet.conf and cert dir byte for byte, its client certificate authenticates, its Node stayed Ready, no kube-pki resource names it", async () => {
    assert.ok(unlisted, "the unlisted worker joined (the test before the adoption)");
    assert.deepEqual(unlistedTree(), unlistedFiles);
    const whoami = ["--server", CPE, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"];
    assert.equal(ok(await kubectl(unlisted.kubeconfig, whoami)), `system:node:${UNLISTED.name}`);
    // Never NotReady or Unknown in between: the Ready condition has not transitioned since the join.
    assert.deepEqual(await readyCondition(UNLISTED.name).then((c) => [c?.status, c?.lastTransitionTime]), ["True", unlistedReadySince]);
    const resources: { urn: string }[] = (await ws.exportState("lab")).deployment.resources;
    const naming = new RegExp(`\\b${UNLISTED.name}\\b|${UNLISTED.address.replace(/\./g, "\\.")}\\b`);
    assert.deepEqual(
      resources.filter((r) => naming.test(JSON.stringify(r))).map((r) => r.urn),
      [],
    );
    assert.ok(resources.length > 50, `${resources.length} resources exported`);
    // Its part is done: the rest of the sequence (CA rotation) runs without it.
    await unlisted.stop();
    unlisted = undefined;
  });

  it("every kubeconfig kube-pki made authenticates through the load balancer as its user and groups", async () => {
    const expected: [string, string, string, string[]][] = [];
    for (const n of ["cp-1", "cp-2", "cp-3"]) {
      expected.push([n, "etc/kubernetes/admin.conf", "kubernetes-admin", ["kubeadm:cluster-admins"]]);
      expected.push([n, "etc/kubernetes/controller-manager.conf", "system:kube-controller-manager", []]);
      expected.push([n, "etc/kubernetes/scheduler.conf", "system:kube-scheduler", []]);
    }
    expected.push(["cp-1", "etc/kubernetes/super-admin.conf", "kubernetes-super-admin", ["system:masters"]]);
    for (const n of ["cp-1", "cp-2", "cp-3", "w-1"]) {
      expected.push([n, "etc/kubernetes/kubelet.conf", `system:node:${n}`, ["system:nodes"]]);
      expected.push([n, "etc/kubernetes/kube-proxy.conf", "system:kube-proxy", ["system:node-proxier"]]);
    }
    const problems: string[] = [];
    for (const [node, path, user, groups] of expected) {
      const got = await whoami(file(node, path));
      const want = { username: user, groups: [...groups, "system:authenticated"].sort() };
      if (JSON.stringify(got) !== JSON.stringify(want))
        problems.push(`${node}:${path}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
    const users = JSON.parse((await ws.ok(["stack", "output", "userKubeconfigs", "--json", "--show-secrets", "--stack", "lab"])).stdout);
    const alice = join(makeTempDir("alice"), "alice.conf");
    writeFileSync(alice, users.lab.alice, { mode: 0o600 });
    assert.deepEqual(
      await whoami(alice),
      { username: "alice", groups: ["developers", "oncall", "system:authenticated"] },
      "a user in two groups (GroupsCertRequest) is both",
    );
    assert.deepEqual(problems, []);
    console.log(`      ${expected.length + 1} kubeconfigs: every one is its identity`);
  });

  it("admin.conf has no rights until super-admin.conf makes the kubeadm:cluster-admins binding (as kubeadm init does); then it lists namespaces", async () => {
    assert.notEqual(adminBeforeBinding.code, 0);
    assert.match(adminBeforeBinding.stderr, /forbidden/i);
    assert.match(ok(await kubectl(adminConf(), ["get", "namespaces", "-o", "name"])), /namespace\/kube-system/);
  });

  it("authorization as in a kubeadm cluster: a kubelet reads its own Node, not secrets, not another Node (Node authorizer, NodeRestriction); leader leases held", async () => {
    ok(await kubectl(adminConf(), ["create", "secret", "generic", "not-for-kubelets", "-n", "default", "--from-literal=x=y"]));
    const kubelet = file("cp-1", "etc/kubernetes/kubelet.conf");
    assert.match(ok(await kubectl(kubelet, ["get", "node", "cp-1", "-o", "name"])), /node\/cp-1/);
    const secret = await kubectl(kubelet, ["get", "secret", "not-for-kubelets", "-n", "default"]);
    assert.notEqual(secret.code, 0);
    assert.match(secret.stderr, /forbidden.*system:node:cp-1/i);
    const other = await kubectl(kubelet, ["label", "node", "cp-2", "kube-pki/test=1"]);
    assert.notEqual(other.code, 0, "NodeRestriction: a kubelet may not modify another Node");
    assert.match(other.stderr, /forbidden|may only modify/i);
    for (const lease of ["kube-controller-manager", "kube-scheduler"]) {
      let holder = "";
      for (let i = 0; i < 120 && !holder; i++) {
        const r = await kubectl(adminConf(), ["get", "lease", lease, "-n", "kube-system", "-o", "jsonpath={.spec.holderIdentity}"]);
        holder = r.code === 0 ? r.stdout.trim() : "";
        if (!holder) await new Promise((res) => setTimeout(res, 500));
      }
      assert.ok(holder, `${lease} holds its leader lease`);
    }
  });

  /** A request with a client certificate (PEM paths) and headers, to cp-1's API server. */
  function request(
    path: string,
    opts: { cert: string; key: string; headers?: Record<string, string>; method?: string; body?: string },
  ): Promise<{ status: number; body: string }> {
    return httpsRequest({
      host: lab("cp-1").address,
      port: API_PORT,
      path,
      method: opts.method ?? "GET",
      ca: readFileSync(file("cp-1", "etc/kubernetes/pki/ca.crt")),
      cert: readFileSync(opts.cert),
      key: readFileSync(opts.key),
      headers: opts.headers,
      body: opts.body,
    });
  }

  it("the front proxy: front-proxy-client's X-Remote-User is believed; the same headers with another client certificate are not", async () => {
    const review = JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" });
    const headers = { "X-Remote-User": "bob", "X-Remote-Group": "auditors" };
    const proxied = await request("/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      method: "POST",
      body: review,
      headers,
      cert: file("cp-1", "etc/kubernetes/pki/front-proxy-client.crt"),
      key: file("cp-1", "etc/kubernetes/pki/front-proxy-client.key"),
    });
    assert.equal(proxied.status, 201, proxied.body);
    assert.equal(JSON.parse(proxied.body).status.userInfo.username, "bob");
    assert.ok(JSON.parse(proxied.body).status.userInfo.groups.includes("auditors"));
    const kubeletClient = await request("/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      method: "POST",
      body: review,
      headers,
      cert: file("cp-1", "etc/kubernetes/pki/apiserver-kubelet-client.crt"),
      key: file("cp-1", "etc/kubernetes/pki/apiserver-kubelet-client.key"),
    });
    assert.equal(kubeletClient.status, 201, kubeletClient.body);
    assert.equal(
      JSON.parse(kubeletClient.body).status.userInfo.username,
      "kube-apiserver-kubelet-client",
      "headers ignored: the certificate's own identity",
    );
  });

  /**
   * A kubelet stand-in on w-1:10250, run inside w-1's network namespace: the given serving pair, cluster-CA client
   * certificates required, /healthz → ok; the CN of every client it served is logged.
   */
  async function kubeletServer(cert: string, key: string): Promise<{ close(): Promise<void>; clients(): string[] }> {
    const dir = makeTempDir("kubelet");
    writeFileSync(join(dir, "crt"), cert);
    writeFileSync(join(dir, "key"), key);
    writeFileSync(
      join(dir, "server.js"),
      `const https = require("https"), fs = require("fs"); const d = ${JSON.stringify(dir)};
https.createServer({ cert: fs.readFileSync(d + "/crt"), key: fs.readFileSync(d + "/key"), ca: fs.readFileSync(${JSON.stringify(file("w-1", "etc/kubernetes/pki/ca.crt"))}),
  requestCert: true, rejectUnauthorized: true }, (req, res) => {
  fs.appendFileSync(d + "/clients", (req.socket.getPeerCertificate().subject || {}).CN + "\\n");
  res.end(req.url === "/healthz" ? "ok" : "?");
}).listen(10250, ${JSON.stringify(lab("w-1").address)});
`,
    );
    const [ipCmd, ...prefix] = network.exec("w-1");
    const daemon = startDaemon("kubelet stand-in", ipCmd!, [...prefix, process.execPath, join(dir, "server.js")], join(dir, "log"));
    await waitForPort(lab("w-1").address, 10250, 10_000, daemon);
    return {
      clients: () => {
        try {
          return readFileSync(join(dir, "clients"), "utf8").trim().split("\n");
        } catch {
          return [];
        }
      },
      close: () => stopDaemon(daemon),
    };
  }

  it("API server → kubelet: kube-apiserver verifies kube-pki's kubelet serving certificate and presents apiserver-kubelet-client; another CA's serving certificate fails", async () => {
    const good = await kubeletServer(
      readFileSync(file("w-1", "var/lib/kubelet/pki/kubelet-serving.crt"), "utf8"),
      readFileSync(file("w-1", "var/lib/kubelet/pki/kubelet-serving.key"), "utf8"),
    );
    try {
      assert.equal(ok(await kubectl(adminConf(), ["get", "--raw", "/api/v1/nodes/w-1/proxy/healthz"])), "ok");
      assert.ok(good.clients().includes("kube-apiserver-kubelet-client"), `client ${good.clients().join()}`);
    } finally {
      await good.close();
    }
    const other = opensslSelfSigned("system:node:w-1", { addext: [`subjectAltName=DNS:w-1,IP:${lab("w-1").address}`] });
    const bad = await kubeletServer(other.cert, other.key);
    try {
      const r = await kubectl(adminConf(), ["get", "--raw", "/api/v1/nodes/w-1/proxy/healthz"]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /certificate|x509|tls/i);
    } finally {
      await bad.close();
    }
  });

  it("service-account tokens: one API server's token is accepted by the other two", async () => {
    let token = "";
    for (let i = 0; i < 60 && !token; i++) {
      const r = await kubectl(adminConf(), [
        "--server",
        `https://${lab("cp-1").address}:${API_PORT}`,
        "create",
        "token",
        "default",
        "-n",
        "default",
      ]);
      token = r.code === 0 ? r.stdout.trim() : "";
      if (!token) await new Promise((res) => setTimeout(res, 500)); // the default service account is made by the controller-manager
    }
    assert.ok(token, "token issued by cp-1");
    const empty = join(makeTempDir("token"), "empty.conf");
    writeFileSync(empty, "apiVersion: v1\nkind: Config\n");
    for (const n of ["cp-2", "cp-3"]) {
      const r = await kubectl(empty, [
        "--server",
        `https://${lab(n).address}:${API_PORT}`,
        "--certificate-authority",
        file(n, "etc/kubernetes/pki/ca.crt"),
        "--token",
        token,
        "auth",
        "whoami",
        "-o",
        "json",
      ]);
      assert.equal(JSON.parse(ok(r)).status.userInfo.username, "system:serviceaccount:default:default", n);
    }
  });

  /** A kubeadm v1beta4 config of this cluster for one control-plane node (inside its root: kubeadm --rootfs chroots). */
  function kubeadmConfig(node: string, certSANs: readonly string[] = sans, encryptionAlgorithm = "ECDSA-P256"): string {
    const n = lab(node);
    const text = [
      {
        apiVersion: "kubeadm.k8s.io/v1beta4",
        kind: "InitConfiguration",
        localAPIEndpoint: { advertiseAddress: n.address, bindPort: API_PORT },
        nodeRegistration: { name: node },
      },
      {
        apiVersion: "kubeadm.k8s.io/v1beta4",
        kind: "ClusterConfiguration",
        kubernetesVersion: "v1.36.3",
        clusterName: "kubernetes",
        controlPlaneEndpoint: `${ENDPOINT}:${API_PORT}`,
        certificatesDir: "/etc/kubernetes/pki",
        encryptionAlgorithm,
        networking: { serviceSubnet: SERVICE_SUBNET, dnsDomain: "cluster.local" },
        apiServer: { certSANs: [...certSANs] },
      },
    ]
      .map((d) => stringify(d))
      .join("---\n");
    writeFileSync(join(n.root, "kubeadm.yaml"), text);
    return "/kubeadm.yaml";
  }

  it("kubeadm takes every control-plane node's tree as it is (init phase certs / kubeconfig change no byte) and reads its expiry as npm run expiry does", async () => {
    for (const node of ["cp-1", "cp-2", "cp-3"]) {
      const root = lab(node).root;
      const cfg = kubeadmConfig(node);
      const before = treeHashes(join(root, "etc/kubernetes"));
      const certs = await run("kubeadm", ["--rootfs", root, "init", "phase", "certs", "all", "--config", cfg], { timeoutMs: 60_000 });
      assert.equal(certs.code, 0, `${node}: ${certs.stdout}${certs.stderr}`);
      const reused = (certs.stdout.match(/Using existing/g) ?? []).length;
      assert.ok(reused >= 10 && !/Generating/.test(certs.stdout), `${node}: kubeadm reused every certificate:\n${certs.stdout}`);
      // The init node has super-admin.conf; the others get what kubeadm join --control-plane writes.
      const phases = node === "cp-1" ? ["all"] : ["admin", "controller-manager", "scheduler", "kubelet"];
      for (const phase of phases) {
        const kc = await run("kubeadm", ["--rootfs", root, "init", "phase", "kubeconfig", phase, "--config", cfg], { timeoutMs: 60_000 });
        assert.equal(kc.code, 0, `${node} kubeconfig ${phase}: ${kc.stdout}${kc.stderr}`);
      }
      assert.deepEqual(treeHashes(join(root, "etc/kubernetes")), before, `${node}: kubeadm changed no byte and added no file`);
      const expiry = await run("kubeadm", ["--rootfs", root, "certs", "check-expiration", "--config", cfg, "-o", "json"], {
        timeoutMs: 60_000,
      });
      assert.equal(expiry.code, 0, `${node}: ${expiry.stderr}`);
      const kubeadmRows = JSON.parse(expiry.stdout) as {
        certificates: { name: string; expirationDate: string; missing: boolean }[];
        certificateAuthorities: { name: string; expirationDate: string }[];
      };
      const ours = new Map(rowsFromDirectory(join(root, "etc/kubernetes")).map((r) => [r.certificate, r.notAfter.getTime()]));
      for (const row of [...kubeadmRows.certificates, ...kubeadmRows.certificateAuthorities]) {
        if ((row as any).missing) {
          assert.ok(node !== "cp-1" && row.name === "super-admin.conf", `${node}: kubeadm misses ${row.name}`);
          continue;
        }
        assert.equal(ours.get(row.name), Date.parse(row.expirationDate), `${node}: ${row.name} expires at the same second in both reports`);
      }
    }
  });

  it("publication for real: kubeadm-config's certSANs follow the config, and turning publication off leaves the ConfigMap as it was", async () => {
    // kubeadm itself uploads the ClusterConfiguration (init phase upload-config), through cp-1's admin.conf, with a
    // certSANs list that differs from kube-pki's config (as after a SAN change kubeadm was not told about).
    const upload = await run(
      "kubeadm",
      [
        "--rootfs",
        lab("cp-1").root,
        "init",
        "phase",
        "upload-config",
        "kubeadm",
        "--config",
        kubeadmConfig("cp-1", ["stale.lab.example.com"]),
      ],
      { timeoutMs: 60_000 },
    );
    assert.equal(upload.code, 0, upload.stdout + upload.stderr);
    kubeadmConfig("cp-1");
    assert.match(await clusterConfiguration(), /stale\.lab\.example\.com/);
    try {
      publication = { kubeadmConfig: true };
      await up();
      const published = await clusterConfiguration();
      assert.match(published, /k8s\.lab\.example\.com/, "certSANs published");
      assert.ok(!/stale\.lab/.test(published));
      assert.match(published, /kubernetesVersion: v1\.36\.3/, "the rest of kubeadm's document is kept");
      publication = {};
      await up();
      assert.equal(
        await clusterConfiguration(),
        published,
        "the patch's deletion relinquished nothing: kubeadm's ClusterConfiguration is intact",
      );
    } finally {
      publication = {};
    }
  });

  it("publication for real: Cluster API secrets in a management cluster are updated in place (same object), not replaced", async () => {
    // The management cluster is this cluster itself; its kubeconfig is a secret stack config value.
    await ws.ok(["config", "set", "--secret", "--stack", "lab", "managementKubeconfig"], { input: readFileSync(adminConf(), "utf8") });
    try {
      publication = { managementCluster: { namespace: "default", clusterName: "lab" } };
      await up();
      const uid = async () =>
        ok(await kubectl(adminConf(), ["get", "secret", "lab-ca", "-n", "default", "-o", "jsonpath={.metadata.uid}"]));
      const before = await uid();
      publication = { managementCluster: { namespace: "default", clusterName: "lab", includeCaKeys: true } };
      ws.writeStack("lab", config());
      const preview = await ws.preview("lab");
      assert.ok(
        changedSteps(preview).includes("update kubernetes:core/v1:Secret::lab-publication-capi-ca"),
        changedSteps(preview).join("\n"),
      );
      await up();
      assert.equal(await uid(), before, "the same Secret object, updated");
      assert.match(ok(await kubectl(adminConf(), ["get", "secret", "lab-ca", "-n", "default", "-o", "jsonpath={.data}"])), /tls\.key/);
      publication = {};
      await up();
    } finally {
      publication = {};
    }
  });

  // ---- TLS bootstrap (workers: bootstrap): kube-pki's RBAC and cluster-info against what the real kubeadm makes ----

  /** kubeadm's bootstrap token, made by `kubeadm init phase bootstrap-token` below: the token of an adopted cluster. */
  let bootstrapToken = "";
  /** Every RBAC object named `kubeadm:*`, by `<Kind> [<namespace>/]<name>`: what authorizes, and its uid and managers. */
  async function kubeadmRbac(): Promise<Record<string, { content: unknown; uid: string; applied: boolean }>> {
    const items = JSON.parse(
      ok(
        await kubectl(adminConf(), [
          "get",
          "clusterroles,clusterrolebindings,roles,rolebindings",
          "-A",
          "--show-managed-fields",
          "-o",
          "json",
        ]),
      ),
    ).items;
    return Object.fromEntries(
      items
        .filter((i: any) => i.metadata.name.startsWith("kubeadm:"))
        .map((i: any) => [
          rbacKey(i),
          {
            content: rbacContent(i),
            uid: i.metadata.uid,
            applied: (i.metadata.managedFields ?? []).some((f: any) => f.operation === "Apply"),
          },
        ]),
    );
  }
  const rbacKey = (m: { kind: string; metadata: { name: string; namespace?: string } }) =>
    `${m.kind} ${m.metadata.namespace ? `${m.metadata.namespace}/` : ""}${m.metadata.name}`;
  /** What authorizes: rules, roleRef and subjects (JSON: no undefined keys). */
  const rbacContent = (m: any) => JSON.parse(JSON.stringify({ rules: m.rules, roleRef: m.roleRef, subjects: m.subjects }));
  const clusterInfo = async () =>
    JSON.parse(ok(await kubectl(adminConf(), ["get", "configmap", CLUSTER_INFO.name, "-n", CLUSTER_INFO.namespace, "-o", "json"])));
  /** `kubectl auth can-i --list` rows (`resource [names] [verbs]`, sorted), with extra kubectl arguments. */
  async function canIList(args: string[]): Promise<string[]> {
    const out = ok(await run("kubectl", [...args, "auth", "can-i", "--list", "--no-headers"], { timeoutMs: 20_000 }));
    return out
      .trim()
      .split("\n")
      .map((l) =>
        l
          .trim()
          .split(/\s{2,}/)
          .join(" "),
      )
      .sort();
  }
  const asToken = () => ["--server", CPE, "--certificate-authority", file("cp-1", "etc/kubernetes/pki/ca.crt"), "--token", bootstrapToken];

  it("TLS bootstrap: kube-pki's RBAC table and cluster-info are what the real `kubeadm init phase bootstrap-token` creates (and the phase's one binding for the API server, which kube-pki's apiserver-kubelet-client does not need)", async () => {
    // The phase ran before the adoption, as kubeadm init runs it (the unlisted worker's join needs its objects).
    assert.ok(phaseRbac && bootstrapToken, "kubeadm init phase bootstrap-token ran before the adoption");
    const { before, after } = phaseRbac;
    const created = Object.keys(after).filter((k) => !(k in before));
    assert.deepEqual(created.sort(), [...BOOTSTRAP_RBAC.map(rbacKey), "ClusterRoleBinding kubeadm:apiserver-kubelet-client"].sort());
    for (const m of BOOTSTRAP_RBAC) assert.deepEqual(after[rbacKey(m)]!.content, rbacContent(m), rbacKey(m));
    // Byte for byte: kube-pki's apply leaves kubeadm's text, so the bootstrapsigner's signature of it stays valid.
    const ca = readFileSync(file("cp-1", "etc/kubernetes/pki/ca.crt"), "utf8");
    assert.equal((await clusterInfo()).data.kubeconfig, clusterInfoKubeconfig(CPE, ca));
  });

  it("TLS bootstrap: workers: bootstrap over kubeadm's objects takes them over (same objects, same content, cluster-info's JWS signature kept) and publishes the controller-manager flags into kubeadm-config and the stack output", async () => {
    const kubeadmMade = await kubeadmRbac();
    const tokenId = bootstrapToken.split(".")[0]!;
    let info: any = {};
    for (let i = 0; i < 100 && !info.data?.[`jws-kubeconfig-${tokenId}`]; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 300));
      info = await clusterInfo();
    }
    assert.ok(info.data[`jws-kubeconfig-${tokenId}`], "the bootstrapsigner signed cluster-info with kubeadm's token");
    workers = "bootstrap";
    publication = { kubeadmConfig: true };
    await up();
    const now = await kubeadmRbac();
    for (const m of BOOTSTRAP_RBAC) {
      const k = rbacKey(m);
      assert.equal(now[k]!.uid, kubeadmMade[k]!.uid, `${k}: the same object`);
      assert.deepEqual(now[k]!.content, kubeadmMade[k]!.content, `${k}: unchanged`);
      assert.ok(now[k]!.applied && !kubeadmMade[k]!.applied, `${k}: taken over by kube-pki's apply`);
    }
    const infoNow = await clusterInfo();
    assert.equal(infoNow.metadata.uid, info.metadata.uid);
    // kube-pki's own tokens get their signatures beside kubeadm's token's, which stays as it was.
    assert.deepEqual(
      [infoNow.data.kubeconfig, infoNow.data[`jws-kubeconfig-${tokenId}`]],
      [info.data.kubeconfig, info.data[`jws-kubeconfig-${tokenId}`]],
      "kubeconfig and the signature as they were",
    );
    const spec = planClusters(config())[0]!.catalog.cluster;
    const cm = parse(await clusterConfiguration());
    const published = (cm.controllerManager?.extraArgs ?? []) as Flag[];
    assert.deepEqual(
      published.filter((a) => controllerManagerFlags(spec).some((f) => f.name === a.name)),
      controllerManagerFlags(spec),
    );
    const output = JSON.parse((await ws.ok(["stack", "output", "controlPlaneFlags", "--json", "--stack", "lab"])).stdout);
    assert.deepEqual(output.lab, controlPlaneFlags(spec));
  });

  it("TLS bootstrap: with the flags of controlPlaneFlags, the controller-managers approve and sign a node client CSR sent with kubeadm's token, for bootstrap.signingHours, with the key of ca-signer.crt", async () => {
    const spec = planClusters(config())[0]!.catalog.cluster;
    const flags = JSON.parse((await ws.ok(["stack", "output", "controlPlaneFlags", "--json", "--stack", "lab"])).stdout).lab[
      "kube-controller-manager"
    ].map((a: string) => {
      const [, name, value] = /^--([^=]+)=(.*)$/.exec(a)!;
      return { name: name!, value: value! };
    });
    for (const n of cp.controlPlane.filter((x) => x.name !== "cp-4")) {
      await cp.stopComponent(n, "kube-controller-manager");
      cp.startControllerManager(n, flags);
    }
    const dir = makeTempDir("node-csr");
    execFileSync(
      "openssl",
      [
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        join(dir, "k"),
        "-out",
        join(dir, "csr"),
        "-subj",
        "/O=system:nodes/CN=system:node:bk-1",
      ],
      { stdio: "pipe" },
    );
    const csr = {
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name: "bk-1-client" },
      spec: {
        request: readFileSync(join(dir, "csr")).toString("base64"),
        signerName: "kubernetes.io/kube-apiserver-client-kubelet",
        usages: ["digital signature", "client auth"],
      },
    };
    ok(await run("kubectl", [...asToken(), "create", "-f", "-"], { input: JSON.stringify(csr) }));
    let status: any = {};
    for (let i = 0; i < 200 && !status.certificate; i++) {
      await new Promise((r) => setTimeout(r, 300));
      status = JSON.parse(ok(await kubectl(adminConf(), ["get", "csr", "bk-1-client", "-o", "json"]))).status ?? {};
    }
    ok(await kubectl(adminConf(), ["delete", "csr", "bk-1-client"]));
    assert.ok(status.certificate, `not signed: ${JSON.stringify(status)}\n${cp.log(lab("cp-1"), "kube-controller-manager")}`);
    assert.equal(status.conditions?.[0]?.reason, "AutoApproved");
    const cert = new X509Certificate(Buffer.from(status.certificate, "base64"));
    assert.ok(cert.checkIssued(new X509Certificate(readFileSync(file("cp-1", "etc/kubernetes/pki/ca-signer.crt")))));
    assert.equal(Date.parse(cert.validTo) - Date.parse(cert.validFrom), spec.bootstrap!.signingHours * 3_600_000);
  });

  it("TLS bootstrap: kubeadm's token can do nothing but send CSRs (create, and read every CSR as system:node-bootstrapper grants), get nodes and ask what it may do (kubectl auth can-i --list as the token)", async () => {
    // Columns: resource, non-resource URLs, resource names, verbs. Beside the table's grants, what every authenticated
    // user has: the self-reviews (system:basic-user), discovery and health (system:discovery, system:public-info-viewer).
    assert.deepEqual(await canIList(asToken()), [
      "[/api/*] [] [get]",
      "[/api] [] [get]",
      "[/apis/*] [] [get]",
      "[/apis] [] [get]",
      "[/healthz] [] [get]",
      "[/healthz] [] [get]",
      "[/livez] [] [get]",
      "[/livez] [] [get]",
      "[/openapi/*] [] [get]",
      "[/openapi] [] [get]",
      "[/readyz] [] [get]",
      "[/readyz] [] [get]",
      "[/version/] [] [get]",
      "[/version/] [] [get]",
      "[/version] [] [get]",
      "[/version] [] [get]",
      "certificatesigningrequests.certificates.k8s.io [] [] [create get list watch]",
      "certificatesigningrequests.certificates.k8s.io/nodeclient [] [] [create]",
      "nodes [] [] [get]",
      "selfsubjectaccessreviews.authorization.k8s.io [] [] [create]",
      "selfsubjectreviews.authentication.k8s.io [] [] [create]",
      "selfsubjectrulesreviews.authorization.k8s.io [] [] [create]",
    ]);
  });

  /** Every binding whose subjects include one of `subjects` (groups or users), as `<Kind> [<ns>/]<name> → <role>`. */
  async function bindingsOf(match: (s: { kind: string; name: string }) => boolean): Promise<string[]> {
    const items = JSON.parse(ok(await kubectl(adminConf(), ["get", "clusterrolebindings,rolebindings", "-A", "-o", "json"]))).items;
    return items
      .filter((b: any) => (b.subjects ?? []).some(match))
      .map((b: any) => `${rbacKey(b)} → ${b.roleRef.name}`)
      .sort();
  }

  it("TLS bootstrap: anonymous reads kube-public/cluster-info and nothing else (one binding besides Kubernetes' public health and version URLs)", async () => {
    // Anonymous may not ask what it may do (SelfSubjectRulesReview is system:basic-user's): its bindings tell instead.
    assert.deepEqual(await bindingsOf((s) => s.name === "system:anonymous" || s.name === "system:unauthenticated"), [
      "ClusterRoleBinding system:public-info-viewer → system:public-info-viewer",
      "RoleBinding kube-public/kubeadm:bootstrap-signer-clusterinfo → kubeadm:bootstrap-signer-clusterinfo",
    ]);
    const get = async (path: string) =>
      (
        await run("curl", [
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "--cacert",
          file("cp-1", "etc/kubernetes/pki/ca.crt"),
          `${CPE}${path}`,
        ])
      ).stdout;
    assert.equal(await get(`/api/v1/namespaces/kube-public/configmaps/${CLUSTER_INFO.name}`), "200");
    assert.equal(await get("/api/v1/namespaces/kube-public/configmaps/kube-root-ca.crt"), "403");
    assert.equal(await get("/api/v1/namespaces/kube-public/configmaps"), "403");
  });

  it("TLS bootstrap: no binding in the cluster gives a bootstrap group (system:bootstrappers*) more than kube-pki's table and kubeadm's upload-config read of kubeadm-config", async () => {
    // kubeadm:nodes-kubeadm-config: made by `kubeadm init phase upload-config kubeadm` (the publication test ran it).
    assert.deepEqual(await bindingsOf((s) => s.kind === "Group" && s.name.startsWith("system:bootstrappers")), [
      "ClusterRoleBinding kubeadm:get-nodes → kubeadm:get-nodes",
      "ClusterRoleBinding kubeadm:kubelet-bootstrap → system:node-bootstrapper",
      "ClusterRoleBinding kubeadm:node-autoapprove-bootstrap → system:certificates.k8s.io:certificatesigningrequests:nodeclient",
      "RoleBinding kube-system/kubeadm:nodes-kubeadm-config → kubeadm:nodes-kubeadm-config",
    ]);
    const kubeadmConfigRole = JSON.parse(
      ok(await kubectl(adminConf(), ["get", "role", "kubeadm:nodes-kubeadm-config", "-n", "kube-system", "-o", "json"])),
    );
    assert.deepEqual(kubeadmConfigRole.rules, [
      { apiGroups: [""], resources: ["configmaps"], resourceNames: ["kubeadm-config"], verbs: ["get"] },
    ]);
    assert.equal((await run("kubectl", [...asToken(), "auth", "can-i", "*", "*", "--all-namespaces"])).stdout.trim(), "no");
  });

  it("TLS bootstrap: workers: managed again (and publication off) deletes nothing in the cluster: kubeadm's objects and cluster-info stay", async () => {
    const before = await kubeadmRbac();
    const info = await clusterInfo();
    workers = "managed";
    publication = {};
    await up();
    const after = await kubeadmRbac();
    for (const m of BOOTSTRAP_RBAC) assert.equal(after[rbacKey(m)]?.uid, before[rbacKey(m)]!.uid, rbacKey(m));
    assert.equal((await clusterInfo()).metadata.uid, info.metadata.uid);
  });

  it("the seed scenario: an apiserver SAN added, re-issued, delivered and rolled out one node at a time with clients looping: 0 failed requests", async () => {
    const restartsBefore = restartsLogged();
    const loop = track(clientLoop(adminConf(), file("cp-1", "etc/kubernetes/pki/ca.crt")));
    await new Promise((r) => setTimeout(r, 2_000));
    const start = Date.now();
    sans.push("api-new.lab.example.com");
    await up();
    const allServing = (Date.now() - start) / 1000;
    await new Promise((r) => setTimeout(r, 2_000));
    const stats = await loop.stop();
    console.log(
      `      SAN rollout: ${allServing.toFixed(1)} s from config change to every API server serving the new certificate; ` +
        `clients: ${stats.readyz} readyz + ${stats.kubectl} kubectl requests, ${stats.failures.length} failed`,
    );
    assert.deepEqual(stats.failures, [], "no request failed");
    assert.ok(stats.readyz > 20 && stats.kubectl > 5);
    for (const n of ["cp-1", "cp-2", "cp-3"]) {
      const crt = readFileSync(file(n, "etc/kubernetes/pki/apiserver.crt"), "utf8");
      assert.match(new X509Certificate(crt).subjectAltName!, /DNS:api-new\.lab\.example\.com/);
      const served = execFileSync(
        "sh",
        ["-c", `openssl s_client -connect ${lab(n).address}:${API_PORT} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`],
        { encoding: "utf8" },
      );
      assert.equal(served.trim().replace(/^.*=/, ""), new X509Certificate(crt).fingerprint256, `${n} serves the new certificate`);
      ok(
        await kubectl(adminConf(), [
          "--server",
          `https://${lab(n).address}:${API_PORT}`,
          "--tls-server-name",
          "api-new.lab.example.com",
          "get",
          "--raw",
          "/readyz",
        ]),
      );
    }
    const restarts = restartsLogged();
    for (const n of ["cp-1", "cp-2", "cp-3"]) {
      assert.deepEqual(
        restarts[n]!.slice(restartsBefore[n]!.length),
        ["kube-apiserver"],
        `${n}: kube-apiserver restarted once, nothing else`,
      );
    }
    // The floor: each new kube-apiserver's time from its start (after the old one exited) to ready, summed.
    const events = restartEvents();
    const floor = ["cp-1", "cp-2", "cp-3"].reduce((sum, n) => {
      const e = events[n]!.filter((x) => x.reader === "kube-apiserver");
      const exited = e.filter((x) => x.event === "exited").pop()!.time;
      const ready = e.filter((x) => x.event === "ready").pop()!.time;
      return sum + (ready - exited);
    }, 0);
    // Where the rest goes: from the config change to the first restart (engine, re-issue, pushes), and the restarts'
    // window (first drain to the last node back in the load balancer).
    const apiserverEvents = ["cp-1", "cp-2", "cp-3"].flatMap((n) =>
      events[n]!.filter((x) => x.reader === "kube-apiserver" && x.time * 1000 >= start),
    );
    const firstRestart = Math.min(...apiserverEvents.filter((x) => x.event === "restart").map((x) => x.time));
    const lastReady = Math.max(...apiserverEvents.filter((x) => x.event === "ready").map((x) => x.time));
    console.log(
      `      sequential restart floor (sum of kube-apiserver start-to-ready): ${floor.toFixed(1)} s; ` +
        `kube-pki's rollout: ${allServing.toFixed(1)} s (${(allServing / Math.max(floor, 0.1)).toFixed(2)}x): ` +
        `${(firstRestart - start / 1000).toFixed(1)} s to the first restart, ${(lastReady - firstRestart).toFixed(1)} s of restarts`,
    );
  });

  /** The certificates of a PEM bundle file. */
  const certsIn = (f: string) => pemBlocks(readFileSync(f, "utf8")).map((p) => new X509Certificate(p));
  const keysIn = (f: string) => pemBlocks(readFileSync(f, "utf8"), "PUBLIC KEY").length;

  it("every CA and the service-account key rotated, add → switch → drop (one pulumi up each) with clients of every kind looping: 0 failed requests; then the old CA's client certificates and the old key's tokens are refused", async () => {
    const first3 = cp.controlPlane.filter((n) => n.name !== "cp-4");
    // Kept from before the rotation: admin's client certificate (old CA) and a token signed by the old key.
    const old = makeTempDir("old-admin");
    const adminUser = (parse(readFileSync(adminConf(), "utf8")) as any).users[0].user;
    writeFileSync(join(old, "admin.crt"), Buffer.from(adminUser["client-certificate-data"], "base64"));
    writeFileSync(join(old, "admin.key"), Buffer.from(adminUser["client-key-data"], "base64"), { mode: 0o600 });
    writeFileSync(join(old, "empty.conf"), "apiVersion: v1\nkind: Config\n");
    const oldToken = ok(await kubectl(adminConf(), ["create", "token", "default", "-n", "default", "--duration=1h"])).trim();
    // As the API server sees them: the server verified with what cp-1 trusts now, the old credential presented.
    const asServerSees = (credential: string[]) =>
      kubectl(join(old, "empty.conf"), [
        "--server",
        CPE,
        "--certificate-authority",
        file("cp-1", "etc/kubernetes/pki/ca.crt"),
        ...credential,
        "auth",
        "whoami",
      ]);
    const oldCert = ["--client-certificate", join(old, "admin.crt"), "--client-key", join(old, "admin.key")];
    const tokenWorks = async (token: string) => (await asServerSees(["--token", token])).code === 0;
    const oldCa = new X509Certificate(kubeadmFiles["ca.crt"]!);
    const restartsBefore = restartsLogged();
    const clients = track(await startClients(lab("cp-1"), lab("cp-2"), first3, { tokenRefreshMs: 5_000 }));
    const timings: Record<string, number> = {};
    for (const phase of ["add", "switch", "drop"]) {
      rotation = Object.fromEntries(["ca", "frontProxyCa", "etcdCa", "serviceAccount"].map((k) => [k, { generation: 2, phase }]));
      const start = Date.now();
      await up();
      timings[phase] = (Date.now() - start) / 1000;
      const bundle = certsIn(file("w-1", "etc/kubernetes/pki/ca.crt"));
      const served = new X509Certificate(readFileSync(file("cp-2", "etc/kubernetes/pki/apiserver.crt")));
      if (phase === "add") {
        assert.equal(bundle.length, 2, "add: a worker's ca.crt trusts old and new");
        assert.ok(served.checkIssued(oldCa), "add: leaves are still signed by the old CA");
        assert.equal(keysIn(file("cp-1", "etc/kubernetes/pki/sa.pub")), 2, "add: sa.pub holds both keys");
        for (const c of ["etcd/ca.crt", "front-proxy-ca.crt"])
          assert.equal(certsIn(file("cp-3", `etc/kubernetes/pki/${c}`)).length, 2, `add: ${c} holds both`);
        assert.deepEqual(
          certsIn(file("cp-3", "etc/kubernetes/pki/ca-signer.crt")).map((c) => c.fingerprint256),
          [oldCa.fingerprint256],
          "add: the controller-manager still signs with the old CA alone",
        );
      }
      if (phase === "switch") {
        assert.ok(!served.checkIssued(oldCa) && served.checkIssued(bundle[0]!), "switch: leaves are signed by the new CA, listed first");
        const signer = certsIn(file("cp-3", "etc/kubernetes/pki/ca-signer.crt"));
        assert.ok(
          signer.length === 1 &&
            signer[0]!.fingerprint256 === bundle[0]!.fingerprint256 &&
            signer[0]!.checkPrivateKey(createPrivateKey(readFileSync(file("cp-3", "etc/kubernetes/pki/ca.key")))),
          "switch: ca-signer.crt is the new CA alone, the certificate of ca.key",
        );
        assert.ok(await tokenWorks(oldToken), "switch: a token of the old key still works");
        assert.equal((await asServerSees(oldCert)).code, 0, "switch: the old CA's client certificate still works");
        // The tokens in use are replaced by new-key ones before drop, as the kubelet refreshes a pod's token before it expires.
        await new Promise((r) => setTimeout(r, 8_000));
      }
      if (phase === "drop") {
        assert.equal(bundle.length, 1, "drop: only the new CA is trusted");
        assert.equal(keysIn(file("cp-1", "etc/kubernetes/pki/sa.pub")), 1);
        assert.ok(!bundle[0]!.checkIssued(oldCa) && bundle[0]!.subject === oldCa.subject);
        assert.equal(certsIn(file("cp-1", "etc/kubernetes/pki/etcd/ca.crt")).length, 1);
      }
      // In-cluster clients trust what the nodes trust: the controller-manager publishes ca.crt in every namespace.
      const published = async () =>
        (
          ok(
            await kubectl(adminConf(), ["get", "configmap", "kube-root-ca.crt", "-n", "default", "-o", "jsonpath={.data.ca\\.crt}"]),
          ).match(/BEGIN CERT/g) ?? []
        ).length;
      let inCluster = await published();
      for (let i = 0; i < 60 && inCluster !== bundle.length; i++) {
        await new Promise((r) => setTimeout(r, 500));
        inCluster = await published();
      }
      assert.equal(
        inCluster,
        bundle.length,
        `${phase}: kube-root-ca.crt holds what the nodes trust; restarts ${JSON.stringify(restartsLogged())}; ` +
          `lease ${(await kubectl(adminConf(), ["get", "lease", "-n", "kube-system", "kube-controller-manager", "-o", "jsonpath={.spec.holderIdentity}"])).stdout}\n` +
          first3.map((n) => `${n.name} kube-controller-manager:\n${cp.log(n, "kube-controller-manager")}`).join("\n"),
      );
      console.log(`      ${phase}: ${timings[phase]!.toFixed(1)} s (pulumi up, restarts included)`);
    }
    const stats = await clients.stop();
    console.log(`      clients during the three phases: ${describeCounts(stats)}, ${stats.failures.length} failed`);
    assert.deepEqual(stats.failures, [], "no request failed in any phase");
    const refusedCert = await asServerSees(oldCert);
    assert.notEqual(refusedCert.code, 0, "the old CA's client certificate is refused after drop");
    assert.match(refusedCert.stderr, /Unauthorized/, "refused by the API server (401), not by the client");
    assert.equal(await tokenWorks(oldToken), false, "a token signed by the old service-account key is refused after drop");
    // The controller-manager's controllers (each with its own service-account token) still work after drop.
    ok(await kubectl(adminConf(), ["create", "namespace", "after-rotation"]));
    let sa = "";
    for (let i = 0; i < 60 && !sa; i++) {
      sa = (await kubectl(adminConf(), ["get", "serviceaccount", "default", "-n", "after-rotation", "-o", "name"])).stdout.trim();
      if (!sa) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(sa, "serviceaccount/default", "the service-account controller made the new namespace's default account");
    // The old CA keys are gone from the nodes (and the stack: generation 1 was adopted, only its secret config remains).
    for (const n of first3) {
      const key = readFileSync(file(n.name, "etc/kubernetes/pki/ca.key"), "utf8");
      assert.notEqual(key, kubeadmFiles["ca.key"], `${n.name}: ca.key is the new CA's`);
      assert.ok(
        !readdirSync(join(n.root, "etc/kubernetes/pki")).some((f) => f.includes("kube-pki-prev")),
        `${n.name}: no previous version left`,
      );
    }
    const restarts = restartsLogged();
    console.log(
      `      restarts per control-plane node: ${first3.map((n) => `${n.name} ${restarts[n.name]!.length - restartsBefore[n.name]!.length}`).join(", ")}`,
    );
  });

  it("a fourth control-plane node joins (files by pulumi up, etcd member added, its API server behind the load balancer): 0 failed requests, nothing else restarted", async () => {
    const restartsBefore = restartsLogged();
    const loop = track(clientLoop(adminConf(), file("cp-1", "etc/kubernetes/pki/ca.crt")));
    members = ["cp-1", "cp-2", "cp-3", "cp-4", "w-1"];
    await up();
    const cp4 = lab("cp-4");
    const peers = cp.controlPlane;
    ok(await cp.etcdctl(lab("cp-1"), ["member", "add", "cp-4", `--peer-urls=https://${cp4.address}:2380`]));
    cp.startEtcd(cp4, peers, "existing");
    let healthy = false;
    for (let i = 0; i < 100 && !healthy; i++) {
      healthy = (await cp.etcdctl(cp4, ["endpoint", "health"])).code === 0;
      if (!healthy) await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(healthy, `cp-4 etcd: ${cp.log(cp4, "etcd")}`);
    cp.startApiServer(cp4, SERVICE_SUBNET);
    assert.ok(await cp.waitReady(cp4, 180_000), cp.log(cp4, "kube-apiserver"));
    cp.startControllerManager(cp4, true);
    cp.startScheduler(cp4);
    await registerNode("cp-4", cp4.address);
    await new Promise((r) => setTimeout(r, 3_000)); // haproxy's checks take cp-4 into rotation
    const stats = await loop.stop();
    console.log(`      cp-4 joined: clients ${stats.readyz} readyz + ${stats.kubectl} kubectl requests, ${stats.failures.length} failed`);
    assert.deepEqual(stats.failures, []);
    assert.equal(JSON.parse(ok(await cp.etcdctl(cp4, ["member", "list", "-w", "json"]))).members.length, 4);
    assert.deepEqual(await whoami(file("cp-4", "etc/kubernetes/admin.conf")), {
      username: "kubernetes-admin",
      groups: ["kubeadm:cluster-admins", "system:authenticated"],
    });
    const restarts = restartsLogged();
    for (const n of ["cp-1", "cp-2", "cp-3"]) assert.deepEqual(restarts[n], restartsBefore[n], `${n}: nothing restarted`);
  });
  // The state comes from the real CLI's `pulumi stack export --show-secrets`, with Pulumi's own secret envelope: the
  // loopback tests of test/status.test.ts read the mock runtime's state, so only this block reads a real export.
  describe("npm run status on the real control plane: read-only, each drift reported as what it is", () => {
    let status: { code: number | null; report: any };
    const fileState = (node: string, path: string) =>
      status.report.nodes.find((n: any) => n.node === node).files.find((f: any) => f.path === path)?.state;

    before(async function () {
      // A restart that did not happen: an apiserver SAN added while kube-apiserver's restart command does nothing; the
      // push installs the new certificate, which kube-apiserver reloads by itself, so the health check passes.
      apiServerRestart = "true";
      healthCheckTimeoutSeconds = 10;
      sans.push("status.lab.example.com");
      ws.writeStack("lab", config());
      const r = await ws.up("lab");
      assert.equal(r.code, 0, describeRun(r));
      // A restart that did not happen where the reader does not reload: cp-1's scheduler certificate re-issued while
      // kube-scheduler's restart fails, so its new scheduler.conf is installed (and kept for the next up's retry) and
      // the running scheduler still uses the old one.
      schedulerRestart = "false";
      ws.writeStack("lab", config());
      const cert = (await ws.exportState("lab")).deployment.resources.find(
        (x: any) => x.type === "tls:index/locallySignedCert:LocallySignedCert" && /cp-1/.test(x.urn) && /scheduler/.test(x.urn),
      );
      const failed = await ws.up("lab", ["--replace", cert.urn]);
      assert.notEqual(failed.code, 0, `the failing kube-scheduler restart fails the up: ${describeRun(failed)}`);
      appendFileSync(file("cp-3", "etc/kubernetes/scheduler.conf"), "# edited by hand\n");
      rmSync(file("cp-2", "etc/kubernetes/pki/front-proxy-client.crt"));
      await ssh.stopNode("w-1");
      // The CLI as an operator runs it, the state (with its secrets in plain text) on a pipe, never in a file.
      const state = (await ws.ok(["stack", "export", "--show-secrets", "--stack", "lab"])).stdout;
      const run = spawnSync(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", join(REPO, "scripts/status.ts"), "--state", "-", "-o", "json"],
        {
          cwd: REPO,
          input: state,
          encoding: "utf8",
          env: { ...ws.env, SSH_AUTH_SOCK: agent.sock },
          timeout: 600_000,
          maxBuffer: 1 << 28,
        },
      );
      assert.ok(run.stdout.startsWith("{"), `status printed no report: ${run.stderr}`);
      status = { code: run.status, report: JSON.parse(run.stdout) };
    });

    it("a file changed by hand (cp-3's scheduler.conf) is reported changed", () => {
      assert.equal(fileState("cp-3", "/etc/kubernetes/scheduler.conf"), "changed");
    });

    it("a restart that failed (cp-1's kube-scheduler, after its scheduler.conf was re-issued) is reported not-served", () => {
      assert.equal(fileState("cp-1", "/etc/kubernetes/scheduler.conf"), "not-served");
    });

    it("a removed file (cp-2's front-proxy-client.crt) is reported missing", () => {
      assert.equal(fileState("cp-2", "/etc/kubernetes/pki/front-proxy-client.crt"), "missing");
    });

    // kube-apiserver v1.36 reloads its serving certificate when the file changes (dynamic serving certificates): a
    // skipped restart is not observable on it, and status rightly finds it in sync. "not-served" is shown where a
    // server does not reload (openssl s_server on loopback nodes, test/status.test.ts).
    it("a skipped kube-apiserver restart: v1.36 reloads the new apiserver.crt itself, so status finds file and endpoint in sync", () => {
      const cp1 = status.report.nodes.find((n: any) => n.node === "cp-1");
      assert.deepEqual(
        [fileState("cp-1", "/etc/kubernetes/pki/apiserver.crt"), cp1.endpoints.find((e: any) => e.reader === "kube-apiserver").state],
        ["in-sync", "in-sync"],
      );
    });

    it("the stopped node (w-1's sshd) is reported unreachable, every file of it", () => {
      const w1 = status.report.nodes.find((n: any) => n.node === "w-1");
      assert.deepEqual([!!w1.error, [...new Set(w1.files.map((f: any) => f.state))]], [true, ["unreachable"]]);
    });

    it("etcd serves what the stack delivered (in sync), and the exit code is drift (4) + unreachable (8)", () => {
      const etcd = status.report.nodes.flatMap((n: any) => n.endpoints.filter((e: any) => e.reader === "etcd").map((e: any) => e.state));
      assert.deepEqual([[...new Set(etcd)], status.code], [["in-sync"], 12]);
    });
  });
});
