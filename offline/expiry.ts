// The expiry report, in the shape of `kubeadm certs check-expiration` (docs/kubeadm.md §9): CERTIFICATE, EXPIRES,
// RESIDUAL TIME, CERTIFICATE AUTHORITY, then the CA table. Sources: a directory (a render, or a node's
// /etc/kubernetes), live endpoints (the chain a TLS server presents), and the stack outputs (`inventory`).
import { X509Certificate } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as tls from "node:tls";
import { parse } from "yaml";
import { CaName, CERTIFICATE_AUTHORITIES, KUBECONFIGS } from "../components/model/catalog";
import {
  KEY_PAIR_PATHS,
  KUBERNETES_DIR,
  kubeconfigPath,
  pathBelow,
  PKI_DIR,
  splitCatalogId,
  TRUST_ROOT_KEYS,
} from "../components/model/names";
import { pemBlocks } from "../components/model/trust";

export interface ExpiryRow {
  /** kubeadm's name (`apiserver`, `admin.conf`, `etcd-ca`), prefixed with `<cluster>/<node>` or the endpoint when known. */
  readonly certificate: string;
  readonly notAfter: Date;
  /** kubeadm name of the signing CA, or the issuer's CN when it is not one of the three. */
  readonly authority: string;
  readonly isCa: boolean;
  /** Where it was read: a file path, `host:port`, or `stack output`. */
  readonly source: string;
}

/**
 * The files of the catalog that hold a certificate, by kubeadm's names (check-expiration's rows, K7, and the ones
 * kube-pki adds): those under /etc/kubernetes first, then the kubelet serving certificate beside it.
 */
const CERTIFICATE_FILES: readonly { name: string; path: string; kubeconfig: boolean }[] = [
  ...Object.entries(KEY_PAIR_PATHS).map(([name, paths]) => ({ name, path: paths.certificate, kubeconfig: false })),
  ...KUBECONFIGS.map(({ name }) => ({ name, path: kubeconfigPath(name), kubeconfig: true })),
].sort((a, b) => Number(!a.path.startsWith(KUBERNETES_DIR)) - Number(!b.path.startsWith(KUBERNETES_DIR)));
const CA_BY_CN: Record<string, string> = Object.fromEntries(CERTIFICATE_AUTHORITIES.map((ca) => [ca.commonName, ca.name]));

const commonName = (dn: string) => /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ", ");
const authorityOf = (cert: X509Certificate) => CA_BY_CN[commonName(cert.issuer)] ?? commonName(cert.issuer);

function rowOf(name: string, cert: X509Certificate, source: string): ExpiryRow {
  return { certificate: name, notAfter: new Date(cert.validTo), authority: cert.ca ? "" : authorityOf(cert), isCa: cert.ca, source };
}

/** The client certificate a kubeconfig embeds (what check-expiration reports for it). */
function kubeconfigCertificate(text: string): X509Certificate | undefined {
  const doc = parse(text) as { users?: { user?: Record<string, string> }[] } | null;
  const data = doc?.users?.[0]?.user?.["client-certificate-data"];
  return data ? new X509Certificate(Buffer.from(data, "base64")) : undefined;
}

/** Node roots below `dir`: `dir` itself if it is an /etc/kubernetes (has pki/), else every `<...>/etc/kubernetes`. */
function kubernetesDirs(dir: string): string[] {
  // A node's /etc/kubernetes has pki/ (control plane) or kubelet.conf (every node); a render's cluster directory has
  // only the operator's admin.conf beside the node directories, so it is walked.
  if (existsSync(pathBelow(dir, PKI_DIR)) || existsSync(pathBelow(dir, kubeconfigPath("kubelet.conf")))) return [dir];
  const found: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 6) return;
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (!statSync(full).isDirectory()) continue;
      if (full.endsWith(KUBERNETES_DIR)) found.push(full);
      else walk(full, depth + 1);
    }
  };
  walk(dir, 0);
  return found.sort();
}

