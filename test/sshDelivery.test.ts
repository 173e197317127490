// SSH delivery against real nodes: five OpenSSH servers on loopback addresses (test/support-sshd.ts), each node's
// filesystem a directory (nodes[].ssh.root), the real stack program evaluated under the mock runtime with the
// command stand-in really running `ssh` (host key pinned, key from the `sshPrivateKey` secret). The restart commands
// run emulated readers that serve the delivered certificates with `openssl s_server`, so the install's health check
// really probes a TLS server and compares fingerprints.
//
// What is checked: the files each node gets (against the render of the same PKI), that restarts happen and are
// health-checked, that an unchanged apply opens no SSH session, the exact work of a SAN change and its one-node-at-
// a-time rollout, a health check failing on a node that keeps the old certificate, connections cut at fixed and
// random points (and node-side crashes) never leaving a key that does not match its certificate once the next apply
// has run, and the removal of a node's files.
//
// Every test starts from a deployed cluster (`deployed()`), whatever ran before it, so each one runs alone (--grep)
// or after any other; every apply records its state, as `pulumi up` does, so a failed test leaves no stale state.
//
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { connect as tlsConnect } from "node:tls";
import * as pulumi from "@pulumi/pulumi";
import { defineStack, planClusters, StackProgram } from "../components";
import { evaluate, Evaluation, unwrapSecrets } from "../emulator/evaluate";
import { CommandRun, CommandStandIn, CommandStandInOptions } from "../emulator/commandStandIn";
import { writeCluster } from "../offline/render";
import { readTree, TreeEntry } from "./support-tree";
import { FakeReaderMode, killInstallsAtRandom, RandomKill, RestartLogEntry, SshCluster, waitForInstallsToFinish } from "./support-sshd";

const CLUSTER = "t";
/** The emulated kube-apiserver's port: unprivileged, and not 6443 in case a real one runs here. */
const API_PORT = 16443;
/** Short: the negative test waits for it to expire. */
const HEALTH_TIMEOUT_SECONDS = 3;
/** An apply that has not settled by then is stuck, not slow: fail the test rather than hang the suite. */
const APPLY_LIMIT_MS = 100_000;
/**
 * Random kills: a quarter within this long of the ssh client's start (mostly the handshake), the rest within
 * SCRIPT_KILL_MS of the node-side install script's start (transfer, staging, commit, swap, or just after).
 */
const CLIENT_KILL_MS = 700;
const SCRIPT_KILL_MS = 120;
/** Crashes timed from the commit marker land within this long of it: the renames take a few ms each. */
const COMMIT_KILL_MS = 25;
const CONTROL_PLANE = ["cp-1", "cp-2", "cp-3"];
const WORKERS = ["w-1", "w-2"];
const PKI = "/etc/kubernetes/pki";
const KUBELET_SERVING = "/var/lib/kubelet/pki/kubelet-serving.crt";
/** What a node root holds besides delivered files: the emulation's logs and pids, the restart state, the install's backups. */
const NOT_DELIVERED = /^\/emu\/|^\/var\/lib\/kube-pki\/|\.kube-pki-prev$/;
const RENDER_ONLY = /\/manifest\.json$|^\/admin\.conf$/;

// Random fault injection: KUBE_PKI_CUT_SEED=<n> replays a run's choices (the moments of kills depend on timing too);
// KUBE_PKI_CUT_ATTEMPTS and KUBE_PKI_CRASH_ATTEMPTS set how many attempts (more: longer, at about 15 s each).
const SEED = Number(process.env.KUBE_PKI_CUT_SEED ?? Date.now() % 1_000_000);
const RANDOM_ATTEMPTS = Number(process.env.KUBE_PKI_CUT_ATTEMPTS ?? 3);
const CRASH_ATTEMPTS = Number(process.env.KUBE_PKI_CRASH_ATTEMPTS ?? 2);

/** mulberry32: a small seeded PRNG, so a failing random attempt can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Applied {
  readonly ev: Evaluation<StackProgram>;
  readonly runs: readonly CommandRun[];
  /** New SSH sessions per node during the apply, from the sshd logs. */
  readonly sessions: Record<string, number>;
  readonly seconds: number;
}

