// Real kubelets (k8s.io/kubernetes/cmd/kubelet v1.36.3) and hollow nodes (cmd/kubemark --morph=kubelet) for the
// TLS-bootstrap test and benchmark: each real kubelet joins with a bootstrap kubeconfig and the cluster CA, as a
// worker provisioned with kube-pki's join material does, in its own network namespace (a node IP cannot be loopback)
// beside its own fake container runtime (toolchain/fakecri). What a kubelet does to the host, and how it is contained:
// - the host sysctls it wants (vm.overcommit_memory, kernel.panic, kernel.panic_on_oops, ...) are global, not per
//   network namespace: `holdKernelTunables` sets them for the test (the kubelet runs with protectKernelDefaults, so it
//   changes nothing itself and stops if they differ) and puts the host's values back on release and at exit;
// - fixed host paths (the device-plugin socket under /var/lib/kubelet, /var/log/containers) and the bind mount of its
//   --root-dir: each kubelet runs in a private mount namespace with a tmpfs on /var/lib and /var/log, so all of it
//   is unmounted by the kernel when the kubelet exits (the namespace dies with its last process);
// - fs.inotify.max_user_instances (128 by default; each kubelet takes several): raised while held, restored after.
// `nsenter --net`, not `ip netns exec`: the latter remounts /sys and loses the host's cgroup mounts cadvisor reads.
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { Daemon, makeTempDir, run, RunResult, startDaemon, stopDaemon } from "../e2e/proc";
import { APPROVER_NAME, APPROVER_USER, approverRbacObjects } from "../../components/model/approverRbac";
import { controllerManagerFlags } from "../../components/model/controlPlaneFlags";
import { API_PORT, ControlPlane, LabNetwork, LabNode } from "./controlPlane";

/** The controller-manager's client rate flags among kube-pki's (what the CSR benchmark contrasts with the defaults). */
export const API_RATE_FLAGS = ["kube-api-qps", "kube-api-burst"];
/** A `workers: bootstrap` cluster at the schema's defaults (bootstrap.tokenHours 168, signingHours 72). */
export const BOOTSTRAP_DEFAULTS = { workers: "bootstrap", bootstrap: { tokenHours: 168, signingHours: 72 } } as const;

/** What the kubelet's container manager wants (pkg/kubelet/cm setupKernelTunables, v1.36.3), plus inotify room. */
const KERNEL_TUNABLES: Record<string, number> = {
  "vm/overcommit_memory": 1,
  "vm/panic_on_oom": 0,
  "kernel/panic": 10,
  "kernel/panic_on_oops": 1,
  "kernel/keys/root_maxkeys": 1_000_000,
  "kernel/keys/root_maxbytes": 25_000_000,
};
const INOTIFY_INSTANCES = "fs/inotify/max_user_instances";

let heldTunables: Record<string, string> | undefined;
const sysctlFile = (key: string) => join("/proc/sys", key);
function restoreTunables(): void {
  if (!heldTunables) return;
  for (const [k, v] of Object.entries(heldTunables)) writeFileSync(sysctlFile(k), v);
  heldTunables = undefined;
}
process.on("exit", restoreTunables);

/** Sets the kubelet's kernel tunables and raises inotify instances; returns the release that restores the host's. */
export function holdKernelTunables(): () => void {
  if (heldTunables) return restoreTunables;
  const keys = [...Object.keys(KERNEL_TUNABLES), INOTIFY_INSTANCES];
  heldTunables = Object.fromEntries(keys.map((k) => [k, readFileSync(sysctlFile(k), "utf8").trim()]));
  for (const [k, v] of Object.entries(KERNEL_TUNABLES)) writeFileSync(sysctlFile(k), String(v));
  writeFileSync(sysctlFile(INOTIFY_INSTANCES), String(Math.max(8192, Number(heldTunables[INOTIFY_INSTANCES]))));
  return restoreTunables;
}

/** A kubeconfig that authenticates with a bootstrap token (what bootstrap-kubelet.conf is). */
export function bootstrapKubeconfig(server: string, caPem: string, token: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "kubernetes", cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } }],
    users: [{ name: "tls-bootstrap-token-user", user: { token } }],
    contexts: [{ name: "tls-bootstrap-token-user@kubernetes", context: { cluster: "kubernetes", user: "tls-bootstrap-token-user" } }],
    "current-context": "tls-bootstrap-token-user@kubernetes",
  });
}

