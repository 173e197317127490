// Clients of every kind a cluster has, looping against the control plane while its PKI changes under it: an admin
// (kubectl through the load balancer), a kubelet, the controller-manager's identity, the front proxy (an aggregated
// API server's X-Remote-User), an etcd client (all three members), and a service-account token. Each reads its
// files afresh on every request, as kubectl does with its kubeconfig and a certificate reloader with its pair, so
// files kube-pki replaced are used as soon as they are there. A request that fails is recorded with its message.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { join } from "node:path";
import { makeTempDir, run } from "../e2e/proc";
import { API_PORT, ENDPOINT, LabNode } from "./controlPlane";

export interface ProbeStats {
  /** Requests made per client kind. */
  readonly counts: Record<string, number>;
  /** `<client>: <message>` of every failed request. */
  readonly failures: string[];
  /** The slowest request per client kind, in seconds (a request that gave an answer in its 30 s counts as served). */
  readonly slowest: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A certificate and key read as one consistent pair: a process reading both while an install renames them one after
 * the other can see a new certificate with the old key; a certificate reloader keeps what it had then and reads
 * again, and so does this.
 */
async function readPair(crt: string, key: string): Promise<{ cert: string; key: string }> {
  for (let i = 0; ; i++) {
    const pair = { cert: readFileSync(crt, "utf8"), key: readFileSync(key, "utf8") };
    if (new X509Certificate(pair.cert).checkPrivateKey(createPrivateKey(pair.key)) || i >= 20) return pair;
    await sleep(50);
  }
}

/**
 * An HTTPS request with a client certificate; status and body. With `timeoutMs`, a request idle that long fails
 * ("timeout"); without, it waits.
 */
export function httpsRequest(opts: {
  host: string;
  port: number;
  path: string;
  method: string;
  ca: string | Buffer;
  cert: string | Buffer;
  key: string | Buffer;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: opts.host,
        port: opts.port,
        path: opts.path,
        method: opts.method,
        agent: false,
        ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        headers: { "content-type": "application/json", ...opts.headers },
      },
      (res) => {
        let body = "";
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    if (opts.timeoutMs !== undefined) req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end(opts.body);
  });
}

/**
 * Starts the clients (once admin has the first token). `cp1` and `cp2` are control-plane nodes whose files they use; `etcdMembers` are the etcd
 * members the etcd client knows. The service-account client asks admin for a new token every `tokenRefreshMs`, as
 * the kubelet refreshes a pod's projected token before it expires.
 */