describe("SSH delivery to real sshd nodes (loopback)", function () {
  this.timeout(180_000);
  let nodes: SshCluster;
  /** The state: the last evaluation, as a `pulumi up` would leave it (every apply records it). */
  let state: Evaluation<StackProgram>;
  /** The config of the last apply, and whether it completed. */
  let last: { config: string; clean: boolean } | undefined;
  /** The first apply, onto empty nodes (in `before`), and what the restart commands logged during it. */
  let first: Applied;
  let firstLog: RestartLogEntry[];
  /** Renders to compare against; made in `before`, so that a run filtering this suite out leaves nothing behind. */
  let scratch = "";

  // ---- config and applies ---------------------------------------------------------------------------------------

  interface ConfigOptions {
    /** apiServer.certSANs besides k8s.example.com (default: the deployed ones, so a test adds to what is there). */
    readonly sans?: readonly string[];
    readonly restart?: Record<string, string>;
    readonly healthCheckTimeoutSeconds?: number;
    readonly removeFiles?: boolean;
    readonly without?: readonly string[];
  }

  const config = (o: ConfigOptions = {}): unknown[] => [
    {
      name: CLUSTER,
      serviceSubnet: "10.96.0.0/12",
      apiServer: { certSANs: ["k8s.example.com", ...(o.sans ?? deployedSans())], bindPort: API_PORT },
      delivery: {
        mode: "ssh",
        restart: o.restart ?? nodes.restartCommands(),
        healthCheckTimeoutSeconds: o.healthCheckTimeoutSeconds ?? HEALTH_TIMEOUT_SECONDS,
        ...(o.removeFiles ? { removeFiles: true } : {}),
      },
      nodes: nodes.nodes
        .filter((n) => !o.without?.includes(n.name))
        .map((n) => ({ name: n.name, role: n.role, address: n.address, ssh: nodes.sshTarget(n.name) })),
    },
  ];

  const deployedSans = () => state?.result?.clusters[0]?.catalog.cluster.apiServer.certSANs.filter((s) => s !== "k8s.example.com") ?? [];

  const restartWith = (mode: FakeReaderMode, reader = "kube-apiserver") => ({
    ...nodes.restartCommands(),
    [reader]: nodes.restartCommand(reader, mode),
  });

  /**
   * One `pulumi up`: the program with the given config against `prior` (default: the current state), commands run
   * for real; its result becomes the state. Returns what ran and the sessions sshd saw; waits for node-side install
   * scripts a cut connection left running, so that node files are final when it returns.
   */
  async function apply(
    raw: unknown[],
    opts: { prior?: Evaluation<unknown>; cutAfter?: CommandStandInOptions["cutAfter"] } = {},
  ): Promise<Applied> {
    const commands = new CommandStandIn({ timeoutMs: 60_000, cutAfter: opts.cutAfter });
    const before = nodes.sessions();
    const start = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const ev = await Promise.race([
        evaluate(
          () =>
            defineStack(planClusters(raw), {
              stack: CLUSTER,
              secret: (key) => (key === "sshPrivateKey" ? pulumi.secret(nodes.clientKey) : undefined),
            }),
          { extra: commands, prior: "prior" in opts ? opts.prior : state },
        ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `the apply did not settle in ${APPLY_LIMIT_MS / 1000} s; commands run: ` +
                    commands.runs.map((r) => `${r.resource}=${r.exitCode}`).join(", "),
                ),
              ),
            APPLY_LIMIT_MS,
          );
        }),
      ]);
      state = ev;
      last = { config: JSON.stringify(raw), clean: ev.failures.length === 0 };
      await waitForInstallsToFinish(nodes.dir);
      const after = nodes.sessions();
      const sessions = Object.fromEntries(Object.keys(after).map((n) => [n, after[n]! - (before[n] ?? 0)]));
      return { ev, runs: [...commands.runs], sessions, seconds: (Date.now() - start) / 1000 };
    } finally {
      clearTimeout(timer);
      commands.dispose();
    }
  }

  /**
   * Brings the nodes to the given config (default: the usual one, with the SANs already deployed), complete: the
   * start of every test. When the last apply completed that very config, another would run nothing (as the "nothing
   * changed" test shows), so none is made.
   */
  async function deployed(o: ConfigOptions = {}): Promise<void> {
    const raw = config(o);
    if (last?.clean && last.config === JSON.stringify(raw)) return;
    assert.deepEqual((await apply(raw)).ev.failures, [], "the cluster deploys");
  }

  // ---- what is on the nodes -------------------------------------------------------------------------------------

  const rootOf = (node: string) => nodes.node(node).root;
  const deliveredTree = (node: string) => readTree(rootOf(node), { skip: NOT_DELIVERED });

  /** Every file under a node root, absolute paths, the emulation's own files left out. */
  function filesOf(node: string): string[] {
    const root = rootOf(node);
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (/^\/emu(\/|$)/.test(`/${relative(root, full)}`)) continue;
        if (lstatSync(full).isDirectory()) walk(full);
        else out.push(full);
      }
    };
    if (existsSync(root)) walk(root);
    return out;
  }

  /** Staged files and commit markers an install leaves only if it did not finish. */
  const leftovers = (node: string) => filesOf(node).filter((f) => /\.kube-pki-(new|commit)(\.tmp)?$/.test(f));

  const matches = (certPem: string, keyPem: string): boolean => {
    try {
      return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
    } catch {
      return false; // unparsable (e.g. truncated) counts as not matching
    }
  };

  /**
   * Every key on the node that does not belong with its certificate: `x.key` next to `x.crt`, the client key and
   * certificate inside each kubeconfig, and sa.key against sa.pub.
   */
  function keyMismatches(node: string): string[] {
    const root = rootOf(node);
    const bad: string[] = [];
    for (const file of filesOf(node)) {
      const rel = `/${relative(root, file)}`;
      if (file.endsWith(".crt") && existsSync(file.replace(/\.crt$/, ".key"))) {
        if (!matches(readFileSync(file, "utf8"), readFileSync(file.replace(/\.crt$/, ".key"), "utf8"))) bad.push(`${node}:${rel}`);
      } else if (file.endsWith(".conf")) {
        const text = readFileSync(file, "utf8");
        const field = (name: string) => Buffer.from(new RegExp(`${name}: (\\S+)`).exec(text)?.[1] ?? "", "base64").toString("utf8");
        if (!matches(field("client-certificate-data"), field("client-key-data"))) bad.push(`${node}:${rel}`);
      } else if (file.endsWith("/sa.key")) {
        try {
          const derived = createPublicKey(createPrivateKey(readFileSync(file, "utf8"))).export({ type: "spki", format: "pem" });
          if (derived !== readFileSync(file.replace(/\.key$/, ".pub"), "utf8")) bad.push(`${node}:${rel}`);
        } catch {
          bad.push(`${node}:${rel}`);
        }
      }
    }
    return bad;
  }

  const allNodes = () => nodes.nodes.map((n) => n.name);
  const everyKeyMismatch = () => allNodes().flatMap(keyMismatches);
  const everyLeftover = () => allNodes().flatMap(leftovers);

  const fingerprintOf = (node: string, path: string) => new X509Certificate(readFileSync(join(rootOf(node), path))).fingerprint256;

  /** Fingerprint of the certificate a TLS server presents (no verification: it is what the health check compares). */
  function served(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host, port, rejectUnauthorized: false });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no TLS handshake with ${host}:${port} in 5 s`));
      }, 5_000);
      socket.once("secureConnect", () => {
        clearTimeout(timer);
        const fp = socket.getPeerCertificate().fingerprint256;
        socket.destroy();
        resolve(fp);
      });
      socket.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }
  const servedApiServer = (node: string) => served(nodes.node(node).address, API_PORT);
  const servedKubelet = (node: string) => served(nodes.node(node).address, 10250);

  /** The render of an evaluation's PKI (the files every node should have), into a fresh directory. */
  async function render(ev: Evaluation<StackProgram>): Promise<string> {
    const dir = mkdtempSync(join(scratch, "render-"));
    await writeCluster(ev.result.clusters[0]!, dir);
    return dir;
  }

  /** Asserts every node has exactly the files the render of `ev` has (paths, modes, content). */
  async function assertNodesMatchRender(ev: Evaluation<StackProgram>, names = allNodes()): Promise<void> {
    const dir = await render(ev);
    for (const node of names) {
      assert.deepEqual(
        deliveredTree(node),
        readTree(join(dir, node), { skip: RENDER_ONLY }),
        `${node}: delivered files differ from the render`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
  }

  const byNode = (runs: readonly CommandRun[]) => {
    const out: Record<string, CommandRun[]> = Object.fromEntries(allNodes().map((n) => [n, []]));
    for (const r of runs) out[nodes.nodes.find((n) => r.host === `${n.address}:${n.port}`)!.name]!.push(r);
    return out;
  };
  const names = (runs: readonly CommandRun[]) => runs.map((r) => r.resource).sort();
  const stdoutOf = (ev: Evaluation<unknown>, name: string) =>
    String((unwrapSecrets(ev.resources.find((r) => r.name === name)!.state) as Record<string, unknown>).stdout ?? "");

  /**
   * Drops private keys from the state (as `pulumi state delete` would), so the next apply creates them anew with new
   * certificates: a key rotation, which makes a half-installed bundle visible as a key that does not match.
   */
  function withKeysReplaced(prior: Evaluation<StackProgram>, keyNames: readonly string[]): Evaluation<StackProgram> {
    for (const k of keyNames)
      assert.ok(
        prior.resources.some((r) => r.name === k && r.type === "tls:index/privateKey:PrivateKey"),
        `no key ${k}`,
      );
    return { ...prior, resources: prior.resources.filter((r) => !keyNames.includes(r.name)) };
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------------

  before(async function () {
    this.timeout(150_000);
    scratch = mkdtempSync(join(tmpdir(), "kube-pki-sshdelivery-"));
    nodes = await SshCluster.start({ apiServerPort: API_PORT });
    first = await apply(config(), { prior: undefined });
    firstLog = nodes.restartLog();
    console.log(`      first apply: ${first.runs.length} commands, ${first.seconds.toFixed(1)} s`);
  });

  after(async () => {
    await nodes?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  // ---- the tests --------------------------------------------------------------------------------------------------------

  it("delivers every node's files with their paths, modes, owner and content, as the render writes them", async () => {
    await deployed();
    assert.deepEqual(first.ev.failures, []);
    const plan = first.ev.result.clusters[0]!.catalog;
    const pushes = first.runs.filter((r) => r.resource.includes("-push-"));
    assert.equal(pushes.length, plan.bundles.length, "one push per bundle");
    assert.ok(first.runs.every((r) => r.exitCode === 0 && !r.cut));
    await assertNodesMatchRender(state);
    for (const node of allNodes()) {
      for (const f of filesOf(node)) {
        const st = lstatSync(f);
        assert.ok(st.uid === 0 && st.gid === 0, `${f} is owned by ${st.uid}:${st.gid}, not root`);
      }
      // CA keys stay off the nodes unless caKeys: control-plane.
      for (const ca of ["ca", "front-proxy-ca", "etcd/ca"])
        assert.ok(!existsSync(join(rootOf(node), PKI, `${ca}.key`)), `${node} has ${ca}.key`);
    }
    for (const w of WORKERS) {
      assert.deepEqual(
        Object.keys(deliveredTree(w)).sort(),
        [
          "/etc/kubernetes/kube-proxy.conf",
          "/etc/kubernetes/kubelet.conf",
          `${PKI}/ca.crt`,
          KUBELET_SERVING,
          KUBELET_SERVING.replace(/crt$/, "key"),
        ],
        `${w} gets only what a worker needs`,
      );
    }
    assert.deepEqual(everyKeyMismatch(), []);
  });

  it("restarts every reader once per node and health-checks the servers the restarts started", async () => {
    await deployed();
    const restarts = first.runs.filter((r) => r.resource.includes("-restart-"));
    const expected = [
      ...CONTROL_PLANE.flatMap((n) =>
        ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kubelet", "kube-proxy"].map(
          (r) => `${CLUSTER}-${n}-restart-${r}`,
        ),
      ),
      ...WORKERS.flatMap((n) => ["kubelet", "kube-proxy"].map((r) => `${CLUSTER}-${n}-restart-${r}`)),
    ].sort();
    assert.deepEqual(names(restarts), expected);
    // What the restart commands themselves logged on the nodes: each ran once, and really restarted.
    assert.deepEqual(
      firstLog
        .filter((e) => e.event === "end")
        .map((e) => `${CLUSTER}-${e.node}-restart-${e.reader}`)
        .sort(),
      expected,
    );
    assert.ok(firstLog.filter((e) => e.event === "end").every((e) => e.mode === "restarted"));
    // The servers present the delivered certificates, and the health checks said so after probing them.
    for (const n of CONTROL_PLANE) {
      assert.equal(await servedApiServer(n), fingerprintOf(n, `${PKI}/apiserver.crt`), `${n} apiserver`);
      assert.match(
        stdoutOf(first.ev, `${CLUSTER}-${n}-restart-kube-apiserver`),
        new RegExp(`${nodes.node(n).address}:${API_PORT} serves the new certificate`),
      );
      // etcd: client and peer ports, probed with the healthcheck-client certificate (etcd requires one).
      assert.match(
        stdoutOf(first.ev, `${CLUSTER}-${n}-restart-etcd`),
        /:2379 serves the new certificate[\s\S]*:2380 serves the new certificate/,
      );
    }
    for (const n of allNodes()) {
      assert.equal(await servedKubelet(n), fingerprintOf(n, KUBELET_SERVING), `${n} kubelet`);
      assert.match(stdoutOf(first.ev, `${CLUSTER}-${n}-restart-kubelet`), /:10250 serves the new certificate/);
    }
    // One SSH session per command, as sshd logged them.
    const perNode = byNode(first.runs);
    for (const n of allNodes()) assert.equal(first.sessions[n], perNode[n]!.length, `${n}: sshd sessions vs commands`);
  });

  it("an apply with nothing changed runs nothing and opens no SSH session", async () => {
    await deployed();
    const again = await apply(config());
    assert.deepEqual(again.runs, []);
    assert.deepEqual(Object.values(again.sessions), [0, 0, 0, 0, 0]);
    assert.ok(again.ev.resources.every((r) => r.op === "same"));
  });

  it("a change that touches no file (the health-check timeout) re-runs the restart commands but restarts nothing", async () => {
    await deployed();
    const logBefore = nodes.restartLog().length;
    const changed = await apply(config({ healthCheckTimeoutSeconds: HEALTH_TIMEOUT_SECONDS + 1 }));
    assert.deepEqual(changed.ev.failures, []);
    assert.ok(changed.runs.length > 0 && changed.runs.every((r) => r.resource.includes("-restart-")), "only restart commands ran");
    assert.equal(nodes.restartLog().length, logBefore, "no component was restarted");
    for (const r of changed.ev.resources.filter((x) => x.name.includes("-restart-") && x.op === "update")) {
      assert.match(String((unwrapSecrets(r.state) as any).stdout), /reads nothing new here: not restarted/, r.name);
    }
  });

  it("a SAN change pushes one apiserver bundle and restarts kube-apiserver on each control-plane node, one node at a time", async () => {
    await deployed();
    const logBefore = nodes.restartLog().length;
    const oldFp = Object.fromEntries(await Promise.all(CONTROL_PLANE.map(async (n) => [n, await servedApiServer(n)] as const)));
    const san = await apply(config({ sans: [...deployedSans(), "san-change.example.com"] }));
    assert.deepEqual(san.ev.failures, []);
    const perNode = byNode(san.runs);
    console.log("      SAN change, per node:");
    console.log(`        ${"node".padEnd(6)} ${"pushes".padEnd(24)} ${"restarts".padEnd(28)} sessions  bytes sent`);
    for (const n of allNodes()) {
      const runs = perNode[n]!;
      const pushes = runs.filter((r) => r.resource.includes("-push-")).map((r) => r.resource.replace(/^.*-push-/, ""));
      const restarts = runs.filter((r) => r.resource.includes("-restart-")).map((r) => r.resource.replace(/^.*-restart-/, ""));
      console.log(
        `        ${n.padEnd(6)} ${(pushes.join(", ") || "-").padEnd(24)} ${(restarts.join(", ") || "-").padEnd(28)} ` +
          `${String(san.sessions[n]).padStart(8)}  ${String(runs.reduce((s, r) => s + r.bytesSent, 0)).padStart(10)}`,
      );
    }
    for (const n of CONTROL_PLANE) {
      assert.deepEqual(names(perNode[n]!), [`${CLUSTER}-${n}-push-apiserver`, `${CLUSTER}-${n}-restart-kube-apiserver`], n);
      assert.equal(san.sessions[n], 2, `${n}: two SSH sessions`);
      const served = await servedApiServer(n);
      assert.equal(served, fingerprintOf(n, `${PKI}/apiserver.crt`), `${n} serves the new certificate`);
      assert.notEqual(served, oldFp[n]);
      assert.match(
        new X509Certificate(readFileSync(join(rootOf(n), PKI, "apiserver.crt"))).subjectAltName!,
        /DNS:san-change\.example\.com/,
      );
      // The previous pair was kept only until kube-apiserver served the new certificate: the replaced key is gone.
      assert.ok(
        !existsSync(join(rootOf(n), PKI, ".apiserver.key.kube-pki-prev")) &&
          !existsSync(join(rootOf(n), PKI, ".apiserver.crt.kube-pki-prev")),
      );
    }
    for (const w of WORKERS) {
      assert.deepEqual(perNode[w], [], `${w}: nothing`);
      assert.equal(san.sessions[w], 0);
    }
    // One node at a time: the restarts, as logged by the commands on the nodes, run cp-1, cp-2, cp-3 without overlap.
    const log = nodes.restartLog().slice(logBefore);
    assert.deepEqual(
      log.map((e) => `${e.node} ${e.event} ${e.reader}`),
      CONTROL_PLANE.flatMap((n) => [`${n} start kube-apiserver`, `${n} end kube-apiserver`]),
    );
    for (let i = 1; i < log.length; i++) assert.ok(log[i]!.time >= log[i - 1]!.time);
    const gaps = CONTROL_PLANE.slice(1).map((_, i) => (log[2 * i + 2]!.time - log[2 * i + 1]!.time).toFixed(2));
    console.log(
      `      restarts one at a time; gap between one node's restart end and the next one's start: ${gaps.join(" s, ")} s ` +
        `(its health check and the next session's setup)`,
    );
    assert.deepEqual(everyKeyMismatch(), []);
  });

  it("a restart that leaves the old certificate served fails its health check and stops the rollout; the next apply completes it", async () => {
    await deployed();
    const logBefore = nodes.restartLog().length;
    const oldFp = Object.fromEntries(await Promise.all(CONTROL_PLANE.map(async (n) => [n, await servedApiServer(n)] as const)));
    const sans = [...deployedSans(), "stale.example.com"];
    // cp-2's kube-apiserver "restart" does nothing, so it keeps serving the certificate it had.
    const stale = await apply(config({ sans, restart: restartWith("stale-on-cp-2") }));
    assert.deepEqual(
      stale.ev.failures.map((f) => f.name),
      [`${CLUSTER}-cp-2-restart-kube-apiserver`],
    );
    assert.match(
      stale.ev.failures[0]!.error,
      new RegExp(`after ${HEALTH_TIMEOUT_SECONDS}s 127\\.0\\.0\\.12:${API_PORT} still serves ${oldFp["cp-2"]}`),
    );
    assert.deepEqual(
      names(stale.runs.filter((r) => r.resource.includes("-restart-"))),
      [`${CLUSTER}-cp-1-restart-kube-apiserver`, `${CLUSTER}-cp-2-restart-kube-apiserver`],
      "cp-3 is not restarted after cp-2 failed",
    );
    assert.equal(await servedApiServer("cp-1"), fingerprintOf("cp-1", `${PKI}/apiserver.crt`), "cp-1 restarted");
    assert.equal(await servedApiServer("cp-2"), oldFp["cp-2"], "cp-2 still serves its old certificate");
    assert.notEqual(fingerprintOf("cp-2", `${PKI}/apiserver.crt`), oldFp["cp-2"], "although the new one is on disk");
    assert.equal(await servedApiServer("cp-3"), oldFp["cp-3"], "cp-3 was left alone");
    assert.deepEqual(
      nodes
        .restartLog()
        .slice(logBefore)
        .filter((e) => e.event === "end")
        .map((e) => `${e.node} ${e.mode}`),
      ["cp-1 restarted", "cp-2 unchanged"],
    );

    // With a working restart command again, the next apply restarts what is left and every check passes.
    const fixed = await apply(config({ sans }));
    assert.deepEqual(fixed.ev.failures, []);
    assert.deepEqual(
      names(fixed.runs),
      CONTROL_PLANE.map((n) => `${CLUSTER}-${n}-restart-kube-apiserver`).sort(),
      "no push again: the files were delivered",
    );
    for (const n of CONTROL_PLANE) assert.equal(await servedApiServer(n), fingerprintOf(n, `${PKI}/apiserver.crt`), n);
  });

  // ---- connections cut during pushes ----------------------------------------------------------------------------------

  /**
   * The bundles the cut tests rotate (new key and certificate, so a half-done swap would show as a key that does not
   * match its certificate) and cut: every node's kubelet-serving bundle, and cp-3's server bundles. A failure of any
   * of them has no chain of dependents (see the evaluate() limit in the header).
   */
  const CUT_TARGETS = [
    { node: "cp-3", bundle: "apiserver" },
    { node: "cp-3", bundle: "etcd-server" },
    { node: "cp-3", bundle: "etcd-peer" },
    ...[...CONTROL_PLANE, ...WORKERS].map((node) => ({ node, bundle: "kubelet-serving" })),
  ].map((t) => ({ ...t, push: `${CLUSTER}-${t.node}-push-${t.bundle}`, key: `${CLUSTER}-${t.bundle}-${t.node}-key` }));

  /** A bundle's files on a node (from the state's catalog), with their content hashes. */
  function bundleFiles(node: string, bundle: string): Record<string, TreeEntry> {
    const b = state.result.clusters[0]!.catalog.bundles.find((x) => x.node === node && x.id.replace(/@.*$/, "") === bundle)!;
    const tree = deliveredTree(node);
    return Object.fromEntries(b.files.map((f) => [f.path, tree[f.path]!]));
  }

  interface Faults {
    /** Per target push: after how many stdin bytes its connection is cut (undefined: not cut). */
    readonly bytes?: ReadonlyMap<string, (len: number) => number | undefined>;
    /** Node addresses whose install connections are dropped (ssh client killed) at random moments. */
    readonly dropHosts?: ReadonlySet<string>;
    /** Node addresses whose node-side install script is killed at random moments (a crash of the node). */
    readonly crashHosts?: ReadonlySet<string>;
    readonly random?: () => number;
  }

  /**
   * One faulty apply (every target bundle rotated, faults injected) then one clean apply. After the faulty one:
   * only target pushes failed; a push cut before its last byte left the node's files as they were; every target
   * bundle is, as a whole, either the previous or the new one; every key on every node matches its certificate; no
   * staged file or commit marker is left. A node-side crash is the exception (a script killed between its renames
   * cannot finish them): on crashed nodes a mix and leftovers are allowed until the next apply. After the clean
   * apply, on every node: it completed, only the failed pushes were sent again, the nodes hold exactly the render of
   * the state, no key mismatch, no leftover, and the restarted servers present the new certificates.
   */
  async function faultyThenClean(label: string, faults: Faults): Promise<string> {
    const before = Object.fromEntries(CUT_TARGETS.map((t) => [t.push, bundleFiles(t.node, t.bundle)]));
    const cutAt = new Map<string, string>();
    const random = faults.random ?? Math.random;
    const scriptPids = (h: string) => nodes.installPids(h);
    const committing = (h: string) => nodes.committing(h);
    const killers = [
      // Dropped connections: a quarter timed from the client's start (mostly the handshake), the rest from the
      // script's start on the node.
      killInstallsAtRandom({
        hosts: (h) => !!faults.dropHosts?.has(h),
        target: "client",
        scriptPids,
        when: () =>
          random() < 0.25
            ? { from: "client", delayMs: Math.floor(random() * CLIENT_KILL_MS) }
            : { from: "script", delayMs: Math.floor(random() * SCRIPT_KILL_MS) },
      }),
      // Crashes: half timed from the script's start, half from its commit marker, to land inside the swap.
      killInstallsAtRandom({
        hosts: (h) => !!faults.crashHosts?.has(h),
        target: "node",
        scriptPids,
        committing,
        when: () =>
          random() < 0.5
            ? { from: "script", delayMs: Math.floor(random() * SCRIPT_KILL_MS) }
            : { from: "commit", delayMs: Math.floor(random() * COMMIT_KILL_MS) },
      }),
    ];
    let cut: Applied;
    const killed: RandomKill[] = [];
    try {
      cut = await apply(config(), {
        prior: withKeysReplaced(
          state,
          CUT_TARGETS.map((t) => t.key),
        ),
        cutAfter: (r) => {
          const at = faults.bytes?.get(r.resource)?.(r.stdinBytes);
          if (at !== undefined) cutAt.set(r.resource, `${at}/${r.stdinBytes}`);
          return at;
        },
      });
    } finally {
      for (const stop of killers) killed.push(...(await stop()));
    }
    const crashed = (node: string) => !!faults.crashHosts?.has(nodes.node(node).address);

    const failed = cut.ev.failures.map((f) => f.name);
    assert.ok(
      failed.every((f) => CUT_TARGETS.some((t) => t.push === f)),
      `${label}: only faulty pushes fail: ${failed.join(", ")}`,
    );
    for (const [push, at] of cutAt) {
      const [sent, len] = at.split("/").map(Number);
      if (sent! >= len!) continue;
      assert.ok(failed.includes(push), `${label}: ${push} cut at ${at} fails`);
      const t = CUT_TARGETS.find((x) => x.push === push)!;
      assert.deepEqual(bundleFiles(t.node, t.bundle), before[push], `${label}: ${push} cut at ${at} B: the node keeps its previous files`);
    }
    const sent = await render(cut.ev);
    const outcome = { previous: 0, new: 0, mixed: 0 };
    for (const t of CUT_TARGETS) {
      const now = bundleFiles(t.node, t.bundle);
      const fresh = readTree(join(sent, t.node), { skip: RENDER_ONLY });
      const isNew = Object.keys(now).every((path) => isDeepStrictEqual(now[path], fresh[path]));
      const isPrevious = isDeepStrictEqual(now, before[t.push]);
      assert.ok(isNew || isPrevious || crashed(t.node), `${label}: ${t.push} is neither the previous nor the new bundle`);
      outcome[isNew ? "new" : isPrevious ? "previous" : "mixed"]++;
    }
    rmSync(sent, { recursive: true, force: true });
    const mismatches = everyKeyMismatch();
    assert.deepEqual(
      mismatches.filter((m) => !crashed(m.split(":")[0]!)),
      [],
      `${label}: key mismatches after the faulty apply`,
    );
    assert.deepEqual(
      allNodes()
        .filter((n) => !crashed(n))
        .flatMap(leftovers),
      [],
      `${label}: staged files left after the faulty apply`,
    );
    const crashLeftovers = allNodes().filter(crashed).flatMap(leftovers).length;

    const retry = await apply(config());
    assert.deepEqual(retry.ev.failures, [], `${label}: the next apply completes`);
    assert.ok(
      retry.runs.filter((r) => r.resource.includes("-push-")).every((r) => failed.includes(r.resource)),
      `${label}: only the failed pushes are sent again`,
    );
    assert.deepEqual(everyKeyMismatch(), [], `${label}: key mismatches after the next apply`);
    assert.deepEqual(everyLeftover(), [], `${label}: staged files or commit markers left after the next apply`);
    await assertNodesMatchRender(retry.ev);
    for (const n of allNodes()) assert.equal(await servedKubelet(n), fingerprintOf(n, KUBELET_SERVING), `${n} kubelet`);
    assert.equal(await servedApiServer("cp-3"), fingerprintOf("cp-3", `${PKI}/apiserver.crt`));

    const name = (address: string) => nodes.nodes.find((n) => n.address === address)?.name;
    const cuts = [...cutAt].map(([p, at]) => `${p.replace(`${CLUSTER}-`, "").replace("-push-", " ")}@${at}`);
    const kills = killed.map(
      (k) => `${name(k.host)} ${k.target === "client" ? "conn" : "crash"} ${k.from}+${k.afterMs}ms${k.hit ? "" : " (over)"}`,
    );
    return (
      `${label}: ${failed.length}/${CUT_TARGETS.length} pushes failed; bundles then previous ${outcome.previous}, ` +
      `new ${outcome.new}, mixed ${outcome.mixed} (${mismatches.length} key mismatches, ${crashLeftovers} leftovers on crashed nodes); ` +
      `retry ran ${retry.runs.length} commands; ${cut.seconds.toFixed(1)} + ${retry.seconds.toFixed(1)} s\n` +
      `        cut: ${cuts.join(", ") || "-"}\n        killed: ${kills.join(", ") || "-"}`
    );
  }

  it("a connection cut at fixed points of a push installs nothing there, and the next apply completes", async () => {
    await deployed();
    const commitLine = "commit 2\n".length; // every target bundle is a certificate and its key
    const bytes = new Map<string, (len: number) => number>([
      [`${CLUSTER}-cp-3-push-apiserver`, () => 0],
      [`${CLUSTER}-cp-3-push-etcd-server`, () => 1],
      [`${CLUSTER}-cp-3-push-etcd-peer`, (n) => Math.floor(n / 4)],
      [`${CLUSTER}-cp-3-push-kubelet-serving`, (n) => Math.floor(n / 2)],
      [`${CLUSTER}-cp-1-push-kubelet-serving`, (n) => n - commitLine], // every file, not the commit line
      [`${CLUSTER}-cp-2-push-kubelet-serving`, (n) => n - 4], // inside the commit line
      [`${CLUSTER}-w-1-push-kubelet-serving`, (n) => n - 1], // all but the commit line's newline
      // w-2's push is not cut: it installs, in the same apply.
    ]);
    const line = await faultyThenClean("fixed offsets", { bytes });
    console.log(`      ${line}`);
  });

  it(`connections cut at random offsets or dropped at random moments never leave a key that does not match (${RANDOM_ATTEMPTS} attempts, seed ${SEED})`, async function () {
    this.timeout(60_000 + RANDOM_ATTEMPTS * 60_000);
    await deployed();
    for (let attempt = 1; attempt <= RANDOM_ATTEMPTS; attempt++) {
      const random = prng(SEED * 100 + attempt);
      const bytes = new Map<string, (len: number) => number | undefined>();
      const dropHosts = new Set<string>();
      // Per node: either drop its install connections at random moments (handshake, transfer, or after the commit
      // line while the node swaps files), or cut each target push after a random number of bytes — 0 and all-but-
      // one byte included, sometimes not at all.
      for (const n of nodes.nodes) {
        if (random() < 0.4) {
          dropHosts.add(n.address);
          continue;
        }
        for (const t of CUT_TARGETS.filter((x) => x.node === n.name)) {
          const [p, f] = [random(), random()]; // drawn now: the order pushes run in must not change the plan
          bytes.set(t.push, (len) => (p < 0.15 ? 0 : p < 0.3 ? len - 1 : p < 0.4 ? undefined : Math.floor(f * len)));
        }
      }
      console.log(`      ${await faultyThenClean(`attempt ${attempt}`, { bytes, dropHosts, random: prng(SEED * 100 + attempt + 50) })}`);
    }
  });

  it(`a node-side install killed at random moments (a crash) is repaired by the next apply (${CRASH_ATTEMPTS} attempts, seed ${SEED})`, async function () {
    this.timeout(60_000 + CRASH_ATTEMPTS * 60_000);
    await deployed();
    // Unlike a dropped connection, a crash can stop the script between its renames; the commit marker it wrote
    // first lets the next install of the bundle finish them (roll forward) before anything else.
    for (let attempt = 1; attempt <= CRASH_ATTEMPTS; attempt++) {
      const crashHosts = new Set(nodes.nodes.map((n) => n.address));
      console.log(`      ${await faultyThenClean(`crash ${attempt}`, { crashHosts, random: prng(SEED * 100 + attempt + 90) })}`);
    }
  });

  it("a cut push on cp-1 fails only that push: the restarts behind it are skipped, and the next apply completes them", async () => {
    await deployed();
    const sans = [...deployedSans(), "cut-on-cp-1.example.com"];
    const cut = await apply(config({ sans }), {
      cutAfter: (r) => (r.resource === `${CLUSTER}-cp-1-push-apiserver` ? Math.floor(r.stdinBytes / 2) : undefined),
    });
    assert.deepEqual(
      cut.ev.failures.map((f) => f.name),
      [`${CLUSTER}-cp-1-push-apiserver`],
    );
    // cp-1's restart waits on its push; cp-2's and cp-3's wait on the previous node's restart (one node at a time).
    assert.deepEqual(cut.ev.skipped.map((x) => x.name).sort(), CONTROL_PLANE.map((n) => `${CLUSTER}-${n}-restart-kube-apiserver`).sort());
    assert.deepEqual(cut.ev.deleted, [], "nothing skipped or failed is taken for deleted");
    assert.deepEqual(
      names(cut.runs).sort(),
      CONTROL_PLANE.map((n) => `${CLUSTER}-${n}-push-apiserver`).sort(),
      "the other nodes' pushes ran; no restart ran",
    );
    const crt = join(rootOf("cp-1"), PKI, "apiserver.crt");
    assert.doesNotMatch(new X509Certificate(readFileSync(crt)).subjectAltName!, /cut-on-cp-1/, "cp-1 kept its previous certificate");
    assert.ok(
      new X509Certificate(readFileSync(crt)).checkPrivateKey(createPrivateKey(readFileSync(join(rootOf("cp-1"), PKI, "apiserver.key")))),
    );
    const retry = await apply(config({ sans }));
    assert.deepEqual(retry.ev.failures, []);
    assert.deepEqual(
      names(retry.runs).sort(),
      [`${CLUSTER}-cp-1-push-apiserver`, ...CONTROL_PLANE.map((n) => `${CLUSTER}-${n}-restart-kube-apiserver`)].sort(),
      "only what did not happen runs now",
    );
    for (const n of CONTROL_PLANE)
      assert.equal(await servedApiServer(n), fingerprintOf(n, `${PKI}/apiserver.crt`), `${n} serves the new certificate`);
    await assertNodesMatchRender(retry.ev);
  });

  // ---- removal ------------------------------------------------------------------------------------------------------------

  it("a node removed from the config keeps its files by default (no command, no session)", async () => {
    await deployed();
    const kept = deliveredTree("w-2");
    const removed = await apply(config({ without: ["w-2"] }));
    assert.deepEqual(removed.ev.failures, []);
    assert.ok(
      removed.ev.deleted.some((r) => r.name === `${CLUSTER}-w-2-push-kubelet-serving`),
      "its pushes leave the state",
    );
    assert.deepEqual(removed.runs, [], "no delete command: removeFiles is off");
    assert.equal(removed.sessions["w-2"], 0);
    assert.deepEqual(deliveredTree("w-2"), kept);
  });

  it("with delivery.removeFiles, a node removed from the config has its files deleted", async () => {
    // Deployed with removeFiles: every push carries its delete command (an input change from the usual config: each
    // bundle is sent again, unchanged; after the test above, w-2 comes back with new certificates).
    await deployed({ removeFiles: true });
    await assertNodesMatchRender(state);
    const w2Files = Object.keys(deliveredTree("w-2"));
    assert.equal(w2Files.length, 5);

    const w2Pushes = state.resources.filter((r) => r.type === "command:remote:Command" && r.name.startsWith(`${CLUSTER}-w-2-push-`));
    assert.equal(w2Pushes.length, 4, "ca, kubelet-serving, kubelet.conf, kube-proxy.conf");
    const removed = await apply(config({ removeFiles: true, without: ["w-2"] }));
    assert.deepEqual(removed.ev.failures, []);
    assert.deepEqual(
      removed.runs.map((r) => `${r.phase} ${r.resource}`).sort(),
      w2Pushes.map((r) => `delete ${r.name}`).sort(),
      "one delete per bundle of w-2 (its restarts have nothing to delete)",
    );
    assert.ok(
      removed.runs.every((r) => r.exitCode === 0 && r.host?.startsWith("127.0.0.22:")),
      "deletes run on w-2 only",
    );
    // Only the restart state (what each component last loaded) stays: kube-pki's bookkeeping, no certificate or key.
    assert.deepEqual(
      filesOf("w-2").filter((f) => !/\/var\/lib\/kube-pki\//.test(f)),
      [],
      "no file left on w-2 (backups included)",
    );
    for (const n of allNodes().filter((x) => x !== "w-2")) assert.equal(removed.sessions[n], 0, `${n} untouched`);
    await assertNodesMatchRender(
      removed.ev,
      allNodes().filter((x) => x !== "w-2"),
    );
  });
});
