// Benchmark (not a test): the workers' CSR path on a real control plane (test/cluster/kubelets.ts: one kubeadm
// control-plane node, kube-apiserver / kube-controller-manager / etcd of the toolchain), measured two ways:
//   hollow   N hollow nodes (kubemark --morph=kubelet: the kubelet's own code on a fake runtime) join with a
//            bootstrap kubeconfig and the cluster CA; time from launch to the last node's client certificate and to
//            the last Node Ready, and each process's resident memory once all are Ready.
//   csr      the load generator (bench/csrload) submits N node client CSRs with a bootstrap token and waits until
//            the controller-manager has approved and signed every one, with the controller-manager's flags kube-pki's
//            for workers: bootstrap (components/model/controlPlaneFlags.ts) or, with --defaults, those without its
//            API rate flags (--kube-api-qps, --kube-api-burst at their defaults).
// Usage (root, in a private network namespace as the control-plane tests run; `npm run toolchain -- --bench` first
// builds kubemark and csrload):
//   scripts/isolated.sh npx ts-node -T bench/bootstrap.ts hollow [--nodes 100]
//   scripts/isolated.sh npx ts-node -T bench/bootstrap.ts csr [--csrs 10000] [--defaults]
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Daemon, makeTempDir, run, startDaemon, stopDaemon } from "../test/e2e/proc";
import { controllerManagerFlags, flagArgs } from "../components/model/controlPlaneFlags";
import { API_RATE_FLAGS, BOOTSTRAP_DEFAULTS, bootstrapKubeconfig, KubeadmControlPlane, must, waitFor } from "../test/cluster/kubelets";

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const toolchain = spawnSync("bash", [join(__dirname, "..", "scripts", "toolchain.sh"), "--dir"], { encoding: "utf8" });
if (toolchain.status !== 0) throw new Error(toolchain.stderr);
process.env.PATH = `${toolchain.stdout.trim()}:${process.env.PATH}`;
const seconds = (ms: number) => Number((ms / 1000).toFixed(1));

async function hollow(nodes: number): Promise<Record<string, unknown>> {
  const lab = await KubeadmControlPlane.start([]);
  // A kubelet picks its node IP from the default route; the private namespace has none.
  if (!execFileSync("ip", ["route", "show", "default"], { encoding: "utf8" }).trim())
    execFileSync("ip", ["route", "add", "default", "dev", "kpki0"]);
  const dir = makeTempDir("hollow");
  const bootstrap = join(dir, "bootstrap-kubelet.conf");
  writeFileSync(bootstrap, bootstrapKubeconfig(lab.server, lab.caPem, lab.token), { mode: 0o600 });
  const daemons: Daemon[] = [];
  // kubemark's fake runtime listens on /tmp/kubelet_remote_<random>.sock whatever TMPDIR says, and a signal leaves
  // the socket behind: the ones that appear during the run are removed after it.
  const sockets = () => new Set(readdirSync("/tmp").filter((f) => /^kubelet_remote_\d+\.sock$/.test(f)));
  const socketsBefore = sockets();
  const t0 = Date.now();
  for (let i = 0; i < nodes; i++) {
    const home = join(dir, `hollow-${i}`);
    mkdirSync(home);
    daemons.push(
      startDaemon(
        `hollow-${i}`,
        "kubemark",
        [
          "--morph=kubelet",
          `--name=hollow-${i}`,
          `--kubeconfig=${join(home, "kubelet.conf")}`,
          `--bootstrap-kubeconfig=${bootstrap}`,
          `--cert-dir=${home}`,
          "--use-host-image-service=false",
          `--kubelet-port=${20000 + i}`,
          "--kubelet-read-only-port=0",
        ],
        join(home, "log"),
        // Its root directory is a temp directory: keep it in the node's directory.
        { env: { ...process.env, TMPDIR: home }, maxLifetimeMs: 3_600_000 },
      ),
    );
  }
  const certified = await waitFor(
    () => {
      const done = daemons.filter((_, i) => existsSync(join(dir, `hollow-${i}`, "kubelet-client-current.pem"))).length;
      return done === nodes ? Date.now() - t0 : undefined;
    },
    900_000,
    () =>
      `client certificates: ${daemons
        .filter((d) => d.exited)
        .map((d) => `${d.name} ${d.exitStatus}`)
        .join(", ")}`,
  );
  const ready = await waitFor(
    async () => {
      const r = await lab.kubectl([
        "get",
        "nodes",
        "-o",
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
      ]);
      const n = r.stdout.split("\n").filter((s) => s === "True").length;
      return n === nodes ? Date.now() - t0 : undefined;
    },
    900_000,
    () => "Nodes Ready",
  );
  const rss = daemons.map((d) => rssOfTree(d.child.pid!));
  await Promise.all(daemons.map((d) => stopDaemon(d, 5_000)));
  for (const f of sockets()) if (!socketsBefore.has(f)) rmSync(join("/tmp", f), { force: true });
  await lab.stop();
  return {
    nodes,
    lastClientCertificateSeconds: seconds(certified),
    lastReadySeconds: seconds(ready),
    rssMiBMean: Number((rss.reduce((a, b) => a + b, 0) / rss.length / 1024).toFixed(1)),
    rssMiBMax: Number((Math.max(...rss) / 1024).toFixed(1)),
  };
}

/** Resident memory (KiB) of a process and its children (the daemon is setpriv → kubemark). */
function rssOfTree(pid: number): number {
  const status = (p: number) => (existsSync(`/proc/${p}/status`) ? readFileSync(`/proc/${p}/status`, "utf8") : "");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status(pid))?.[1] ?? 0);
  const children = existsSync(`/proc/${pid}/task/${pid}/children`)
    ? readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)
    : [];
  return rss + children.reduce((a, c) => a + rssOfTree(c), 0);
}

async function csr(csrs: number, defaults: boolean): Promise<Record<string, unknown>> {
  const lab = await KubeadmControlPlane.start([], defaults ? "defaults" : "kube-pki");
  const bootstrap = join(makeTempDir("csrload"), "bootstrap-kubelet.conf");
  writeFileSync(bootstrap, bootstrapKubeconfig(lab.server, lab.caPem, lab.token), { mode: 0o600 });
  // The controller-manager's signer and approver run once it holds its lease: wait for one CSR to go through first.
  const warm = await run("csrload", ["-kubeconfig", bootstrap, "-n", "1", "-prefix", "warm", "-timeout", "120s"], { timeoutMs: 130_000 });
  must(warm);
  const r = await run("csrload", ["-kubeconfig", bootstrap, "-n", String(csrs), "-prefix", "load", "-timeout", "40m"], {
    timeoutMs: 2_460_000,
  });
  await lab.stop();
  must(r);
  const flags = controllerManagerFlags(BOOTSTRAP_DEFAULTS).filter((f) => API_RATE_FLAGS.includes(f.name));
  return { controllerManager: defaults ? "kube-pki's without its rate flags" : flagArgs(flags).join(" "), ...JSON.parse(r.stdout) };
}

async function main(): Promise<void> {
  const mode = process.argv[2];
  const out =
    mode === "hollow"
      ? await hollow(arg("nodes", 100))
      : mode === "csr"
        ? await csr(arg("csrs", 10_000), process.argv.includes("--defaults"))
        : (() => {
            throw new Error("usage: bench/bootstrap.ts hollow [--nodes N] | csr [--csrs N] [--defaults]");
          })();
  console.log(JSON.stringify(out));
  process.exit(0);
}
main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
