// A loopback "cluster" of real OpenSSH servers for the SSH delivery tests and benchmark: one sshd per node, each on
// its own loopback address with its own host key, one shared client key authorized for root, and per node a
// directory standing for the node's filesystem root (nodes[].ssh.root). It also provides the emulated readers:
// restart commands that (re)start real TLS servers (`openssl s_server`) on the node's address with the node's
// delivered certificates, so the health check of the install really connects and compares fingerprints.
//
// Everything is bounded and torn down by `stop()`, which the tests call from `after` hooks. If a hook never runs, an
// `exit` handler (also reached on SIGINT/SIGTERM) kills what is left and removes the temp dir; sshd runs under
// `setpriv --pdeathsig KILL`, so the kernel stops it should this process die without handlers; the emulated servers
// end by themselves after 15 minutes. Only processes started here are killed, by pid, never by name.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tryConnect } from "./e2e/proc";
import { fiveLoopbackNodes } from "./support-nodes";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SshNodeSpec {
  readonly name: string;
  readonly role: "control-plane" | "worker";
  /** Loopback address the node's sshd (and its emulated servers) listen on. */
  readonly address: string;
}

/** The brief's topology: three control-plane nodes at 127.0.0.11-13, two workers at 127.0.0.21-22. */
export const DEFAULT_NODES: readonly SshNodeSpec[] = fiveLoopbackNodes("127.0.0");

export interface SshNode extends SshNodeSpec {
  readonly port: number;
  /** `ssh-ed25519 AAAA…` (no comment): what nodes[].ssh.hostKey pins. */
  readonly hostKey: string;
  /** The node's filesystem root, `<tmp>/<node>` (nodes[].ssh.root). */
  readonly root: string;
  /** sshd's log (LogLevel VERBOSE), outside the node root. */
  readonly logFile: string;
}

export interface SshClusterOptions {
  readonly nodes?: readonly SshNodeSpec[];
  /** sshd port on every address (default 2222). */
  readonly port?: number;
  /** Port of the emulated kube-apiserver (the cluster's apiServer.bindPort; default 16443, unprivileged). */
  readonly apiServerPort?: number;
  /** Label in the temp dir name. */
  readonly label?: string;
  /** Type of every node's host key (default ed25519). */
  readonly hostKeyType?: "ed25519" | "ecdsa" | "rsa";
  /** Command prefix that runs a node's sshd where the node lives, e.g. `ip netns exec <ns>` (default: none). */
  readonly wrap?: (node: SshNodeSpec) => readonly string[];
}

/**
 * What an emulated restart does (see `fakeReaderScript`): really restart; log only, on every node (`stale`); or
 * log only on one node (`stale-on-<node>`), the others restarting — the restart command is one string per cluster.
 */
export type FakeReaderMode = "restart" | "stale" | `stale-on-${string}`;

export interface RestartLogEntry {
  readonly node: string;
  readonly reader: string;
  readonly event: "start" | "end";
  /** start: the mode asked for; end: `restarted` or `unchanged`. */
  readonly mode: string;
  /** Seconds since the epoch, with nanoseconds (date +%s.%N on the node). */
  readonly time: number;
}

/** Tail of a text, for failure messages. */
const tail = (text: string, lines = 20) => text.trim().split("\n").slice(-lines).join("\n");

// ---- the emulated readers ----------------------------------------------------------------------------------------

/**
 * The program behind every emulated restart command, run on the node by the restart resource over SSH. It finds its
 * node through variables its sshd sets for every session (SetEnv: NODE_NAME, NODE_ROOT, NODE_ADDR), since the
 * restart command string is the same for every node of the cluster. It logs `<time> start|end <reader> <mode>` to
 * <root>/emu/restarts.log, and for the readers that serve a certificate (kube-apiserver, etcd, kubelet) replaces the
 * running `openssl s_server` with one serving the node's current files, on the port the health check probes; etcd's
 * servers require a client certificate from the etcd CA, as etcd does. Mode `stale` (or `stale-on-<node>`) logs but
 * restarts nothing (a restart that silently does not happen: the health check must notice). Only pids it wrote
 * itself are killed, and only if they still are an s_server.
 */