/**
 * Every certificate of kube-pki's layout found under `dir`. In a render (`<cluster>/<node>/etc/kubernetes`) rows are
 * prefixed with `<cluster>/<node>`; the kubelet serving certificate is read from the sibling var/lib/kubelet/pki.
 */
export function rowsFromDirectory(dir: string): ExpiryRow[] {
  const roots = kubernetesDirs(dir);
  if (roots.length === 0) throw new Error(`${dir}: no /etc/kubernetes layout (pki/, *.conf) found`);
  const rows: ExpiryRow[] = [];
  for (const root of roots) {
    const prefix = root === dir ? "" : `${relative(dir, pathBelow(root, "/"))}/`;
    for (const { name, path, kubeconfig } of CERTIFICATE_FILES) {
      const full = pathBelow(root, path);
      if (!existsSync(full)) continue;
      const text = readFileSync(full, "utf8");
      if (kubeconfig) {
        const cert = kubeconfigCertificate(text);
        if (cert) rows.push(rowOf(`${prefix}${name}`, cert, full));
        continue;
      }
      rows.push(...rowsOfPem(`${prefix}${name}`, text, full));
    }
  }
  return rows;
}

/** kubeadm's name of the certificate file (or kubeconfig) at `path` on a node; undefined for files the report skips. */
export const certificateFileName = (path: string) => CERTIFICATE_FILES.find((f) => f.path === path)?.name;

/** The rows of a PEM file: during a CA rotation a CA file is a bundle of both generations, a row for each (`ca`, `ca (2)`). */
export const rowsOfPem = (name: string, text: string, source: string): ExpiryRow[] =>
  pemBlocks(text).map((pem, i) => rowOf(`${name}${i === 0 ? "" : ` (${i + 1})`}`, new X509Certificate(pem), source));

export interface EndpointOptions {
  /** PEM client certificate and key, for servers that require one (etcd). */
  readonly cert?: string;
  readonly key?: string;
  readonly timeoutMs?: number;
}

