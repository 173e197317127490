// The one cluster every end-to-end test uses, made once per mocha process by the real engine (`deployed()`; the
// three e2e files share the memoized promise), or by the offline render (`rendered()`), into a fresh temp dir that
// is removed at exit. Node addresses are on loopback so that real
// servers (etcd, the stand-in API server) can bind each node's own address.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ManifestEntry, renderClusters } from "../../offline/render";
import { makeTempDir } from "./proc";
import { describeRun, Workspace } from "../engine/workspace";
import { fiveLoopbackNodes } from "../support-nodes";
import { readTree } from "../support-tree";

export const E2E_CLUSTER = {
  name: "e2e",
  controlPlaneEndpoint: "127.0.0.10:6443",
  serviceSubnet: "10.96.0.0/12",
  apiServer: { certSANs: ["k8s.e2e.example.com", "192.0.2.10"] },
  etcd: { serverCertSANs: ["etcd.e2e.example.com"], peerCertSANs: [] },
  nodes: fiveLoopbackNodes("127.0.0"),
} as const;

export type E2eNode = (typeof E2E_CLUSTER.nodes)[number];
export const NODES: readonly E2eNode[] = E2E_CLUSTER.nodes;
export const CONTROL_PLANE: readonly E2eNode[] = NODES.filter((n) => n.role === "control-plane");
export const WORKERS: readonly E2eNode[] = NODES.filter((n) => n.role === "worker");

/** Pseudo node name for the operator's copy of admin.conf (`<out>/e2e/admin.conf`). */
export const OPERATOR = "(operator)";

export interface Rendered {
  /** `<out>/e2e`. */
  readonly clusterDir: string;
  /** Seconds the render took. */
  readonly seconds: number;
  /** Host path of a node's file, e.g. `file("cp-1", "/etc/kubernetes/pki/ca.crt")`; `file(OPERATOR, "/admin.conf")`. */
  file(node: string, path: string): string;
  read(node: string, path: string): string;
  /** The node's manifest.json. */
  manifest(node: string): ManifestEntry[];
}

let rendering: Promise<Rendered> | undefined;
let deploying: Promise<Rendered> | undefined;

/** Renders the e2e cluster offline (the tls stand-in) the first time it is called; later calls get the same result. */
export function rendered(): Promise<Rendered> {
  rendering ??= (async () => {
    const out = makeTempDir("render");
    const start = Date.now();
    // A deep copy: the render must not see (or mutate) the shared constant.
    await renderClusters([JSON.parse(JSON.stringify(E2E_CLUSTER))], out);
    const seconds = (Date.now() - start) / 1000;
    console.log(`      rendered cluster ${E2E_CLUSTER.name} (${NODES.length} nodes) in ${seconds.toFixed(1)} s into ${out}`);
    const clusterDir = join(out, E2E_CLUSTER.name);
    return tree(
      clusterDir,
      seconds,
      (node) => JSON.parse(readFileSync(join(clusterDir, node, "manifest.json"), "utf8")) as ManifestEntry[],
    );
  })();
  return rendering;
}

/**
 * The e2e cluster made by the real engine: `pulumi up` of a stack holding E2E_CLUSTER with local delivery (the real
 * CLI, language host and tls provider; the command stand-in plugin runs the install script), the first time it is
 * called. Each node's manifest is read off the delivered files themselves (path, mode on disk, sha256); the
 * operator's admin.conf comes from the stack output.
 */
export function deployed(): Promise<Rendered> {
  deploying ??= (async () => {
    const start = Date.now();
    const cluster = { ...JSON.parse(JSON.stringify(E2E_CLUSTER)), delivery: { mode: "local", localDirectory: "nodes" } };
    const ws = await Workspace.create("e2e", { e2e: [cluster] });
    await ws.init("e2e");
    const up = await ws.up("e2e");
    if (up.code !== 0) throw new Error(describeRun(up));
    const clusterDir = join(ws.dir, "nodes", E2E_CLUSTER.name);
    const outputs = JSON.parse((await ws.ok(["stack", "output", "--json", "--show-secrets", "--stack", "e2e"])).stdout);
    writeFileSync(join(clusterDir, "admin.conf"), outputs.adminKubeconfigs[E2E_CLUSTER.name], { mode: 0o600 });
    const seconds = (Date.now() - start) / 1000;
    console.log(
      `      pulumi up of cluster ${E2E_CLUSTER.name} (${NODES.length} nodes, real engine) in ${seconds.toFixed(1)} s into ${clusterDir}`,
    );
    return tree(clusterDir, seconds, (node) =>
      Object.entries(readTree(join(clusterDir, node), { skip: /^\/var\/lib\/kube-pki(\/|$)/ })).map(([path, e]) => ({
        path,
        mode: e.mode,
        owner: "root",
        sha256: e.sha,
        notAfter: "",
        source: "",
        bundle: "",
      })),
    );
  })();
  return deploying;
}

function tree(clusterDir: string, seconds: number, manifest: (node: string) => ManifestEntry[]): Rendered {
  // OPERATOR is not a node: its one file, admin.conf, sits in the cluster directory itself.
  const file = (node: string, path: string) => (node === OPERATOR ? join(clusterDir, path) : join(clusterDir, node, path));
  return { clusterDir, seconds, file, read: (node, path) => readFileSync(file(node, path), "utf8"), manifest };
}

// ---- kubeconfigs -----------------------------------------------------------------------------------------------------

export interface DecodedKubeconfig {
  readonly server: string;
  readonly clusterName: string;
  readonly user: string;
  /** The current context's name. */
  readonly context: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const b64 = (s: unknown, what: string): string => {
  if (typeof s !== "string" || s === "") throw new Error(`kubeconfig has no ${what}`);
  return Buffer.from(s, "base64").toString("utf8");
};

/** The current context's cluster and user of a kubeconfig, with the embedded PEM data decoded. */
export function decodeKubeconfig(text: string): DecodedKubeconfig {
  const kc = parse(text) as any;
  const context = (kc.contexts ?? []).find((c: any) => c.name === kc["current-context"])?.context;
  if (!context) throw new Error(`kubeconfig current-context ${kc["current-context"]} is not among its contexts`);
  const cluster = (kc.clusters ?? []).find((c: any) => c.name === context.cluster)?.cluster;
  const user = (kc.users ?? []).find((u: any) => u.name === context.user)?.user;
  if (!cluster || !user) throw new Error(`kubeconfig context ${kc["current-context"]} names a missing cluster or user`);
  return {
    server: cluster.server,
    clusterName: context.cluster,
    user: context.user,
    context: kc["current-context"],
    caPem: b64(cluster["certificate-authority-data"], "certificate-authority-data"),
    certPem: b64(user["client-certificate-data"], "client-certificate-data"),
    keyPem: b64(user["client-key-data"], "client-key-data"),
  };
}