function fakeReaderScript(apiServerPort: number): string {
  return `set -eu
reader=$1; mode=\${2:-restart}
root=\${NODE_ROOT:?}; addr=\${NODE_ADDR:?}
emu=$root/emu; pki=$root/etc/kubernetes/pki
mkdir -p "$emu"
echo "$(date +%s.%N) start $reader $mode" >> "$emu/restarts.log"
alive() { st=$(sed "s/.*) //" "/proc/$1/stat" 2>/dev/null | cut -c1); [ -n "$st" ] && [ "$st" != Z ]; }
serve() { # serve <name> <port> <cert> <key> [<client CA>]
  name=$1; port=$2; cert=$3; key=$4; ca=\${5:-}
  pidf=$emu/$name.pid
  if [ -f "$pidf" ]; then
    old=$(cat "$pidf")
    if grep -q s_server "/proc/$old/cmdline" 2>/dev/null; then
      kill -TERM "-$old" 2>/dev/null || true  # its process group (timeout and s_server); dash has no "--"
      i=0; while alive "$old" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    fi
  fi
  set -- -accept "$addr:$port" -cert "$cert" -key "$key" -www -quiet
  probe=""
  if [ -n "$ca" ]; then
    set -- "$@" -Verify 1 -CAfile "$ca"
    probe="-cert $pki/etcd/healthcheck-client.crt -key $pki/etcd/healthcheck-client.key"
  fi
  # Detached from the SSH session (own session, no inherited descriptors) so the restart command can return;
  # timeout bounds its life should nobody stop it.
  setsid timeout 900 openssl s_server "$@" </dev/null >>"$emu/$name.log" 2>&1 &
  echo $! > "$pidf"
  # Ready when a handshake succeeds (at most 5 s): the health check then passes on its first probe.
  i=0
  until openssl s_client -connect "$addr:$port" $probe </dev/null >/dev/null 2>&1; do
    i=$((i + 1)); if [ $i -ge 100 ]; then echo "fake-reader: $name not listening on $addr:$port" >&2; exit 1; fi
    sleep 0.05
  done
}
case $mode in
  stale) act=no ;;
  stale-on-*) if [ "\${mode#stale-on-}" = "\${NODE_NAME:-}" ]; then act=no; else act=yes; fi ;;
  *) act=yes ;;
esac
if [ $act = yes ]; then
  case $reader in
  kube-apiserver) serve apiserver ${apiServerPort} "$pki/apiserver.crt" "$pki/apiserver.key" ;;
  etcd)
    serve etcd-server 2379 "$pki/etcd/server.crt" "$pki/etcd/server.key" "$pki/etcd/ca.crt"
    serve etcd-peer 2380 "$pki/etcd/peer.crt" "$pki/etcd/peer.key" "$pki/etcd/ca.crt" ;;
  kubelet) serve kubelet 10250 "$root/var/lib/kubelet/pki/kubelet-serving.crt" "$root/var/lib/kubelet/pki/kubelet-serving.key" ;;
  esac
fi
echo "$(date +%s.%N) end $reader $([ $act = yes ] && echo restarted || echo unchanged)" >> "$emu/restarts.log"
`;
}

// ---- processes -----------------------------------------------------------------------------------------------------

