// The offline render: evaluates the stack program with the tls stand-in and writes, for every cluster and node, the
// files that node receives, at their absolute paths under <out>/<cluster>/<node>/, with their modes; plus the
// operator's admin.conf and a manifest per node. Keys are fresh on every render and tracked nowhere: this is for
// inspection, labs and CI; `pulumi up` manages the real PKI.
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { ClusterPki, defineStack, FileSpec, planClusters } from "../components";
import { evaluate, valueOf } from "./evaluate";
import { TlsStandInOptions } from "./tlsStandIn";

export interface ManifestEntry {
  readonly path: string;
  /** Octal text, e.g. "0600". */
  readonly mode: string;
  readonly owner: string;
  readonly sha256: string;
  /** Certificate expiry (RFC 3339) of the certificate the file belongs to. */
  readonly notAfter: string;
  /** Catalog id of the certificate (or `sa`) the file is made from. */
  readonly source: string;
  /** Bundle the file travels in. */
  readonly bundle: string;
}

export interface RenderedCluster {
  readonly cluster: string;
  readonly nodes: Record<string, ManifestEntry[]>;
  readonly certificates: number;
  readonly seconds: number;
}

export interface RenderOptions {
  /** Progress lines (one per cluster). Default: none. */
  readonly log?: (line: string) => void;
  readonly tls?: TlsStandInOptions;
}

export const RENDER_NOTICE =
  "Keys are generated afresh on every render and are not tracked anywhere: the render is for inspection, labs and CI. " +
  "`pulumi up` manages the real PKI.";

const octal = (mode: number) => `0${mode.toString(8)}`;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function writeFile(root: string, file: Pick<FileSpec, "path" | "mode">, content: string): void {
  const target = join(root, file.path);
  mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
  writeFileSync(target, content, { mode: file.mode });
  chmodSync(target, file.mode); // the umask must not loosen or tighten what the node will have
}

export async function writeCluster(pki: ClusterPki, root: string): Promise<Record<string, ManifestEntry[]>> {
  const { catalog } = pki;
  const inventory = await valueOf(pki.inventory);
  const notAfter = new Map(inventory.map((e) => [e.id, e.notAfter]));
  const nodes: Record<string, ManifestEntry[]> = {};
  for (const node of catalog.cluster.nodes) nodes[node.name] = [];
  for (const bundle of catalog.bundles) {
    for (const file of bundle.files) {
      const content = await valueOf(pki.contentOf(file));
      writeFile(join(root, bundle.node), file, content);
      nodes[bundle.node]!.push({
        path: file.path, mode: octal(file.mode), owner: file.owner, sha256: sha256(content),
        // The service-account key pair has no certificate and so no expiry.
        notAfter: file.source === "sa" ? "" : notAfter.get(file.source) ?? "", source: file.source, bundle: bundle.id,
      });
    }
  }
  for (const [node, entries] of Object.entries(nodes)) {
    writeFile(join(root, node), { path: "/manifest.json", mode: 0o644 }, `${JSON.stringify(entries, null, 2)}\n`);
  }
  writeFile(root, { path: "/admin.conf", mode: 0o600 }, await valueOf(pki.adminKubeconfig));
  return nodes;
}

/**
 * Renders every cluster of a stack's raw `clusters` value into `outDir`. The whole config is validated first: on a
 * bad config this throws and writes nothing. Each cluster is written to a temporary directory and moved into place
 * when complete, replacing the previous render of that cluster.
 */
export async function renderClusters(rawClusters: unknown, outDir: string, opts: RenderOptions = {}): Promise<RenderedCluster[]> {
  const clusters = planClusters(rawClusters).map((p) => p.catalog.cluster);
  const rendered: RenderedCluster[] = [];
  for (const [i, cluster] of clusters.entries()) {
    const start = Date.now();
    // The same stack program, one cluster at a time: bounded memory and progress per cluster on big renders.
    const raw = (rawClusters as unknown[])[i];
    const ev = await evaluate(() => defineStack([raw], { stack: "render", deliver: false }), { tls: opts.tls });
    const pki = ev.result.clusters[0]!;
    const final = join(outDir, cluster.name);
    const temp = join(outDir, `.${cluster.name}.rendering-${process.pid}`);
    rmSync(temp, { recursive: true, force: true });
    const nodes = await writeCluster(pki, temp);
    rmSync(final, { recursive: true, force: true });
    renameSync(temp, final);
    const seconds = (Date.now() - start) / 1000;
    const result = { cluster: cluster.name, nodes, certificates: pki.catalog.certificates.length, seconds };
    rendered.push(result);
    const files = Object.values(nodes).reduce((n, e) => n + e.length, 0);
    opts.log?.(`cluster ${cluster.name} (${i + 1}/${clusters.length}): ${result.certificates} certificates, ` +
      `${cluster.nodes.length} nodes, ${files} files in ${seconds.toFixed(1)} s -> ${final}`);
  }
  return rendered;
}
