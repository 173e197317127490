// The offline render: evaluates the stack program with the tls stand-in and writes, for every cluster and node, the
// files that node receives, at their absolute paths under <out>/<cluster>/<node>/, with their modes; plus the
// operator's admin.conf and a manifest per node. Keys are fresh on every render and tracked nowhere: this is for
// inspection, labs and CI; `pulumi up` manages the real PKI.
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { withoutStackTraces } from "../components/stackTraces";
import {
  ClusterPki,
  ClusterPlan,
  defineStack,
  FileSpec,
  planCluster,
  planClusters,
  readWorkersFile,
  RENDER_USERS_DIR,
} from "../components";
import { evaluate, Evaluation, valueOf } from "../emulator/evaluate";
import { TlsStandInOptions } from "../emulator/tlsStandIn";
import { PROJECT_DIR } from "./stackFile";

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
  /** Replace a cluster directory an earlier render made (never one it did not make). Default false. */
  readonly force?: boolean;
  /** Workers per evaluation of a big cluster (default 250): bounds memory, see renderClusters. */
  readonly workerBatch?: number;
}

/** The file by which a render marks a cluster directory as its own (and so as safe to replace with --force). */
export const RENDER_MARKER = ".kube-pki-render";

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

/**
 * Writes the files of `pki`'s nodes (all, or those in `only`) under `root/<node>/`, with a manifest per node, and,
 * unless `operator` is false, the operator's kubeconfigs (`admin.conf`, `users/<user>.conf`) in `root`.
 */
export async function writeCluster(
  pki: ClusterPki,
  root: string,
  only?: ReadonlySet<string>,
  operator = true,
): Promise<Record<string, ManifestEntry[]>> {
  const { catalog } = pki;
  const inventory = await valueOf(pki.inventory);
  const notAfter = new Map(inventory.map((e) => [e.id, e.notAfter]));
  const nodes: Record<string, ManifestEntry[]> = {};
  for (const node of catalog.cluster.nodes) if (!only || only.has(node.name)) nodes[node.name] = [];
  for (const bundle of catalog.bundles) {
    if (!nodes[bundle.node]) continue;
    for (const file of bundle.files) {
      const content = await valueOf(pki.contentOf(file));
      writeFile(join(root, bundle.node), file, content);
      nodes[bundle.node]!.push({
        path: file.path,
        mode: octal(file.mode),
        owner: file.owner,
        sha256: sha256(content),
        // The service-account key pair has no certificate and so no expiry.
        notAfter: file.source === "sa" ? "" : (notAfter.get(file.source) ?? ""),
        source: file.source,
        bundle: bundle.id,
      });
    }
  }
  for (const [node, entries] of Object.entries(nodes)) {
    writeFile(join(root, node), { path: "/manifest.json", mode: 0o644 }, `${JSON.stringify(entries, null, 2)}\n`);
  }
  if (!operator) return nodes;
  writeFile(root, { path: "/admin.conf", mode: 0o600 }, await valueOf(pki.adminKubeconfig));
  for (const [user, kubeconfig] of Object.entries(await valueOf(pki.userKubeconfigs))) {
    writeFile(root, { path: `/${RENDER_USERS_DIR}/${user}.conf`, mode: 0o600 }, kubeconfig);
  }
  return nodes;
}

/**
 * One cluster's files, evaluated a batch of workers at a time: the control-plane nodes and the first `workerBatch`
 * workers, then the control-plane nodes and the next batch, each evaluation given the previous one as its state.
 * Unchanged resources keep their state (the CAs, the control-plane leaves, the shared kubeconfigs: the same keys and
 * certificates in every batch) and every worker's resources are made in its own batch, so the files are exactly
 * those of one evaluation of the whole cluster (resource names do not depend on other nodes), while memory is
 * bounded by the batch: the mock runtime keeps every registration of an evaluation in flight at once.
 */