/** The chain a TLS server at `host:port` presents (not verified: this reads dates, it does not trust). */
export function rowsFromEndpoint(endpoint: string, opts: EndpointOptions = {}): Promise<ExpiryRow[]> {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(endpoint);
  if (!m) return Promise.reject(new Error(`endpoint ${JSON.stringify(endpoint)} is not host:port`));
  const [host, port] = [m[1]!, Number(m[2])];
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      servername: /^[\d.:]+$/.test(host) ? undefined : host,
      rejectUnauthorized: false,
      cert: opts.cert,
      key: opts.key,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${endpoint}: no TLS handshake within ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const rows: ExpiryRow[] = [];
      const seen = new Set<string>();
      for (
        let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
        c?.raw && !seen.has(c.fingerprint256);
        c = c.issuerCertificate
      ) {
        seen.add(c.fingerprint256);
        const cert = new X509Certificate(c.raw);
        const name = cert.ca ? (CA_BY_CN[commonName(cert.subject)] ?? commonName(cert.subject)) : commonName(cert.subject);
        rows.push(rowOf(`${endpoint} ${name}`, cert, endpoint));
      }
      socket.end();
      resolve(rows);
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${endpoint}: ${e.message}`));
    });
  });
}

/** Rows from `pulumi stack output --json`: every cluster's `inventory` (notAfter is the provider's validityEndTime). */
export function rowsFromStackOutputs(outputs: unknown): ExpiryRow[] {
  const inventory = (outputs as { inventory?: Record<string, { id: string; kind: string; signer: string; notAfter: string }[]> })
    ?.inventory;
  if (!inventory || typeof inventory !== "object") throw new Error("stack outputs have no `inventory` (is this a kube-pki stack?)");
  return Object.entries(inventory).flatMap(([cluster, entries]) =>
    entries.map((e) => {
      const { name, node } = splitCatalogId(e.id);
      return {
        certificate: [cluster, ...(node === undefined ? [] : [node]), name].join("/"),
        notAfter: new Date(e.notAfter),
        authority: e.kind === "ca" ? "" : e.signer,
        isCa: e.kind === "ca",
        source: "stack output",
      };
    }),
  );
}

/** kubeadm's residual time (apimachinery ShortHumanDuration): `<invalid>` once expired. */
export function residualTime(notAfter: Date, now: Date): string {
  const seconds = Math.floor((notAfter.getTime() - now.getTime()) / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 24) return `${hours}h`;
  if (hours < 24 * 365) return `${Math.floor(hours / 24)}d`;
  return `${Math.floor(hours / 24 / 365)}y`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** kubeadm's EXPIRES format, Go layout "Jan 02, 2006 15:04 MST", in UTC. */
export function expiresText(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())}, ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}

/**
 * What to do about the rows due within `warnDays`: a leaf is renewed by the next `pulumi up`; a CA (kubeadm's
 * `ca`, `front-proxy-ca`, `etcd-ca`) is never renewed, so it must be rotated: the rotation to declare, per CA.
 */
export function advice(rows: readonly ExpiryRow[], now: Date, warnDays: number): string[] {
  const cas = [
    ...new Set(
      rows
        .filter((r) => r.isCa && statusOf(r, now, warnDays) !== "ok")
        .map((r) =>
          r.certificate
            .replace(/ \(\d+\)$/, "")
            .split("/")
            .pop()!,
        ),
    ),
  ].sort();
  return cas.map(
    (ca) =>
      `CA ${ca} expires within ${warnDays} days and is never renewed: rotate it (set ` +
      `rotation.${CERTIFICATE_AUTHORITIES.some((c) => c.name === ca) ? TRUST_ROOT_KEYS[ca as CaName] : ca}: { generation: <current + 1>, phase: add }, then switch, then drop, one pulumi up each)`,
  );
}

export type Status = "ok" | "warning" | "expired";
export const statusOf = (row: ExpiryRow, now: Date, warnDays: number): Status =>
  row.notAfter <= now ? "expired" : row.notAfter.getTime() - now.getTime() <= warnDays * 86_400_000 ? "warning" : "ok";

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3)))
        .join("")
        .trimEnd(),
    )
    .join("\n");
}

/** The two tables of `kubeadm certs check-expiration`. */
export function renderExpiryText(rows: readonly ExpiryRow[], now: Date): string {
  const byName = (a: ExpiryRow, b: ExpiryRow) => a.certificate.localeCompare(b.certificate);
  const leaves = rows.filter((r) => !r.isCa).sort(byName);
  const cas = rows.filter((r) => r.isCa).sort(byName);
  return (
    [
      table(
        ["CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY"],
        leaves.map((r) => [r.certificate, expiresText(r.notAfter), residualTime(r.notAfter, now), r.authority]),
      ),
      "",
      table(
        ["CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME"],
        cas.map((r) => [r.certificate, expiresText(r.notAfter), residualTime(r.notAfter, now)]),
      ),
    ].join("\n") + "\n"
  );
}

/** One row of the JSON report (also the status report's certificates). */
export const expiryJson = (r: ExpiryRow, now: Date, warnDays: number) => ({
  certificate: r.certificate,
  expires: r.notAfter.toISOString(),
  residualTime: residualTime(r.notAfter, now),
  residualSeconds: Math.floor((r.notAfter.getTime() - now.getTime()) / 1000),
  certificateAuthority: r.authority || undefined,
  isCertificateAuthority: r.isCa,
  status: statusOf(r, now, warnDays),
  source: r.source,
});

export function renderExpiryJson(rows: readonly ExpiryRow[], now: Date, warnDays: number): string {
  return `${JSON.stringify(
    {
      generated: now.toISOString(),
      warnDays,
      certificates: rows.map((r) => expiryJson(r, now, warnDays)),
    },
    null,
    2,
  )}\n`;
}