/** Runs a command in a network namespace and a private mount namespace with /var/lib and /var/log its own. */
const nodeNamespaces = (netns: string, cmd: string[]) => [
  "nsenter",
  `--net=/run/netns/${netns}`,
  "unshare",
  "--mount",
  "--propagation",
  "private",
  "sh",
  "-c",
  'mount -t tmpfs -o mode=0755 kubelet-var-lib /var/lib && mount -t tmpfs -o mode=0755 kubelet-var-log /var/log && exec "$@"',
  "kubelet-node",
  ...cmd,
];

export interface KubeletOptions {
  readonly name: string;
  readonly address: string;
  /** The node's network namespace (LabNetwork's `kpki-<name>`). */
  readonly netns: string;
  readonly bootstrapKubeconfig: string;
  readonly caPem: string;
}

/** One real kubelet and its fake runtime; files under `root` (the node's /etc/kubernetes and the kubelet's cert dir). */
export class RealKubelet {
  readonly root = makeTempDir("kubelet");
  private daemons: Daemon[] = [];
  /** ca.crt as the node has it now (a rotation's push replaces it: `setCa`). */
  private ca: string;
  private bootstrap: string;
  constructor(readonly opts: KubeletOptions) {
    this.ca = opts.caPem;
    this.bootstrap = opts.bootstrapKubeconfig;
  }

  readonly path = (f: string) => join(this.root, f);
  /** The kubeconfig the kubelet writes after its bootstrap (client certificate in its cert dir). */
  get kubeconfig(): string {
    return this.path("etc/kubernetes/kubelet.conf");
  }
  get certDir(): string {
    return this.path("var/lib/kubelet/pki");
  }
  get log(): string {
    return this.daemons.map((d) => d.log()).join("\n");
  }

  /**
   * The node's /etc/kubernetes/... paths in a file kube-pki renders (bootstrap-kubelet.conf names ca.crt by path),
   * mapped into this kubelet's directory, as the lab maps the control plane's.
   */
  onNode(text: string): string {
    return text.replaceAll("/etc/kubernetes/", `${this.path("etc/kubernetes")}/`);
  }

  /** Starts the runtime and the kubelet; `bootstrap` replaces the bootstrap kubeconfig (a new token's). */
  start(bootstrap = this.bootstrap): void {
    const { name, address, netns } = this.opts;
    this.bootstrap = bootstrap;
    for (const d of ["etc/kubernetes/pki", "var/lib/kubelet/pki", "run"]) mkdirSync(this.path(d), { recursive: true });
    writeFileSync(this.path("etc/kubernetes/bootstrap-kubelet.conf"), bootstrap, { mode: 0o600 });
    this.setCa(this.ca);
    const socket = this.path("run/fakecri.sock");
    writeFileSync(
      this.path("config.yaml"),
      stringify({
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        address,
        port: 10250,
        readOnlyPort: 0,
        healthzBindAddress: address,
        authentication: {
          anonymous: { enabled: false },
          webhook: { enabled: true },
          x509: { clientCAFile: this.path("etc/kubernetes/pki/ca.crt") },
        },
        authorization: { mode: "Webhook" },
        rotateCertificates: true,
        serverTLSBootstrap: true,
        cgroupsPerQOS: false,
        enforceNodeAllocatable: [],
        failSwapOn: false,
        failCgroupV1: false,
        cgroupDriver: "cgroupfs",
        protectKernelDefaults: true,
        containerRuntimeEndpoint: `unix://${socket}`,
        imageServiceEndpoint: `unix://${socket}`,
        podLogsDir: this.path("var/log/pods"),
        resolvConf: "",
        staticPodPath: "",
        localStorageCapacityIsolation: false,
        nodeStatusUpdateFrequency: "2s",
      }),
    );
    const fakecri = startDaemon(`fakecri@${name}`, "fakecri", [socket], this.path("run/fakecri.log"), { maxLifetimeMs: 3_600_000 });
    const [cmd, ...args] = nodeNamespaces(netns, [
      "kubelet",
      `--config=${this.path("config.yaml")}`,
      `--bootstrap-kubeconfig=${this.path("etc/kubernetes/bootstrap-kubelet.conf")}`,
      `--kubeconfig=${this.kubeconfig}`,
      `--cert-dir=${this.certDir}`,
      "--root-dir=/var/lib/kubelet",
      `--hostname-override=${name}`,
      `--node-ip=${address}`,
      "--v=2",
    ]);
    const kubelet = startDaemon(`kubelet@${name}`, cmd!, args, this.path("run/kubelet.log"), { maxLifetimeMs: 3_600_000 });
    this.daemons.push(fakecri, kubelet);
  }

  /** The kubelet's current certificate in its cert dir (client or serving), once it has one. */
  current(kind: "client" | "server"): string | undefined {
    const f = join(this.certDir, `kubelet-${kind}-current.pem`);
    return existsSync(f) ? readFileSync(f, "utf8") : undefined;
  }

