// A real Kubernetes control plane on one machine, run from the files kube-pki delivered to each node: every node is
// an address on lo (10.88.0.x: kubeadm refuses loopback advertise addresses) with an sshd (test/support-sshd.ts) and
// a directory standing for its filesystem; each control-plane node runs etcd, kube-apiserver, kube-controller-manager
// and kube-scheduler (the toolchain's v1.36.3 and etcd 3.6) with the flags of kubeadm's static-pod manifests, paths
// mapped into the node's directory; haproxy (TCP, /readyz health checks) is the controlPlaneEndpoint. Each component
// runs under a small supervisor that starts it again when it exits, as the kubelet does with a static pod, so a
// restart command that stops the node's process is a real restart. Every process runs in its own process group and
// is killed as a group by `stop()` and at exit.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Daemon, makeTempDir, run, RunResult, startDaemon, stopDaemon, tail } from "../e2e/proc";
import { Flag, flagArgs } from "../../components/model/controlPlaneFlags";
import { KUBERNETES_DIR, PKI_DIR } from "../../components/model/names";

export const ENDPOINT = "10.88.0.10";
export const API_PORT = 6443;

export interface LabNode {
  readonly name: string;
  readonly role: "control-plane" | "worker";
  readonly address: string;
  /** The node's filesystem root (where kube-pki delivered its files). */
  readonly root: string;
}

/**
 * The lab's network: one network namespace per node (`kpki-<node>`, its address on eth0, a veth to a bridge), so that
 * every node has its own address as a real host has: connections leave from the node's own address (etcd checks a
 * peer certificate's IP SANs against it). The bridge `kpki0` in the root namespace carries 10.88.0.1 and the
 * controlPlaneEndpoint, where the load balancer and the tests run. Needs root (CI runs as root).
 */
export class LabNetwork {
  private constructor(readonly nodes: readonly { name: string; address: string }[]) {}

