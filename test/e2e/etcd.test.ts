// End-to-end: a real 3-member etcd cluster (Debian etcd-server 3.4) on loopback, one member per control-plane node
// of the rendered e2e cluster at the node's own address, serving clients on :2379 and peers on :2380 with that
// node's etcd/server and etcd/peer certificates and requiring client certificates from the etcd CA on both ports,
// as kubeadm's stacked etcd does. Checks with etcdctl (API v3) that the members find each other (peer mTLS), that
// the apiserver-etcd-client and etcd/healthcheck-client certificates can write and read, and that client
// certificates from another CA, or none, are refused. Members are stopped in `after`, also when a test failed.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import {
  Daemon,
  describe as showRun,
  isListening,
  makeTempDir,
  removeTempDir,
  requireProgram,
  run,
  RunResult,
  startDaemon,
  stopDaemon,
  tail,
  waitForPort,
} from "./proc";
import { CONTROL_PLANE, E2eNode, Rendered, deployed } from "./rendered";

const PKI = "/etc/kubernetes/pki";
const ETCD_CA = `${PKI}/etcd/ca.crt`;
/** The client identities used below, as base paths of their .crt/.key on a control-plane node. */
const CLIENT = {
  apiserver: `${PKI}/apiserver-etcd-client`,
  healthcheck: `${PKI}/etcd/healthcheck-client`,
  /** Signed by the cluster CA, not the etcd CA: etcd must refuse it. */
  foreign: `${PKI}/apiserver-kubelet-client`,
} as const;
type ClientName = keyof typeof CLIENT;

const clientUrl = (n: E2eNode) => `https://${n.address}:2379`;
const peerUrl = (n: E2eNode) => `https://${n.address}:2380`;