  /** Replaces ca.crt as kube-pki's node program does: a new file renamed over the old one (no restart). */
  setCa(pem: string): void {
    this.ca = pem;
    const f = this.path("etc/kubernetes/pki/ca.crt");
    writeFileSync(`${f}.new`, pem, { mode: 0o644 });
    renameSync(`${f}.new`, f);
  }

  async stop(): Promise<void> {
    await Promise.all(this.daemons.reverse().map((d) => stopDaemon(d, 5_000)));
    this.daemons = [];
  }

  /** `systemctl restart kubelet`: the same files, the same cert dir; a new process. */
  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }
}

/** Waits for `check` to return a value (not undefined), polling; throws with `what()` at the deadline. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s: ${what()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A bootstrap token `<id>.<secret>` in the token format (kubeadm's and kube-pki's: [a-z0-9]{6}.[a-z0-9]{16}). */
export function newBootstrapToken(): { id: string; secret: string; token: string } {
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  const pick = (n: number) => [...randomBytes(n)].map((b) => chars[b % chars.length]).join("");
  const id = pick(6);
  const secret = pick(16);
  return { id, secret, token: `${id}.${secret}` };
}

/**
 * One control-plane node as `kubeadm init` makes it (certs, kubeconfigs, etcd, kube-apiserver with
 * --kubelet-certificate-authority, the kubeadm:cluster-admins binding, kube-controller-manager signing with ca.key,
 * then `kubeadm init phase bootstrap-token`: kubeadm's own bootstrap RBAC, cluster-info and one bootstrap token),
 * its API server at its own address: the workers' TLS bootstrap needs nothing more. `nodes` are the lab's other
 * (worker) namespaces.
 */
export class KubeadmControlPlane {
  private approver?: Daemon;
  private constructor(
    readonly network: LabNetwork,
    readonly cp: ControlPlane,
    readonly node: LabNode,
    readonly token: string,
  ) {}