export async function startClients(cp1: LabNode, cp2: LabNode, etcdMembers: readonly LabNode[], opts: { tokenRefreshMs?: number } = {}) {
  let running = true;
  const stats: ProbeStats = { counts: {}, failures: [], slowest: {} };
  const conf = (n: LabNode, f: string) => join(n.root, "etc/kubernetes", f);
  const pki = (n: LabNode, f: string) => join(n.root, "etc/kubernetes/pki", f);
  const scratch = makeTempDir("clients");
  const empty = join(scratch, "empty.conf");
  writeFileSync(empty, "apiVersion: v1\nkind: Config\n");
  let token = "";

  const kubectl = (kubeconfig: string, args: string[]) =>
    run("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=30s", ...args], { timeoutMs: 40_000 });
  const whoami = async (kubeconfig: string, extra: string[], want: string): Promise<string | undefined> => {
    const r = await kubectl(kubeconfig, [...extra, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"]);
    if (r.code !== 0) return r.stderr.trim().split("\n").pop();
    return r.stdout.trim() === want ? undefined : `authenticated as ${r.stdout.trim()}, not ${want}`;
  };
  const refreshToken = async (): Promise<string | undefined> => {
    const r = await kubectl(conf(cp1, "admin.conf"), ["create", "token", "default", "-n", "default", "--duration=10m"]);
    if (r.code !== 0) return `token request: ${r.stderr.trim().split("\n").pop()}`;
    token = r.stdout.trim();
    return undefined;
  };

  const clients: Record<string, () => Promise<string | undefined>> = {
    admin: async () => {
      const r = await kubectl(conf(cp1, "admin.conf"), ["get", "namespaces", "-o", "name"]);
      return r.code === 0 ? undefined : r.stderr.trim().split("\n").pop();
    },
    kubelet: () => whoami(conf(cp1, "kubelet.conf"), [], `system:node:${cp1.name}`),
    // controller-manager.conf names the node's own API server (as kubeadm writes it), which a restart takes away for
    // a moment; the identity is what is under test here, so through the load balancer like the others.
    "controller-manager": () =>
      whoami(conf(cp2, "controller-manager.conf"), ["--server", `https://${ENDPOINT}:${API_PORT}`], "system:kube-controller-manager"),
    "front-proxy": async () => {
      const pair = await readPair(pki(cp1, "front-proxy-client.crt"), pki(cp1, "front-proxy-client.key"));
      // To the load balancer.
      const r = await httpsRequest({
        host: ENDPOINT,
        port: API_PORT,
        path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        timeoutMs: 30_000,
        method: "POST",
        ca: readFileSync(pki(cp1, "ca.crt"), "utf8"),
        ...pair,
        headers: { "X-Remote-User": "aggregated-user" },
        body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
      });
      if (r.status !== 201) return `status ${r.status}: ${r.body.slice(0, 200)}`;
      const user = JSON.parse(r.body).status.userInfo.username;
      return user === "aggregated-user" ? undefined : `the front proxy's user was not believed (${user})`;
    },
    etcd: async () => {
      const pair = await readPair(pki(cp1, "apiserver-etcd-client.crt"), pki(cp1, "apiserver-etcd-client.key"));
      writeFileSync(join(scratch, "etcd.crt"), pair.cert);
      writeFileSync(join(scratch, "etcd.key"), pair.key, { mode: 0o600 });
      writeFileSync(join(scratch, "etcd-ca.crt"), readFileSync(pki(cp1, "etcd/ca.crt")));
      const r = await run(
        "etcdctl",
        [
          `--endpoints=${etcdMembers.map((m) => `https://${m.address}:2379`).join(",")}`,
          `--cacert=${join(scratch, "etcd-ca.crt")}`,
          `--cert=${join(scratch, "etcd.crt")}`,
          `--key=${join(scratch, "etcd.key")}`,
          "--command-timeout=30s",
          "get",
          "/registry/namespaces/default",
          "--keys-only",
        ],
        { timeoutMs: 40_000 },
      );
      if (r.code !== 0) return r.stderr.trim().split("\n").pop();
      return /\/registry\/namespaces\/default/.test(r.stdout) ? undefined : `unexpected: ${r.stdout.slice(0, 200)}`;
    },
    "service-account": () =>
      whoami(
        empty,
        ["--server", `https://${ENDPOINT}:${API_PORT}`, "--certificate-authority", pki(cp1, "ca.crt"), "--token", token],
        "system:serviceaccount:default:default",
      ),
  };

  // The first token waits for controller-manager's service-account controller to make `default` (a fresh cluster).
  let first = await refreshToken();
  for (let i = 0; first && /not found/.test(first) && i < 60; i++) {
    await sleep(1_000);
    first = await refreshToken();
  }
  if (first) throw new Error(first);
  const loops = Object.entries(clients).map(async ([name, call]) => {
    while (running) {
      let failure: string | undefined;
      const start = Date.now();
      try {
        failure = await call();
      } catch (e) {
        failure = (e as Error).message;
      }
      stats.counts[name] = (stats.counts[name] ?? 0) + 1;
      stats.slowest[name] = Math.max(stats.slowest[name] ?? 0, (Date.now() - start) / 1000);
      if (failure) stats.failures.push(`${name}: ${failure}`);
      // Each kind about once a second: enough to see any gap, little enough CPU to leave the 2 cores to the rollout.
      await sleep(1_000);
    }
  });
  const refresher = (async () => {
    while (running) {
      await sleep(opts.tokenRefreshMs ?? 15_000);
      if (!running) break;
      const failure = await refreshToken();
      if (failure) stats.failures.push(`service-account: ${failure}`);
    }
  })();
  return {
    stats,
    stop: async (): Promise<ProbeStats> => {
      running = false;
      await Promise.all([...loops, refresher]);
      return stats;
    },
  };
}