describe("e2e: a 3-member etcd cluster runs on the etcd certificates pulumi up delivered", function () {
  this.timeout(180_000);
  let r: Rendered;
  let work: string;
  const members = new Map<string, Daemon>();
  const checked: string[] = [];
  const token = `kube-pki-e2e-${process.pid}-${randomBytes(3).toString("hex")}`;

  /** etcdctl (API v3) as `client` of node `n`, against `endpoints` (default: n's member). Bounded by its timeouts. */
  const etcdctl = (
    n: E2eNode,
    client: ClientName | "none",
    args: string[],
    endpoints = [clientUrl(n)],
    timeout = "5s",
  ): Promise<RunResult> => {
    const identity =
      client === "none" ? [] : ["--cert", r.file(n.name, `${CLIENT[client]}.crt`), "--key", r.file(n.name, `${CLIENT[client]}.key`)];
    return run(
      "etcdctl",
      [
        "--endpoints",
        endpoints.join(","),
        "--cacert",
        r.file(n.name, ETCD_CA),
        ...identity,
        "--dial-timeout",
        "3s",
        "--command-timeout",
        timeout,
        ...args,
      ],
      {
        // Only what etcdctl needs: stray ETCDCTL_* variables of the caller must not change the identity used.
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ETCDCTL_API: "3" },
        timeoutMs: 20_000,
      },
    );
  };

  before(async function () {
    const etcdVersion = await requireProgram("etcd", ["--version"], "npm run toolchain builds etcd 3.6");
    await requireProgram("etcdctl", ["version"], "npm run toolchain builds etcdctl 3.6");
    r = await deployed();
    work = makeTempDir("etcd");
    // A leftover etcd (or anything else) on these ports would answer in our members' place.
    for (const n of CONTROL_PLANE) {
      for (const port of [2379, 2380]) assert.ok(!(await isListening(n.address, port)), `${n.address}:${port} is already in use`);
    }
    const initialCluster = CONTROL_PLANE.map((n) => `${n.name}=${peerUrl(n)}`).join(",");
    for (const n of CONTROL_PLANE) {
      const f = (p: string) => r.file(n.name, p);
      members.set(
        n.name,
        startDaemon(
          `etcd ${n.name}`,
          "etcd",
          [
            "--name",
            n.name,
            "--data-dir",
            join(work, `${n.name}.etcd`),
            "--listen-client-urls",
            clientUrl(n),
            "--advertise-client-urls",
            clientUrl(n),
            "--listen-peer-urls",
            peerUrl(n),
            "--initial-advertise-peer-urls",
            peerUrl(n),
            "--initial-cluster",
            initialCluster,
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            token,
            // kubeadm's stacked etcd flags (etcd static pod manifest): mutual TLS on both ports, etcd CA only.
            "--cert-file",
            f(`${PKI}/etcd/server.crt`),
            "--key-file",
            f(`${PKI}/etcd/server.key`),
            "--client-cert-auth",
            "--trusted-ca-file",
            f(ETCD_CA),
            "--peer-cert-file",
            f(`${PKI}/etcd/peer.crt`),
            "--peer-key-file",
            f(`${PKI}/etcd/peer.key`),
            "--peer-client-cert-auth",
            "--peer-trusted-ca-file",
            f(ETCD_CA),
            "--snapshot-count",
            "10000",
            "--heartbeat-interval",
            "100",
            "--election-timeout",
            "1000",
          ],
          join(work, `${n.name}.log`),
          { maxLifetimeMs: 240_000 },
        ),
      );
    }
    for (const n of CONTROL_PLANE) await waitForPort(n.address, 2379, 30_000, members.get(n.name));
    // Listening is not serving: wait (bounded) until a leader is elected and all three answer.
    const deadline = Date.now() + 30_000;
    let last: RunResult | undefined;
    while (Date.now() < deadline) {
      last = await etcdctl(CONTROL_PLANE[0]!, "healthcheck", ["endpoint", "health"], CONTROL_PLANE.map(clientUrl));
      if (last.code === 0) break;
      for (const [name, d] of members) assert.ok(!d.exited, `etcd ${name} exited (${d.exitStatus}):\n${tail(d.log())}`);
      await new Promise((res) => setTimeout(res, 500));
    }
    assert.equal(last?.code, 0, `the cluster did not become healthy within 30 s\n${last && showRun(last)}\n${logs()}`);
    console.log(`      ${etcdVersion}: 3 members up on ${CONTROL_PLANE.map((n) => n.address).join(", ")}`);
  });

  const logs = () => [...members.values()].map((d) => `--- ${d.name} log\n${tail(d.log(), 15)}`).join("\n");

  after(async function () {
    this.timeout(30_000);
    await Promise.all([...members.values()].map((d) => stopDaemon(d)));
    if (checked.length > 0) console.log(`      etcd checks: ${checked.length}\n${checked.map((c) => `        - ${c}`).join("\n")}`);
    // Fails the hook (and so the run) if a member survived its stop.
    const survivors = [];
    for (const n of CONTROL_PLANE) if (await isListening(n.address, 2379)) survivors.push(n.address);
    if (work) removeTempDir(work);
    assert.deepEqual(survivors, [], "etcd still listening after the members were stopped");
  });

  it("reports all three endpoints healthy, through each member's own healthcheck client", async function () {
    for (const n of CONTROL_PLANE) {
      const h = await etcdctl(n, "healthcheck", ["endpoint", "health"], CONTROL_PLANE.map(clientUrl));
      assert.equal(h.code, 0, showRun(h));
      // etcdctl 3.4 prints the health lines on stderr.
      const healthy = (h.stdout + h.stderr)
        .split("\n")
        .filter((l) => / is healthy: /.test(l))
        .map((l) => l.split(" ")[0])
        .sort();
      assert.deepEqual(healthy, CONTROL_PLANE.map(clientUrl).sort(), showRun(h));
    }
    checked.push("endpoint health: 3/3 healthy, asked with the healthcheck-client of cp-1, cp-2 and cp-3");
  });

  it("lists three started members named after the nodes, at the nodes' addresses", async function () {
    const list = await etcdctl(CONTROL_PLANE[0]!, "apiserver", ["member", "list", "-w", "json"]);
    assert.equal(list.code, 0, showRun(list));
    const members = (JSON.parse(list.stdout).members ?? []) as { name?: string; peerURLs?: string[]; clientURLs?: string[] }[];
    // A member that has not started has no name and no client URLs yet.
    const started = members
      .filter((m) => m.name && (m.clientURLs ?? []).length > 0)
      .map((m) => ({ name: m.name, peer: m.peerURLs, client: m.clientURLs }))
      .sort((a, b) => a.name!.localeCompare(b.name!));
    assert.deepEqual(
      started,
      CONTROL_PLANE.map((n) => ({ name: n.name, peer: [peerUrl(n)], client: [clientUrl(n)] })),
      list.stdout,
    );
    assert.equal(members.length, 3, list.stdout);
    checked.push("member list: 3 members, all started, names and URLs of cp-1..cp-3");
  });

  it("writes and reads keys with apiserver-etcd-client and etcd/healthcheck-client, across members", async function () {
    const written = new Map<string, string>();
    for (const n of CONTROL_PLANE) {
      for (const client of ["apiserver", "healthcheck"] as const) {
        const key = `/kube-pki-e2e/${client}/${n.name}`;
        const value = randomBytes(8).toString("hex");
        const put = await etcdctl(n, client, ["put", key, value]);
        assert.equal(put.code, 0, showRun(put));
        assert.match(put.stdout, /^OK/, showRun(put));
        written.set(key, value);
      }
    }
    // Every member, with both identities, reads every key (linearizable reads: through the leader's quorum).
    for (const n of CONTROL_PLANE) {
      for (const client of ["apiserver", "healthcheck"] as const) {
        const get = await etcdctl(n, client, ["get", "/kube-pki-e2e/", "--prefix", "-w", "json"]);
        assert.equal(get.code, 0, showRun(get));
        const kvs = (JSON.parse(get.stdout).kvs ?? []) as { key: string; value: string }[];
        const read = new Map(kvs.map((kv) => [Buffer.from(kv.key, "base64").toString(), Buffer.from(kv.value, "base64").toString()]));
        assert.deepEqual(read, written, `${client} client of ${n.name} read other values`);
      }
    }
    checked.push(
      `put ${written.size} keys (apiserver-etcd-client and healthcheck-client of each node, each on its own member); ` +
        `read all of them back on all 3 members with both identities`,
    );
  });

  it("refuses a client certificate from the cluster CA (apiserver-kubelet-client), and no certificate at all", async function () {
    // etcdctl only reports "context deadline exceeded" (gRPC retries until its deadline): the member's log says why.
    // Members are probed in parallel, the two clients of one member one after the other, so each log slice is theirs.
    await Promise.all(
      CONTROL_PLANE.map(async (n) => {
        const member = members.get(n.name)!;
        for (const client of ["foreign", "none"] as const) {
          const logBefore = member.log().length;
          const refused = await etcdctl(n, client, ["get", "/kube-pki-e2e/", "--prefix"], [clientUrl(n)], "2s");
          assert.notEqual(refused.code, 0, `${n.name} accepted the ${client} client:\n${showRun(refused)}`);
          assert.equal(refused.timedOut, false, showRun(refused));
          // The refusal must be etcd's TLS check, not an outage: the member says why, and still serves a good client.
          const said = member.log().slice(logBefore);
          const why = client === "foreign" ? /certificate signed by unknown authority/ : /didn't provide a certificate/;
          assert.match(said, /rejected connection/, `${member.name} logged no rejection:\n${said}\n${showRun(refused)}`);
          assert.match(said, why, `${member.name}'s rejection names another reason:\n${said}`);
          const ok = await etcdctl(n, "healthcheck", ["get", "/kube-pki-e2e/", "--prefix", "--keys-only"]);
          assert.equal(ok.code, 0, showRun(ok));
        }
      }),
    );
    checked.push(
      'client port of each member refuses apiserver-kubelet-client (cluster CA: "certificate signed by unknown ' +
        'authority") and a client without certificate ("client didn\'t provide a certificate"); the member keeps serving',
    );
  });

  it("requires etcd-CA client certificates on the peer port too", async function () {
    for (const n of CONTROL_PLANE) {
      const peer = await probe(n, r, `${PKI}/etcd/healthcheck-client`);
      assert.equal(peer.ok, true, `${n.name}:2380 refused an etcd-CA client: ${peer.detail}`);
      const foreign = await probe(n, r, CLIENT.foreign);
      assert.equal(foreign.ok, false, `${n.name}:2380 answered a cluster-CA client: ${foreign.detail}`);
      // Refused by the TLS layer (alert 42 bad certificate), not a timeout or a closed port.
      assert.match(foreign.detail, /alert bad certificate|unknown ca/, `${n.name}:2380 refused for another reason`);
    }
    checked.push("peer port of each member answers an etcd-CA client and refuses apiserver-kubelet-client");
  });
});

/** An HTTPS GET of the peer port's /members as `client` (a .crt/.key base path), trusting the etcd CA; 5 s bound. */
function probe(n: E2eNode, r: Rendered, client: string): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: n.address,
        port: 2380,
        path: "/members",
        method: "GET",
        timeout: 5_000,
        ca: readFileSync(r.file(n.name, ETCD_CA)),
        cert: readFileSync(r.file(n.name, `${client}.crt`)),
        key: readFileSync(r.file(n.name, `${client}.key`)),
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ ok: true, detail: `HTTP ${res.statusCode}` }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (e) => resolve({ ok: false, detail: e.message }));
    req.end();
  });
}