  /**
   * `rate`: "kube-pki" runs the controller-manager with the flags kube-pki's config sets for `workers: bootstrap`
   * (components/model/controlPlaneFlags.ts); "defaults" the same without its API rate flags, for contrast.
   */
  static async start(
    workers: readonly { name: string; address: string }[],
    rate: "kube-pki" | "defaults" = "kube-pki",
  ): Promise<KubeadmControlPlane> {
    const self = { name: "cp-1", address: "10.88.0.11" };
    const network = LabNetwork.create([self, ...workers]);
    const node: LabNode = { ...self, role: "control-plane", root: makeTempDir("cp-1") };
    const cp = new ControlPlane([node], "kubernetes", network);
    const token = newBootstrapToken().token;
    const cfg = join(node.root, "kubeadm.yaml");
    writeFileSync(
      cfg,
      [
        {
          apiVersion: "kubeadm.k8s.io/v1beta4",
          kind: "InitConfiguration",
          localAPIEndpoint: { advertiseAddress: node.address, bindPort: API_PORT },
          nodeRegistration: { name: node.name },
          bootstrapTokens: [
            { token, ttl: "2h", usages: ["signing", "authentication"], groups: ["system:bootstrappers:kubeadm:default-node-token"] },
          ],
        },
        {
          apiVersion: "kubeadm.k8s.io/v1beta4",
          kind: "ClusterConfiguration",
          kubernetesVersion: "v1.36.3",
          clusterName: "kubernetes",
          controlPlaneEndpoint: `${node.address}:${API_PORT}`,
          certificatesDir: "/etc/kubernetes/pki",
          networking: { serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local" },
        },
      ]
        .map((d) => stringify(d))
        .join("---\n"),
      { mode: 0o600 },
    );
    const kubeadm = async (args: string[]) => must(await run("kubeadm", args, { timeoutMs: 120_000 }));
    await kubeadm(["--rootfs", node.root, "init", "phase", "certs", "all", "--config", "/kubeadm.yaml"]);
    await kubeadm(["--rootfs", node.root, "init", "phase", "kubeconfig", "all", "--config", "/kubeadm.yaml"]);
    cp.startEtcd(node, [node]);
    await waitFor(
      async () => ((await cp.etcdctl(node, ["endpoint", "health"])).code === 0 ? true : undefined),
      60_000,
      () => cp.log(node, "etcd"),
    );
    cp.startApiServer(node, "10.96.0.0/12");
    if (!(await cp.waitReady(node, 180_000))) throw new Error(`kube-apiserver:\n${cp.log(node, "kube-apiserver")}`);
    const lab = new KubeadmControlPlane(network, cp, node, token);
    must(
      await lab.kubectl(
        ["create", "clusterrolebinding", "kubeadm:cluster-admins", "--clusterrole=cluster-admin", "--group=kubeadm:cluster-admins"],
        "super-admin.conf",
      ),
    );
    // kube-pki signs with ca-signer.crt (the CA's own certificate; ca.crt can be a bundle): kubeadm's single CA is it.
    copyFileSync(join(node.root, "etc/kubernetes/pki/ca.crt"), join(node.root, "etc/kubernetes/pki/ca-signer.crt"));
    const flags = controllerManagerFlags(BOOTSTRAP_DEFAULTS).filter((f) => rate === "kube-pki" || !API_RATE_FLAGS.includes(f.name));
    cp.startControllerManager(node, flags);
    await kubeadm(["init", "phase", "bootstrap-token", "--config", cfg, "--kubeconfig", lab.conf("super-admin.conf")]);
    return lab;
  }

  conf(f = "admin.conf"): string {
    return join(this.node.root, "etc/kubernetes", f);
  }
  get server(): string {
    return `https://${this.node.address}:${API_PORT}`;
  }
  get caPem(): string {
    return readFileSync(join(this.node.root, "etc/kubernetes/pki/ca.crt"), "utf8");
  }
  kubectl(args: string[], conf = "admin.conf", input?: string): Promise<RunResult> {
    return run("kubectl", ["--kubeconfig", this.conf(conf), ...args], { timeoutMs: 30_000, input });
  }
  /**
   * kube-pki's approver (approver/) in the node's network namespace as user kube-pki:csr-approver, with the RBAC of
   * approverRbacObjects(); its kubeconfig made by `kubeadm kubeconfig user` from the node's CA, as any user's is.
   */
  async startApprover(): Promise<void> {
    const conf = this.conf(`${APPROVER_NAME}.conf`);
    if (!existsSync(conf)) {
      const user = ["--rootfs", this.node.root, "kubeconfig", "user", "--client-name", APPROVER_USER, "--config", "/kubeadm.yaml"];
      writeFileSync(conf, must(await run("kubeadm", user, { timeoutMs: 60_000 })), { mode: 0o600 });
    }
    const rbac = JSON.stringify({ apiVersion: "v1", kind: "List", items: approverRbacObjects() });
    must(await this.kubectl(["apply", "-f", "-"], "admin.conf", rbac));
    const [cmd, ...prefix] = this.network.exec(this.node.name);
    this.approver = startDaemon(
      APPROVER_NAME,
      cmd!,
      [...prefix, "kube-pki-csr-approver", `--kubeconfig=${conf}`],
      join(this.node.root, "approver.log"),
      { maxLifetimeMs: 3_600_000 },
    );
  }
  approverLog(): string {
    return this.approver?.log() ?? "(approver not running)";
  }
  get approverRunning(): boolean {
    return this.approver !== undefined;
  }
  async stopApprover(): Promise<void> {
    if (this.approver) await stopDaemon(this.approver, 10_000);
    this.approver = undefined;
  }

  /**
   * Restarts a supervised component as the lab's restart commands do (its process stopped, the supervisor starts it
   * again with the files now on the node); kube-apiserver must be ready again.
   */
  async restartComponent(component: "kube-apiserver" | "kube-controller-manager"): Promise<void> {
    const pidFile = join(this.node.root, "run", `${component}.pid`);
    const pid = readFileSync(pidFile, "utf8").trim();
    const alive = () => {
      try {
        process.kill(Number(pid), 0);
        return true;
      } catch {
        return false;
      }
    };
    // As `crictl stop` does: SIGTERM, and SIGKILL after a grace period (a loaded machine's shutdown can hang).
    process.kill(Number(pid), "SIGTERM");
    const deadline = Date.now() + 20_000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive()) process.kill(Number(pid), "SIGKILL");
    await waitFor(
      () => (existsSync(pidFile) && readFileSync(pidFile, "utf8").trim() !== pid ? true : undefined),
      60_000,
      () => `${component} started again:\n${this.cp.log(this.node, component)}`,
    );
    if (component === "kube-apiserver" && !(await this.cp.waitReady(this.node, 120_000))) {
      throw new Error(`kube-apiserver:\n${this.cp.log(this.node, component)}`);
    }
  }

  async stop(): Promise<void> {
    await this.stopApprover();
    await this.cp.stop();
    this.network.destroy();
  }
}

export function must(r: RunResult): string {
  if (r.code !== 0) throw new Error(`${r.command}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}