function runQuiet(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: "utf8", timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Clusters not stopped yet, for the last-resort exit handler. */
const live = new Set<SshCluster>();
process.on("exit", () => {
  for (const c of live) c.killNow();
});
// Interrupted (Ctrl-C, a CI timeout): exit normally so the handler above runs.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

export class SshCluster {
  readonly nodes: readonly SshNode[];
  /** OpenSSH private key text of the client (what the stack reads from the `sshPrivateKey` secret). */
  readonly clientKey: string;
  readonly apiServerPort: number;
  private readonly daemons = new Map<string, ChildProcess>();
  private stopped = false;

  private constructor(
    readonly dir: string,
    nodes: SshNode[],
    clientKey: string,
    apiServerPort: number,
  ) {
    this.nodes = nodes;
    this.clientKey = clientKey;
    this.apiServerPort = apiServerPort;
  }

  /**
   * Starts one sshd per node and waits (at most 10 s each) until it accepts connections. Refuses to start when an
   * address:port it needs (sshd, or the emulated readers' 16443/2379/2380/10250) is already taken, e.g. by another
   * test run: two runs on the same loopback addresses would talk to each other's servers.
   */
  static async start(opts: SshClusterOptions = {}): Promise<SshCluster> {
    const specs = opts.nodes ?? DEFAULT_NODES;
    const port = opts.port ?? 2222;
    const apiServerPort = opts.apiServerPort ?? 16443;
    for (const n of specs) {
      for (const p of [port, apiServerPort, 2379, 2380, 10250]) {
        if (await tryConnect(n.address, p, 500)) throw new Error(`${n.address}:${p} is already in use (another test run?)`);
      }
    }
    const dir = mkdtempSync(join(tmpdir(), `kube-pki-sshd-${opts.label ?? "test"}-`));
    const sshdDir = join(dir, "sshd");
    mkdirSync(join(sshdDir), { recursive: true });
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege-separation directory
    const clientKeyFile = join(sshdDir, "client_ed25519");
    runQuiet("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "kube-pki-test-client", "-f", clientKeyFile]);
    writeFileSync(join(sshdDir, "authorized_keys"), readFileSync(`${clientKeyFile}.pub`));
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin", "fake-reader"), fakeReaderScript(apiServerPort), { mode: 0o755 });

    const nodes: SshNode[] = specs.map((spec) => {
      const own = join(sshdDir, spec.name);
      mkdirSync(own);
      const keyType = opts.hostKeyType ?? "ed25519";
      const hostKeyFile = join(own, `ssh_host_${keyType}_key`);
      runQuiet("ssh-keygen", ["-q", "-t", keyType, "-N", "", "-C", spec.name, "-f", hostKeyFile]);
      const root = join(dir, spec.name);
      mkdirSync(root);
      const hostKey = readFileSync(`${hostKeyFile}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
      writeFileSync(
        join(own, "sshd_config"),
        [
          `ListenAddress ${spec.address}:${port}`,
          `HostKey ${hostKeyFile}`,
          `PidFile ${join(own, "sshd.pid")}`,
          `AuthorizedKeysFile ${join(sshdDir, "authorized_keys")}`,
          "PermitRootLogin prohibit-password",
          "PubkeyAuthentication yes",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "UsePAM no",
          // The temp dir is not root-only; StrictModes would refuse the authorized_keys in it.
          "StrictModes no",
          "LogLevel VERBOSE",
          // Deliveries open several sessions per node at once (the stand-in allows 4 per host); no throttling here.
          "MaxStartups 50",
          "MaxSessions 50",
          "UseDNS no",
          // How the emulated restart commands (one command string for every node) find their node.
          `SetEnv NODE_NAME=${spec.name} NODE_ROOT=${root} NODE_ADDR=${spec.address}`,
          "",
        ].join("\n"),
      );
      return { ...spec, port, hostKey, root, logFile: join(own, "sshd.log") };
    });

    const cluster = new SshCluster(dir, nodes, readFileSync(clientKeyFile, "utf8"), apiServerPort);
    live.add(cluster);
    try {
      for (const n of nodes) {
        const cfg = join(sshdDir, n.name, "sshd_config");
        runQuiet("/usr/sbin/sshd", ["-t", "-f", cfg]); // config errors surface here, with sshd's message
        const out = openSync(join(sshdDir, n.name, "sshd.stderr"), "a");
        // -D: stay in the foreground, so the ChildProcess is sshd itself; -E: log to a file per node. setpriv's
        // pdeathsig has the kernel kill sshd should this process die without running any handler.
        const argv = [...(opts.wrap?.(n) ?? []), "/usr/sbin/sshd", "-D", "-E", n.logFile, "-f", cfg];
        const child = existsSync("/usr/bin/setpriv")
          ? spawn("/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", ...argv], { stdio: ["ignore", out, out] })
          : spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", out, out] });
        closeSync(out);
        cluster.daemons.set(n.name, child);
      }
      for (const n of nodes) {
        const deadline = Date.now() + 10_000;
        while (!(await tryConnect(n.address, port, 500))) {
          const child = cluster.daemons.get(n.name)!;
          if (child.exitCode !== null || Date.now() > deadline) {
            throw new Error(`sshd of ${n.name} does not listen on ${n.address}:${port}:\n${tail(cluster.log(n.name))}`);
          }
          await sleep(50);
        }
      }
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  node(name: string): SshNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  log(node: string): string {
    const n = this.node(node);
    return existsSync(n.logFile) ? readFileSync(n.logFile, "utf8") : "";
  }

  /** Sessions each node's sshd accepted so far ("Accepted publickey" lines): one per SSH connection. */
  sessions(): Record<string, number> {
    return Object.fromEntries(this.nodes.map((n) => [n.name, (this.log(n.name).match(/Accepted publickey for /g) ?? []).length]));
  }

  /** The `ssh` block of a node's config: pinned host key, the node root. */
  sshTarget(node: string): { host: string; port: number; hostKey: string; root: string } {
    const n = this.node(node);
    return { host: n.address, port: n.port, hostKey: n.hostKey, root: n.root };
  }

  /** Restart command of an emulated reader: the same string for every node. */
  restartCommand(reader: string, mode: FakeReaderMode = "restart"): string {
    return `sh ${join(this.dir, "bin", "fake-reader")} ${reader} ${mode}`;
  }

  /** Every reader's restart command (what `delivery.restart` takes). */
  restartCommands(mode: FakeReaderMode = "restart"): Record<string, string> {
    return Object.fromEntries(
      ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kubelet", "kube-proxy"].map((r) => [
        r,
        this.restartCommand(r, mode),
      ]),
    );
  }

  /** What the emulated restart commands logged, all nodes, in time order. */
  restartLog(): RestartLogEntry[] {
    const out: RestartLogEntry[] = [];
    for (const n of this.nodes) {
      const file = join(n.root, "emu", "restarts.log");
      if (!existsSync(file)) continue;
      for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
        const [time, event, reader, mode] = line.split(" ");
        out.push({ node: n.name, reader: reader!, event: event as "start" | "end", mode: mode!, time: Number(time) });
      }
    }
    return out.sort((a, b) => a.time - b.time);
  }

  /**
   * Pids of the install script running on the node with this address (empty when none runs): descendants of its
   * sshd running `kube-pki-install` (sshd → session processes → the login shell → sh).
   */
  installPids(address: string): number[] {
    const n = this.nodes.find((x) => x.address === address);
    const sshd = n && this.daemons.get(n.name)?.pid;
    if (!sshd) return [];
    const found: number[] = [];
    const stack = [sshd];
    for (let visited = 0; stack.length > 0 && visited < 500; visited++) {
      const pid = stack.pop()!;
      if (pid !== sshd && cmdline(pid).includes("kube-pki-install")) found.push(pid);
      stack.push(...childrenOf(pid));
    }
    return found;
  }

  /** True while an install's commit marker (`.<file>.kube-pki-commit`) exists anywhere under the node's root. */
  committing(address: string): boolean {
    const n = this.nodes.find((x) => x.address === address);
    if (!n) return false;
    const stack = [n.root];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      let entries: import("node:fs").Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue; // removed meanwhile
      }
      for (const e of entries) {
        if (e.isDirectory() && e.name !== "emu") stack.push(join(dir, e.name));
        else if (e.name.endsWith(".kube-pki-commit")) return true;
      }
    }
    return false;
  }

  /** Pids of the emulated TLS servers (from their pid files in every node root). */
  private serverPids(): number[] {
    const pids: number[] = [];
    for (const n of this.nodes) {
      const emu = join(n.root, "emu");
      if (!existsSync(emu)) continue;
      for (const f of readdirSync(emu).filter((x) => x.endsWith(".pid"))) {
        const pid = Number(readFileSync(join(emu, f), "utf8").trim());
        // Only if it still is one of ours: an s_server started by fake-reader.
        if (pid > 0 && existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("s_server"))
          pids.push(pid);
      }
    }
    return pids;
  }

  /** Synchronous kill of everything started here, and removal of the temp dir (exit handler; `stop` is the normal way). */
  killNow(): void {
    // Each server leads its own process group (setsid): timeout and the s_server under it.
    for (const pid of this.serverPids()) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    for (const child of this.daemons.values()) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops one node's sshd (a node that went down for SSH), by the pid this harness started; `stop` still cleans up. */
  async stopNode(name: string): Promise<void> {
    const child = this.daemons.get(this.node(name).name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }

  /**
   * Stops the emulated servers and every sshd (SIGTERM, SIGKILL after 3 s), then removes the temp dir. Safe to call
   * twice and after a failed start.
   */
  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const pid of this.serverPids()) {
      try {
        process.kill(-pid, "SIGTERM");
      } catch {
        /* gone */
      }
    }
    await Promise.all(
      [...this.daemons.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill("SIGKILL"), 3_000);
            child.once("exit", () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill("SIGTERM");
          }),
      ),
    );
    for (const pid of this.serverPids()) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    live.delete(this);
    if (!opts.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- processes of the install, for fault injection -------------------------------------------------------------------

/** Command line (NUL-separated args joined by spaces) of a pid, or "" when it is gone. */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}

function parentOf(pid: number): number {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces, so split after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
}

const pidsNow = () =>
  readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

/** Direct children of a process (cheap: /proc/<pid>/task/<tid>/children, no scan of every process). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // gone
  }
  for (const tid of tids) {
    try {
      out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean).map(Number));
    } catch {
      // thread gone
    }
  }
  return out;
}
const ownChildren = () => childrenOf(process.pid);

/** The `ssh` clients this process started (through the command stand-in) that run the install script. */
export function installSshClients(): { pid: number; host: string }[] {
  return ownChildren()
    .map((pid) => ({ pid, cmd: cmdline(pid) }))
    .filter(({ cmd }) => cmd.startsWith("ssh ") && cmd.includes("kube-pki-install"))
    .map(({ pid, cmd }) => ({ pid, host: /root@(\S+)/.exec(cmd)?.[1] ?? "" }));
}

/**
 * Waits until no install script runs any more on any node (at most `timeoutMs`). A connection cut after the
 * commit line leaves the node-side script finishing its swap on its own (it ignores hang-ups, by design), so the
 * node's files are only final once it is gone. Install scripts are recognised by their `$0`, kube-pki-install.
 */
export async function waitForInstallsToFinish(root: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = pidsNow().filter((pid) => {
      const cmd = pid === process.pid ? "" : cmdline(pid);
      return cmd.includes("kube-pki-install") && cmd.includes(root);
    });
    if (running.length === 0) return;
    if (Date.now() > deadline) throw new Error(`install scripts still running after ${timeoutMs} ms: pids ${running.join(", ")}`);
    await sleep(20);
  }
}

export type KillFrom = "client" | "script" | "commit";

export interface RandomKill {
  readonly host: string;
  /** What was killed: the ssh client (a dropped connection) or the node-side install script (a crash). */
  readonly target: "client" | "node";
  /**
   * What the delay counts from: the ssh client's start, the node-side install script's start, or the moment the
   * script wrote its commit marker (it is about to rename the staged files into place).
   */
  readonly from: KillFrom;
  readonly afterMs: number;
  /** False when the session had ended before the kill was due. */
  readonly hit: boolean;
}

/**
 * Kills (SIGKILL) install sessions to the selected hosts at random moments: the ssh client, as a dropped connection
 * would, or the node-side install script, as a crash of the node would. A loopback session is mostly key exchange
 * and authentication (hundreds of ms on a busy machine) and the node-side script runs for only tens of ms, so a
 * uniform delay from the client's start would nearly always land in the handshake; instead `when` chooses, per
 * session, to count the delay from the client's start or from the moment the install script runs on the node
 * (`scriptPids(host)` non-empty), reaching the transfer, the commit and the swap, or from the moment it wrote its
 * commit marker (`committing(host)`), to land inside the swap. Polls every 2 ms while it runs.
 * Returns a stop function resolving to what it did.
 */
export function killInstallsAtRandom(opts: {
  readonly hosts: (host: string) => boolean;
  readonly target?: "client" | "node";
  readonly when: () => { from: KillFrom; delayMs: number };
  /** Pids of the install script running on the node with this address (none when it is not running). */
  readonly scriptPids: (host: string) => number[];
  /** True while a commit marker exists on the node with this address (needed for `from: "commit"`). */
  readonly committing?: (host: string) => boolean;
}): () => Promise<RandomKill[]> {
  const target = opts.target ?? "client";
  // Clients waiting for their script to start, or to commit.
  const waiting = new Map<number, { host: string; from: KillFrom; delayMs: number }>();
  const seen = new Set<number>();
  const done: RandomKill[] = [];
  const timers: NodeJS.Timeout[] = [];
  const schedule = (pid: number, host: string, from: KillFrom, afterMs: number) => {
    timers.push(
      setTimeout(() => {
        // Still our ssh child running the install (not a finished session, not a reused pid)?
        const alive = parentOf(pid) === process.pid && cmdline(pid).includes("kube-pki-install");
        const victims = !alive ? [] : target === "client" ? [pid] : opts.scriptPids(host);
        for (const v of victims) {
          try {
            process.kill(v, "SIGKILL");
          } catch {
            /* finished meanwhile */
          }
        }
        done.push({ host, target, from, afterMs, hit: victims.length > 0 });
      }, afterMs),
    );
  };
  const poll = setInterval(() => {
    for (const c of installSshClients()) {
      if (seen.has(c.pid) || !opts.hosts(c.host)) continue;
      seen.add(c.pid);
      const { from, delayMs } = opts.when();
      if (from === "client") schedule(c.pid, c.host, from, delayMs);
      else waiting.set(c.pid, { host: c.host, from, delayMs });
    }
    for (const [pid, w] of waiting) {
      const due = w.from === "script" ? opts.scriptPids(w.host).length > 0 : !!opts.committing?.(w.host);
      if (due) {
        waiting.delete(pid);
        schedule(pid, w.host, w.from, w.delayMs);
      } else if (parentOf(pid) !== process.pid) {
        waiting.delete(pid);
        done.push({ host: w.host, target, from: w.from, afterMs: w.delayMs, hit: false });
      }
    }
  }, 2);
  return async () => {
    clearInterval(poll);
    for (const t of timers) clearTimeout(t);
    return done;
  };
}