  static create(nodes: readonly { name: string; address: string }[]): LabNetwork {
    const ip = (...args: string[]) => {
      try {
        execFileSync("ip", args, { stdio: "pipe" });
      } catch (e: any) {
        throw new Error(`ip ${args.join(" ")}: ${String(e.stderr).trim()} (the control-plane tests need root, as CI runs them)`, {
          cause: e,
        });
      }
    };
    LabNetwork.remove(nodes);
    ip("link", "add", BRIDGE, "type", "bridge");
    ip("addr", "add", "10.88.0.1/24", "dev", BRIDGE);
    ip("addr", "add", `${ENDPOINT}/24`, "dev", BRIDGE);
    ip("link", "set", BRIDGE, "up");
    for (const n of nodes) {
      const ns = netnsOf(n.name);
      ip("netns", "add", ns);
      ip("link", "add", vethOf(n.name), "type", "veth", "peer", "name", "eth0", "netns", ns);
      ip("link", "set", vethOf(n.name), "master", BRIDGE, "up");
      ip("-n", ns, "addr", "add", `${n.address}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "route", "add", "default", "via", "10.88.0.1");
    }
    const net = new LabNetwork(nodes);
    networks.add(net);
    return net;
  }

  /** The command prefix that runs a program on a node. */
  exec(node: string): string[] {
    return ["ip", "netns", "exec", netnsOf(node)];
  }

  destroy(): void {
    LabNetwork.remove(this.nodes);
    networks.delete(this);
  }

  private static remove(nodes: readonly { name: string }[]): void {
    const quiet = (...args: string[]) => {
      try {
        execFileSync("ip", args, { stdio: "ignore" });
      } catch {
        /* not there */
      }
    };
    for (const n of nodes) {
      quiet("netns", "del", netnsOf(n.name));
      quiet("link", "del", vethOf(n.name));
    }
    quiet("link", "del", BRIDGE);
  }
}
const BRIDGE = "kpki0";
const netnsOf = (node: string) => `kpki-${node}`;
const vethOf = (node: string) => `kv-${node}`.slice(0, 15);
const networks = new Set<LabNetwork>();
process.on("exit", () => {
  for (const n of networks) n.destroy();
});

/**
 * The restart command kube-pki runs over SSH on a node after a file `reader` reads changed (delivery.restart): stop the
 * node's process (its supervisor starts it again with the new files). For kube-apiserver it first drains the node in
 * the load balancer (haproxy's admin socket: no new connection goes there), and after the restart waits until the
 * server is ready before it puts the node back, so clients never reach a server that is shutting down (whose /readyz
 * already fails) and the next node restarts only then: what an operator's restart command does in front of any load
 * balancer. It logs each restart (`restart`, old process `exited`, new one `ready`) to <root>/run/restarts.log.
 * Before the first start (the first push) there is no process: nothing to do.
 */
export function restartCommand(reader: string, lbSocket: string): string {
  const lb = (state: string) =>
    `echo "set server apiservers/$NODE_NAME state ${state}" | socat stdio "unix-connect:${lbSocket}" >/dev/null`;
  // The node's API server reads only its local etcd (as kubeadm's manifest has it): an etcd restart takes that API
  // server out of service as well, so both drain the node at the load balancer until its /readyz answers again.
  const drains = reader === "kube-apiserver" || reader === "etcd";
  const before = drains ? `${lb("drain")}; sleep 1; ` : "";
  const after = drains
    ? `i=0; until curl -sfk --max-time 1 "https://$NODE_ADDR:${API_PORT}/readyz" >/dev/null; do i=$((i + 1)); [ $i -lt 1200 ] || exit 1; sleep 0.1; done; ${lb("ready")}; sleep 1`
    : "true";
  const log = (event: string) => `echo "$(date +%s.%N) ${reader} ${event}" >> "$NODE_ROOT/run/restarts.log"`;
  return (
    `p="$NODE_ROOT/run/${reader}.pid"; if [ -f "$p" ] && kill -0 "$(cat "$p")" 2>/dev/null; then ` +
    `${log("restart")}; ${before}kill -TERM "$(cat "$p")"; ` +
    `while kill -0 "$(cat "$p")" 2>/dev/null; do sleep 0.05; done; ${log("exited")}; ${after}; ${log("ready")}; fi`
  );
}

const SUPERVISOR = `#!/bin/sh
# supervise <pidfile> <logfile> <command...>: runs the command and starts it again 0.3 s after it exits.
pidfile=$1; log=$2; shift 2
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT
while :; do
  "$@" >>"$log" 2>&1 &
  child=$!; echo "$child" > "$pidfile"
  wait "$child"
  sleep 0.3
done
`;

export class ControlPlane {
  private readonly daemons: Daemon[] = [];
  private readonly supervisor: string;

  constructor(
    readonly nodes: LabNode[],
    readonly clusterName: string,
    private readonly network: LabNetwork,
  ) {
    const dir = makeTempDir("control-plane");
    this.supervisor = join(dir, "supervise");
    writeFileSync(this.supervisor, SUPERVISOR, { mode: 0o755 });
  }

  get controlPlane(): LabNode[] {
    return this.nodes.filter((n) => n.role === "control-plane");
  }

  node(name: string): LabNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  private start(node: LabNode, component: string, args: string[]): Daemon {
    mkdirSync(join(node.root, "run"), { recursive: true });
    const log = join(node.root, "run", `${component}.log`);
    const [ipCmd, ...prefix] = this.network.exec(node.name);
    const d = startDaemon(
      `${component}@${node.name}`,
      ipCmd!,
      [...prefix, this.supervisor, join(node.root, "run", `${component}.pid`), log, ...args],
      join(node.root, "run", `${component}.supervisor.log`),
      { maxLifetimeMs: 3_600_000 },
    );
    this.daemons.push(d);
    return d;
  }

  /** Stops a component on a node (its supervisor and the process), as removing its static-pod manifest does. */
  async stopComponent(node: LabNode, component: string): Promise<void> {
    const i = this.daemons.findIndex((d) => d.name === `${component}@${node.name}`);
    if (i < 0) throw new Error(`${component} is not running on ${node.name}`);
    await stopDaemon(this.daemons[i]!, 10_000);
    this.daemons.splice(i, 1);
  }

  /** Reads a component's log, for failure messages. */
  log(node: LabNode, component: string): string {
    const f = join(node.root, "run", `${component}.log`);
    return existsSync(f) ? tail(readFileSync(f, "utf8"), 40) : "(no log)";
  }

  private pki = (n: LabNode, f: string) => join(n.root, "etc/kubernetes/pki", f);
  private conf = (n: LabNode, f: string) => join(n.root, "etc/kubernetes", f);

  /** etcd as kubeadm's stacked-etcd manifest runs it (one host: its own address for client, peer and metrics). */
  startEtcd(node: LabNode, members: readonly LabNode[], state: "new" | "existing" = "new"): Daemon {
    const ip = node.address;
    return this.start(node, "etcd", [
      "etcd",
      `--name=${node.name}`,
      `--data-dir=${join(node.root, "var/lib/etcd")}`,
      `--advertise-client-urls=https://${ip}:2379`,
      `--listen-client-urls=https://${ip}:2379`,
      `--initial-advertise-peer-urls=https://${ip}:2380`,
      `--listen-peer-urls=https://${ip}:2380`,
      `--listen-metrics-urls=http://${ip}:2381`,
      `--initial-cluster=${members.map((m) => `${m.name}=https://${m.address}:2380`).join(",")}`,
      `--initial-cluster-state=${state}`,
      `--cert-file=${this.pki(node, "etcd/server.crt")}`,
      `--key-file=${this.pki(node, "etcd/server.key")}`,
      `--client-cert-auth=true`,
      `--trusted-ca-file=${this.pki(node, "etcd/ca.crt")}`,
      `--peer-cert-file=${this.pki(node, "etcd/peer.crt")}`,
      `--peer-key-file=${this.pki(node, "etcd/peer.key")}`,
      `--peer-client-cert-auth=true`,
      `--peer-trusted-ca-file=${this.pki(node, "etcd/ca.crt")}`,
      "--snapshot-count=10000",
      "--feature-gates=InitialCorruptCheck=true",
      "--unsafe-no-fsync",
    ]);
  }