async function renderInBatches(plan: ClusterPlan, root: string, opts: RenderOptions): Promise<Record<string, ManifestEntry[]>> {
  const batch = opts.workerBatch ?? 250;
  const { cluster } = plan.catalog;
  const controlPlane = cluster.nodes.filter((n) => n.role === "control-plane");
  const workers = cluster.nodes.filter((n) => n.role !== "control-plane");
  const nodes: Record<string, ManifestEntry[]> = {};
  let prior: Evaluation<unknown> | undefined;
  for (let first = 0; first === 0 || first < workers.length; first += batch) {
    // Part of a validated cluster is one too: a worker's certificates are its own, and every part has all control planes.
    const part =
      workers.length <= batch ? plan : planCluster({ ...cluster, nodes: [...controlPlane, ...workers.slice(first, first + batch)] });
    const ev = await evaluate(() => defineStack([part], { stack: "render", deliver: false }), { tls: opts.tls, prior });
    const only = new Set([...(first === 0 ? controlPlane : []), ...workers.slice(first, first + batch)].map((n) => n.name));
    Object.assign(nodes, await writeCluster(ev.result.clusters[0]!, root, only, first === 0));
    prior = ev;
  }
  return nodes;
}

/**
 * Why a render must not write `<outDir>/<cluster>`, or undefined when it may: only a missing or empty directory, or
 * (with force) one that an earlier render marked as its own. Anything else may be someone's files (`--out /etc`
 * with a cluster named `kubernetes` is `/etc/kubernetes`).
 */
function refusal(dir: string, force: boolean): string | undefined {
  if (!existsSync(dir) && !isLink(dir)) return undefined;
  if (isLink(dir) || !lstatSync(dir).isDirectory()) return `${dir} exists and is not a directory: nothing was written`;
  if (readdirSync(dir).length === 0) return undefined;
  if (!existsSync(join(dir, RENDER_MARKER)))
    return `${dir} is not empty and was not made by kube-pki's render: nothing was written (choose another --out)`;
  return force ? undefined : `${dir} holds an earlier render: nothing was written (--force replaces it)`;
}

const isLink = (path: string) => {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
};

/**
 * Renders every cluster of a stack's raw `clusters` value into `outDir`. The whole config is validated (once), and
 * every cluster's target directory checked, first: on a bad config or a directory it may not write this throws and
 * writes nothing. Each cluster is written to a temporary directory (removed if anything fails, so no key is left behind)
 * and moved into place when complete.
 */
export async function renderClusters(rawClusters: unknown, outDir: string, opts: RenderOptions = {}): Promise<RenderedCluster[]> {
  const plans = planClusters(rawClusters, readWorkersFile(PROJECT_DIR));
  const refusals = plans.map((p) => refusal(join(outDir, p.catalog.cluster.name), opts.force ?? false)).filter((r): r is string => !!r);
  if (refusals.length > 0) throw new Error(refusals.join("\n"));
  const rendered: RenderedCluster[] = [];
  for (const [i, plan] of plans.entries()) {
    const start = Date.now();
    const cluster = plan.catalog.cluster;
    const final = join(outDir, cluster.name);
    const temp = join(outDir, `.${cluster.name}.rendering-${process.pid}`);
    const replaced = join(outDir, `.${cluster.name}.replaced-${process.pid}`);
    // No stacks while the files are written either: every Output read makes promises whose stacks the SDK records.
    const nodes = await withoutStackTraces(async () => {
      try {
        rmSync(temp, { recursive: true, force: true });
        const entries = await renderInBatches(plan, temp, opts);
        writeFile(
          temp,
          { path: `/${RENDER_MARKER}`, mode: 0o644 },
          `${JSON.stringify({ cluster: cluster.name, renderedAt: new Date().toISOString() })}\n`,
        );
        // Checked again just before the swap: nothing else may have appeared there meanwhile.
        const late = refusal(final, opts.force ?? false);
        if (late) throw new Error(late);
        if (existsSync(final)) renameSync(final, replaced);
        renameSync(temp, final);
        return entries;
      } catch (e) {
        rmSync(temp, { recursive: true, force: true });
        throw e;
      }
    });
    rmSync(replaced, { recursive: true, force: true });
    const seconds = (Date.now() - start) / 1000;
    const result = { cluster: cluster.name, nodes, certificates: plan.catalog.certificates.length, seconds };
    rendered.push(result);
    const files = Object.values(nodes).reduce((n, e) => n + e.length, 0);
    opts.log?.(
      `cluster ${cluster.name} (${i + 1}/${plans.length}): ${result.certificates.toLocaleString("en-US")} certificates, ` +
        `${cluster.nodes.length.toLocaleString("en-US")} nodes, ${files.toLocaleString("en-US")} files in ${seconds.toFixed(1)} s -> ${final}`,
    );
  }
  return rendered;
}
