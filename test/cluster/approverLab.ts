// One control-plane node (test/cluster/controlPlane.ts) on files `npm run render` makes for a `workers: bootstrap`
// cluster, with kube-pki's approver RBAC applied and the approver run in the node's network namespace with the
// kubeconfig kube-pki issued for it: shared by test/cluster/approver.test.ts and bench/approver.ts.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { join } from "node:path";
import { parse } from "yaml";
import { approverRbacObjects, APPROVER_NAME } from "../../components/model/approverRbac";
import { renderClusters } from "../../offline/render";
import { Daemon, makeTempDir, run, RunResult, startDaemon, stopDaemon } from "../e2e/proc";
import { API_PORT, ControlPlane, LabNetwork, LabNode } from "./controlPlane";

const CP = { name: "cp-1", role: "control-plane", address: "10.88.0.11" } as const;
export const SERVING = "kubernetes.io/kubelet-serving";

/** Who submits a CSR: a client certificate (a node) or a bearer token (a bootstrap token). */
export type Auth = { readonly cert: string; readonly key: string } | { readonly token: string };

export class ApproverLab {
  private approver?: Daemon;
  /** Each start logs to its own file: decisions() counts one run's decisions. */
  private starts = 0;
  private readonly tmp = makeTempDir("approver-lab");
  private constructor(
    readonly network: LabNetwork,
    readonly cp: ControlPlane,
    readonly node: LabNode,
  ) {}

