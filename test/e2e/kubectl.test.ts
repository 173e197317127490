// End-to-end: kubectl with every rendered kubeconfig completes mutual TLS with a stand-in API server. For each
// control-plane node a Node `https` server on that node's loopback address presents the node's rendered
// apiserver.crt/.key and requires a client certificate from the rendered cluster CA (requestCert +
// rejectUnauthorized, like kube-apiserver's --client-ca-file), answering /version with JSON. kubectl is pointed at
// it with --server (the kubeconfigs name 127.0.0.10:6443, the load balancer, which does not exist here); what
// verifies the server is the CA data inside each kubeconfig. The server records the client identity (CN and O) it
// saw, per request, so each kubeconfig's identity is checked on the server side. Also: --tls-server-name for every
// SAN of the apiserver certificate (and refusals for names it must not have), and refusal of client certificates
// from the other CAs.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, Server } from "node:https";
import { AddressInfo } from "node:net";
import { TLSSocket } from "node:tls";
import { join } from "node:path";
import { stringify } from "yaml";
import { CPE, ExpectedCert, expectedCertificates, operatorAdminConf } from "./expected";
import { describe as showRun, makeTempDir, removeTempDir, requireProgram, run, RunResult } from "./proc";
import { CONTROL_PLANE, decodeKubeconfig, Rendered, deployed } from "./rendered";

const PKI = "/etc/kubernetes/pki";
const GIT_VERSION = "v1.31.0+kube-pki-e2e";

/** What the stand-in API server saw of one kubectl request (matched by the ?probe= query parameter). */
interface Seen {
  readonly cn?: string;
  readonly o?: string | string[];
  readonly server: string;
}