  /** etcdctl against the node's etcd with its healthcheck client (what kubeadm's etcd probe identity is for). */
  etcdctl(node: LabNode, args: string[]): Promise<RunResult> {
    return run("etcdctl", [
      `--endpoints=https://${node.address}:2379`,
      `--cacert=${this.pki(node, "etcd/ca.crt")}`,
      `--cert=${this.pki(node, "etcd/healthcheck-client.crt")}`,
      `--key=${this.pki(node, "etcd/healthcheck-client.key")}`,
      ...args,
    ]);
  }

  /**
   * kube-apiserver with kubeadm's manifest flags, plus --kubelet-certificate-authority (the API server verifies
   * kubelet serving certificates: kube-pki issues them), --bind-address (three servers share the host) and a
   * shutdown delay, so that /readyz fails for 2 s before it stops and the load balancer drains it first.
   */
  startApiServer(node: LabNode, serviceSubnet: string): Daemon {
    const ip = node.address;
    return this.start(node, "kube-apiserver", [
      "kube-apiserver",
      `--advertise-address=${ip}`,
      `--bind-address=${ip}`,
      `--secure-port=${API_PORT}`,
      "--allow-privileged=true",
      "--authorization-mode=Node,RBAC",
      `--client-ca-file=${this.pki(node, "ca.crt")}`,
      "--enable-admission-plugins=NodeRestriction",
      "--enable-bootstrap-token-auth=true",
      `--etcd-cafile=${this.pki(node, "etcd/ca.crt")}`,
      `--etcd-certfile=${this.pki(node, "apiserver-etcd-client.crt")}`,
      `--etcd-keyfile=${this.pki(node, "apiserver-etcd-client.key")}`,
      `--etcd-servers=https://${ip}:2379`,
      `--kubelet-client-certificate=${this.pki(node, "apiserver-kubelet-client.crt")}`,
      `--kubelet-client-key=${this.pki(node, "apiserver-kubelet-client.key")}`,
      `--kubelet-certificate-authority=${this.pki(node, "ca.crt")}`,
      "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
      `--proxy-client-cert-file=${this.pki(node, "front-proxy-client.crt")}`,
      `--proxy-client-key-file=${this.pki(node, "front-proxy-client.key")}`,
      "--requestheader-allowed-names=front-proxy-client",
      `--requestheader-client-ca-file=${this.pki(node, "front-proxy-ca.crt")}`,
      "--requestheader-extra-headers-prefix=X-Remote-Extra-",
      "--requestheader-group-headers=X-Remote-Group",
      "--requestheader-username-headers=X-Remote-User",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${this.pki(node, "sa.pub")}`,
      `--service-account-signing-key-file=${this.pki(node, "sa.key")}`,
      `--service-cluster-ip-range=${serviceSubnet}`,
      `--tls-cert-file=${this.pki(node, "apiserver.crt")}`,
      `--tls-private-key-file=${this.pki(node, "apiserver.key")}`,
      "--shutdown-delay-duration=2s",
      "--profiling=false",
    ]);
  }

  /**
   * kube-controller-manager with kubeadm's flags (its own address, not 127.0.0.1: several share the host). `signing`:
   * true signs with `signingCert` (kubeadm's manifest: ca.crt; kube-pki's `ca-signer.crt` once ca.crt may hold a
   * rotation's bundle, README "Rotating a CA"), false signs nothing (caKeys: none: the CA key is on no node), and a
   * list of flags is what kube-pki's config implies (components/model/controlPlaneFlags.ts, a bootstrap cluster's
   * signing, controllers and API rate), in place of kubeadm's, their node paths mapped into the node's directory.
   */
  startControllerManager(node: LabNode, signing: boolean | readonly Flag[], signingCert = "ca.crt"): Daemon {
    const kubeadmSigning: readonly Flag[] = signing
      ? [
          { name: "cluster-signing-cert-file", value: `${PKI_DIR}/${signingCert}` },
          { name: "cluster-signing-key-file", value: `${PKI_DIR}/ca.key` },
        ]
      : [];
    const flags = Array.isArray(signing) ? signing : [...kubeadmSigning, { name: "controllers", value: "*,bootstrapsigner,tokencleaner" }];
    const onNode = (f: Flag) => (f.value.startsWith(`${KUBERNETES_DIR}/`) ? { ...f, value: join(node.root, f.value) } : f);
    return this.start(node, "kube-controller-manager", [
      "kube-controller-manager",
      `--bind-address=${node.address}`,
      `--authentication-kubeconfig=${this.conf(node, "controller-manager.conf")}`,
      `--authorization-kubeconfig=${this.conf(node, "controller-manager.conf")}`,
      `--kubeconfig=${this.conf(node, "controller-manager.conf")}`,
      `--client-ca-file=${this.pki(node, "ca.crt")}`,
      `--cluster-name=${this.clusterName}`,
      ...flagArgs(flags.map(onNode)),
      "--leader-elect=true",
      `--requestheader-client-ca-file=${this.pki(node, "front-proxy-ca.crt")}`,
      `--root-ca-file=${this.pki(node, "ca.crt")}`,
      `--service-account-private-key-file=${this.pki(node, "sa.key")}`,
      "--use-service-account-credentials=true",
    ]);
  }

  startScheduler(node: LabNode): Daemon {
    return this.start(node, "kube-scheduler", [
      "kube-scheduler",
      `--bind-address=${node.address}`,
      `--authentication-kubeconfig=${this.conf(node, "scheduler.conf")}`,
      `--authorization-kubeconfig=${this.conf(node, "scheduler.conf")}`,
      `--kubeconfig=${this.conf(node, "scheduler.conf")}`,
      "--leader-elect=true",
    ]);
  }

  /**
   * haproxy in TCP mode on the endpoint, every control-plane address (also ones not running yet) a checked backend,
   * with an admin socket at `socket` for draining a node during its restart.
   */
  /**
   * Starts haproxy in front of the API servers and returns once a request through it reaches a ready API server:
   * haproxy binds its frontend a moment after it starts and marks a backend up only after two checks, so a client
   * sent at once can meet a refused connection (seen in CI: the admin.conf check failed on "connection refused").
   */
  async startLoadBalancer(backends: readonly LabNode[], socket: string, timeoutMs = 30_000): Promise<Daemon> {
    const dir = makeTempDir("haproxy");
    const cfg = join(dir, "haproxy.cfg");
    writeFileSync(
      cfg,
      [
        "global",
        "  maxconn 2000",
        `  stats socket ${socket} mode 600 level admin`,
        "defaults",
        "  mode tcp",
        "  timeout connect 2s",
        "  timeout client 60s",
        "  timeout server 60s",
        "  retries 3",
        "  option redispatch",
        `frontend apiserver`,
        `  bind ${ENDPOINT}:${API_PORT}`,
        "  default_backend apiservers",
        "backend apiservers",
        "  balance roundrobin",
        "  option httpchk GET /readyz",
        "  http-check expect status 200",
        ...backends.map((b) => `  server ${b.name} ${b.address}:${API_PORT} check check-ssl verify none inter 250 fall 1 rise 2`),
        "",
      ].join("\n"),
    );
    execFileSync("haproxy", ["-c", "-f", cfg], { stdio: "pipe" });
    const log = join(dir, "haproxy.log");
    const d = startDaemon("haproxy", "haproxy", ["-db", "-f", cfg], log, { maxLifetimeMs: 3_600_000 });
    this.daemons.push(d);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await run("curl", ["-sfk", "--max-time", "1", `https://${ENDPOINT}:${API_PORT}/readyz`], { timeoutMs: 3_000 });
      if (r.code === 0) return d;
      if (Date.now() > deadline)
        throw new Error(
          `haproxy: no ready API server through ${ENDPOINT}:${API_PORT}:\n${existsSync(log) ? tail(readFileSync(log, "utf8")) : ""}`,
        );
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  /** Waits until the node's API server answers /readyz (anonymous, as a load balancer probes it). */
  async waitReady(node: LabNode, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const r = await run("curl", ["-sfk", "--max-time", "1", `https://${node.address}:${API_PORT}/readyz`], { timeoutMs: 3_000 });
      if (r.code === 0) return true;
      await new Promise((res) => setTimeout(res, 200));
    }
    return false;
  }

  async stop(): Promise<void> {
    await Promise.all(this.daemons.map((d) => stopDaemon(d, 5_000)));
  }
}