  static async start(): Promise<ApproverLab> {
    const network = LabNetwork.create([CP]);
    const out = makeTempDir("approver-render");
    await renderClusters(
      [
        {
          name: "lab",
          clusterName: "kubernetes",
          serviceSubnet: "10.96.0.0/12",
          caKeys: "control-plane",
          workers: "bootstrap",
          nodes: [{ ...CP }],
        },
      ],
      out,
    );
    const node: LabNode = { ...CP, root: join(out, "lab", CP.name) };
    const cp = new ControlPlane([node], "kubernetes", network);
    const lab = new ApproverLab(network, cp, node);
    cp.startEtcd(node, [node]);
    for (let i = 0; i < 100 && (await cp.etcdctl(node, ["endpoint", "health"])).code !== 0; i++) await sleep(300);
    cp.startApiServer(node, "10.96.0.0/12");
    if (!(await cp.waitReady(node, 180_000))) throw new Error(`kube-apiserver:\n${cp.log(node, "kube-apiserver")}`);
    // kube-pki's signer file (README, "Rotating a CA"): the controller-manager signs kubelet-serving CSRs with it.
    cp.startControllerManager(node, true, "ca-signer.crt");
    await lab.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: approverRbacObjects() }));
    return lab;
  }

  path = (p: string) => join(this.node.root, p);
  get server(): string {
    return `https://${this.node.address}:${API_PORT}`;
  }

  /** kubectl as the init node's super-admin (system:masters): the lab's set-up, never the approver's rights. */
  async kubectl(args: string[], input?: string): Promise<string> {
    const r: RunResult = await run("kubectl", ["--kubeconfig", this.path("etc/kubernetes/super-admin.conf"), ...args], {
      timeoutMs: 30_000,
      ...(input !== undefined ? { input } : {}),
    });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  }

  /** The init node's super-admin client certificate, for direct API requests of the set-up. */
  get admin(): Auth {
    const user = parse(readFileSync(this.path("etc/kubernetes/super-admin.conf"), "utf8")).users[0].user;
    const pem = (k: string) => Buffer.from(user[k], "base64").toString();
    return { cert: pem("client-certificate-data"), key: pem("client-key-data") };
  }

  /** A Node as its kubelet registers it: Hostname and InternalIP (two API requests as super-admin). */
  async createNode(name: string, ip: string): Promise<void> {
    const create = await this.api(
      "POST",
      "/api/v1/nodes",
      this.admin,
      JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name } }),
    );
    const status = {
      status: {
        addresses: [
          { type: "InternalIP", address: ip },
          { type: "Hostname", address: name },
        ],
      },
    };
    const patch = await this.api(
      "PATCH",
      `/api/v1/nodes/${name}/status`,
      this.admin,
      JSON.stringify(status),
      "application/merge-patch+json",
    );
    if (create.status !== 201 || patch.status !== 200) throw new Error(`Node ${name}: ${create.body} ${patch.body}`);
  }

  /** A kubelet client certificate of node <name> (CN system:node:<name>, O system:nodes), signed by the cluster CA. */
  nodeClient(name: string): Auth {
    const dir = makeTempDir(`client-${name}`);
    const key = join(dir, "key"),
      csr = join(dir, "csr"),
      cert = join(dir, "crt");
    execFileSync("openssl", ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", key], { stdio: "pipe" });
    execFileSync("openssl", ["req", "-new", "-key", key, "-subj", `/O=system:nodes/CN=system:node:${name}`, "-out", csr], {
      stdio: "pipe",
    });
    const ca = this.path("etc/kubernetes/pki/ca-signer.crt");
    const caKey = this.path("etc/kubernetes/pki/ca.key");
    const ext = join(dir, "ext");
    writeFileSync(ext, "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
    execFileSync("openssl", ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-days", "1", "-extfile", ext, "-out", cert], {
      stdio: "pipe",
    });
    return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
  }

  /** A kubelet-style serving CSR (a fresh P-256 key, as the kubelet makes): PEM. */
  servingRequest(cn: string, sans: { dns?: string[]; ip?: string[] }): string {
    const dir = makeTempDir("csr");
    const key = join(dir, "key");
    execFileSync("openssl", ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", key], { stdio: "pipe" });
    const san = [...(sans.dns ?? []).map((d) => `DNS:${d}`), ...(sans.ip ?? []).map((i) => `IP:${i}`)].join(",");
    return execFileSync("openssl", ["req", "-new", "-key", key, "-subj", `/O=system:nodes/CN=${cn}`, "-addext", `subjectAltName=${san}`], {
      encoding: "utf8",
    });
  }

  /** Creates a CSR as `auth` through the API (the requester's identity is what the API server records). */
  async submit(auth: Auth, name: string, request: string, usages: string[], signerName = SERVING): Promise<void> {
    const body = JSON.stringify({
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name },
      spec: { request: Buffer.from(request).toString("base64"), signerName, usages },
    });
    const r = await this.api("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", auth, body);
    if (r.status !== 201) throw new Error(`create CSR ${name}: HTTP ${r.status} ${r.body}`);
  }

  /** One API request (a shared agent: the benchmark's thousand requests reuse connections). */
  api(method: string, path: string, auth: Auth, body?: string, type = "application/json"): Promise<{ status: number; body: string }> {
    const ca = readFileSync(this.path("etc/kubernetes/pki/ca.crt"));
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.node.address,
          port: API_PORT,
          path,
          method,
          ca,
          ...("token" in auth ? {} : { cert: auth.cert, key: auth.key }),
          headers: { "content-type": type, ...("token" in auth ? { authorization: `Bearer ${auth.token}` } : {}) },
          agent: agentFor(auth),
        },
        (res) => {
          let data = "";
          res.on("data", (c) => (data += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  async csr(name: string): Promise<any> {
    return JSON.parse(await this.kubectl(["get", "csr", name, "-o", "json"]));
  }

  /** The CSR once it has an Approved or Denied condition (and, if `issued`, a certificate). */
  async decided(name: string, issued = false, timeoutMs = 60_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const csr = await this.csr(name);
      const conditions: any[] = csr.status?.conditions ?? [];
      if (conditions.some((c) => c.type === "Approved" || c.type === "Denied") && (!issued || csr.status?.certificate)) return csr;
      if (Date.now() > deadline)
        throw new Error(`CSR ${name} not decided${issued ? " and issued" : ""}: ${JSON.stringify(csr.status)}\n${this.approverLog()}`);
      await sleep(200);
    }
  }

  /** kube-pki-csr-approver in the node's network namespace with the kubeconfig kube-pki issued for it. */
  startApprover(flags: string[] = []): void {
    this.approver = startDaemon(
      APPROVER_NAME,
      this.network.exec(this.node.name)[0]!,
      [
        ...this.network.exec(this.node.name).slice(1),
        "kube-pki-csr-approver",
        `--kubeconfig=${this.path(`etc/kubernetes/${APPROVER_NAME}.conf`)}`,
        `--healthz-bind-address=${this.node.address}:10271`,
        ...flags,
      ],
      join(this.tmp, `approver-${++this.starts}.log`),
      { maxLifetimeMs: 3_600_000 },
    );
  }

  async stopApprover(): Promise<void> {
    if (this.approver) await stopDaemon(this.approver, 10_000);
    this.approver = undefined;
  }

  approverLog(): string {
    return this.approver?.log().split("\n").slice(-30).join("\n") ?? "(approver not running)";
  }

  /** How many CSRs the running approver decided (its log has one line per decision). */
  decisions(): number {
    return (this.approver?.log().match(/: (approved|DENIED) CSR /g) ?? []).length;
  }

  async stop(): Promise<void> {
    await this.stopApprover();
    await this.cp.stop();
    this.network.destroy();
  }
}

const agents = new Map<string, https.Agent>();
const agentFor = (auth: Auth) => {
  const id = "token" in auth ? auth.token : auth.cert;
  if (!agents.has(id)) agents.set(id, new https.Agent({ keepAlive: true, maxSockets: 16 }));
  return agents.get(id)!;
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