describe("e2e: kubectl authenticates with every delivered kubeconfig to a server presenting the rendered apiserver certificate", function () {
  this.timeout(180_000);
  let r: Rendered;
  let work: string;
  const servers = new Map<string, { server: Server; url: string }>();
  const seen = new Map<string, Seen>();
  const tlsErrors: { server: string; message: string }[] = [];
  const counts = { kubeconfigs: 0, namesOk: 0, namesRefused: 0, foreignRefused: 0 };

  /** kubectl get --raw /version with a probe id, bounded by --request-timeout and a process timeout. */
  const kubectl = (kubeconfig: string, server: string, probe: string, extra: string[] = []): Promise<RunResult> =>
    run(
      "kubectl",
      ["--kubeconfig", kubeconfig, "--server", server, "--request-timeout", "10s", ...extra, "get", "--raw", `/version?probe=${probe}`],
      {
        // A private HOME: no ~/.kube cache or config of the caller is read or written.
        env: { PATH: process.env.PATH, HOME: work },
        timeoutMs: 30_000,
      },
    );
  const probeId = () => randomBytes(6).toString("hex");

  before(async function () {
    const version = await requireProgram("kubectl", ["version", "--client"], "npm run toolchain builds kubectl");
    r = await deployed();
    work = makeTempDir("kubectl");
    for (const n of CONTROL_PLANE) {
      const server = createServer(
        {
          key: r.read(n.name, `${PKI}/apiserver.key`),
          cert: r.read(n.name, `${PKI}/apiserver.crt`),
          ca: r.read(n.name, `${PKI}/ca.crt`),
          requestCert: true,
          rejectUnauthorized: true,
        },
        (req, res) => {
          const probe = new URL(req.url ?? "/", "https://x").searchParams.get("probe") ?? "";
          const subject = (req.socket as TLSSocket).getPeerCertificate().subject as { CN?: string; O?: string | string[] } | undefined;
          seen.set(probe, { cn: subject?.CN, o: subject?.O, server: n.name });
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ major: "1", minor: "31", gitVersion: GIT_VERSION, platform: "linux/amd64" }));
        },
      );
      // With rejectUnauthorized, Node ends a handshake whose client certificate does not verify (the client reads EOF);
      // the reason is left on the socket as authorizationError (e.g. UNABLE_TO_GET_ISSUER_CERT_LOCALLY).
      server.on("tlsClientError", (e, socket) =>
        tlsErrors.push({ server: n.name, message: `${e.message} (${socket.authorizationError ?? "no authorization error"})` }),
      );
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, n.address, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      servers.set(n.name, { server, url: `https://${n.address}:${port}` });
    }
    console.log(`      ${version}; stand-in API servers at ${[...servers.values()].map((s) => s.url).join(", ")}`);
  });

  after(async function () {
    for (const { server } of servers.values()) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    console.log(
      `      kubectl: ${counts.kubeconfigs} kubeconfigs authenticated with the expected identity, ` +
        `${counts.namesOk} --tls-server-name values accepted and ${counts.namesRefused} refused, ` +
        `${counts.foreignRefused} client certificates from other CAs refused`,
    );
    if (work) removeTempDir(work);
  });

  const kubeconfigs = (): ExpectedCert[] => [...expectedCertificates().filter((c) => c.kind === "kubeconfig"), operatorAdminConf()];
  /** CPE kubeconfigs (the load balancer, absent here) go to cp-1's server; LOCAL ones to their own node's. */
  const serverFor = (exp: ExpectedCert) => servers.get(exp.server === CPE ? "cp-1" : exp.node)!;

  it("names the reference's server, cluster, user and context in every kubeconfig", function () {
    const problems: string[] = [];
    for (const exp of kubeconfigs()) {
      const kc = decodeKubeconfig(r.read(exp.node, exp.path));
      // §4: cluster = clusterName (default kubernetes), user = the CN, context = <CN>@<clusterName>.
      const want = { server: exp.server, clusterName: "kubernetes", user: exp.cn, context: `${exp.cn}@kubernetes` };
      const have = { server: kc.server, clusterName: kc.clusterName, user: kc.user, context: kc.context };
      if (JSON.stringify(have) !== JSON.stringify(want)) problems.push(`${exp.id}: ${JSON.stringify(have)}, want ${JSON.stringify(want)}`);
    }
    if (problems.length > 0) assert.fail(`${problems.length} problem(s):\n${problems.join("\n")}`);
  });

  it("completes mutual TLS with every kubeconfig, and the server sees the expected CN and O", async function () {
    const problems: string[] = [];
    for (const exp of kubeconfigs()) {
      const { url } = serverFor(exp);
      const probe = probeId();
      const out = await kubectl(r.file(exp.node, exp.path), url, probe);
      if (out.code !== 0) {
        problems.push(`${exp.id}: kubectl failed against ${url}\n${showRun(out)}`);
        continue;
      }
      if ((JSON.parse(out.stdout) as { gitVersion?: string }).gitVersion !== GIT_VERSION)
        problems.push(`${exp.id}: unexpected answer ${out.stdout}`);
      const saw = seen.get(probe);
      const want = { cn: exp.cn, o: exp.o };
      if (!saw || saw.cn !== want.cn || saw.o !== want.o) {
        problems.push(`${exp.id}: the server saw ${JSON.stringify(saw)}, want ${JSON.stringify(want)}`);
        continue;
      }
      counts.kubeconfigs++;
    }
    if (problems.length > 0) assert.fail(`${problems.length} problem(s):\n${problems.join("\n")}`);
  });

  it("accepts every SAN of each node's apiserver certificate as --tls-server-name, and refuses names it must not have", async function () {
    const problems: string[] = [];
    for (const n of CONTROL_PLANE) {
      const apiserver = expectedCertificates().find((c) => c.id === `apiserver@${n.name}`)!;
      const { url } = servers.get(n.name)!;
      const admin = r.file(n.name, "/etc/kubernetes/admin.conf");
      for (const name of [...apiserver.dns, ...apiserver.ips]) {
        const out = await kubectl(admin, url, probeId(), ["--tls-server-name", name]);
        if (out.code === 0) counts.namesOk++;
        else problems.push(`${n.name}: --tls-server-name ${name} refused\n${showRun(out)}`);
      }
      for (const name of [...apiserver.notDns, ...apiserver.notIps]) {
        const out = await kubectl(admin, url, probeId(), ["--tls-server-name", name]);
        // Go's verifier names the mismatch; anything else (e.g. a timeout) proves nothing about the certificate.
        if (
          out.code !== 0 &&
          /x509: certificate is (valid for .*, )?not valid for|x509: certificate is valid for .*, not /.test(out.stderr)
        ) {
          counts.namesRefused++;
        } else {
          problems.push(`${n.name}: --tls-server-name ${name} must fail with an x509 name mismatch\n${showRun(out)}`);
        }
      }
    }
    if (problems.length > 0) assert.fail(`${problems.length} problem(s):\n${problems.join("\n")}`);
  });

  it("is refused with a client certificate from the etcd or front-proxy CA", async function () {
    const problems: string[] = [];
    const caData = decodeKubeconfig(r.read("cp-1", "/etc/kubernetes/admin.conf")).caPem;
    for (const base of [`${PKI}/apiserver-etcd-client`, `${PKI}/front-proxy-client`]) {
      // The cluster CA to trust the server, with a client identity the server's CA did not sign.
      const file = join(work, `${base.split("/").pop()}.conf`);
      writeFileSync(file, kubeconfigYaml(caData, r.read("cp-1", `${base}.crt`), r.read("cp-1", `${base}.key`)), { mode: 0o600 });
      const { url } = servers.get("cp-1")!;
      const errorsBefore = tlsErrors.length;
      const probe = probeId();
      const out = await kubectl(file, url, probe);
      const serverSaid = tlsErrors
        .slice(errorsBefore)
        .map((e) => e.message)
        .join("; ");
      if (out.code === 0 || seen.has(probe)) {
        problems.push(`${base}: accepted\n${showRun(out)}`);
      } else if (!/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/.test(serverSaid)) {
        problems.push(`${base}: refused, but not for an untrusted issuer (server: ${serverSaid})\n${showRun(out)}`);
      } else {
        counts.foreignRefused++;
      }
    }
    if (problems.length > 0) assert.fail(`${problems.length} problem(s):\n${problems.join("\n")}`);
  });
});

/** A minimal kubeconfig with embedded data (the server is always given with --server). */
function kubeconfigYaml(caPem: string, certPem: string, keyPem: string): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    "current-context": "probe",
    clusters: [{ name: "probe", cluster: { server: "https://127.0.0.10:6443", "certificate-authority-data": b64(caPem) } }],
    users: [{ name: "probe", user: { "client-certificate-data": b64(certPem), "client-key-data": b64(keyPem) } }],
    contexts: [{ name: "probe", context: { cluster: "probe", user: "probe" } }],
  });
}
