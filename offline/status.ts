// Fleet status (`npm run status`): what each node of a stack holds and serves, against what the stack delivered. Pure:
// it reads the stack's state (the recorded inputs of the push and restart commands), builds each node's read-only
// probe request, classifies the probe's answer and renders text, JSON and Prometheus text format. The I/O (one SSH
// session or local shell per node) is in statusProbe.ts.
//
// The source of truth is the state, not the config: a push's recorded `stdin` is the bundle its last successful run
// installed (each file's path and SHA-256), a restart's is the health checks (endpoint and fingerprint to serve) and
// the bundles it reads; the node records, after each restart that passed, the digests of the bundles it restarted on
// (var/lib/kube-pki/restart-<reader>.digests). Re-evaluating the config would tell what the next `up` would deliver
// (with fresh keys offline), and the `inventory` output has no file digests; the state tells what was delivered.
import { createHash, X509Certificate } from "node:crypto";
import { LEAF_CERTIFICATES } from "../components/model/catalog";
import { ClusterSpec, Reader, READERS } from "../components/model/config";
import { buildName, splitCatalogId } from "../components/model/names";
import { isSecretEnvelope } from "./pulumiSecret";
import { certificateFileName, ExpiryRow, expiryJson, renderExpiryText, rowsOfPem, statusOf } from "./expiry";

/** A file's state on its node, in the order a report sorts them. */
export const FILE_STATES = ["in-sync", "changed", "missing", "not-served", "unreachable"] as const;
export type FileState = (typeof FILE_STATES)[number];
/** An endpoint's: it serves the stack's certificate, another one, the one on disk that is not served yet, or nothing. */
export const ENDPOINT_STATES = ["in-sync", "changed", "not-served", "unreachable"] as const;
export type EndpointState = (typeof ENDPOINT_STATES)[number];

/** One resource of a stack's state, secrets in plain text (`pulumi stack export --show-secrets`, or an evaluation). */
export interface StateResource {
  readonly urn: string;
  readonly type: string;
  /** Parent URN ("" at the top). */
  readonly parent: string;
  readonly outputs: Record<string, unknown>;
}

/** How to reach a node: as its pushes connect (remote), or undefined for a local delivery tree. */
export interface NodeConnection {
  readonly host: string;
  readonly port?: number;
  readonly user?: string;
  readonly hostKey?: string;
  readonly privateKey?: string;
}

export interface DeliveredFile {
  readonly path: string;
  readonly sha256: string;
  /** The push resource that installs it. */
  readonly push: string;
  /** The certificate(s) it holds as delivered, PEM: a .crt file, or a kubeconfig's client certificate. */
  readonly certificates?: string;
}

export interface HealthCheck {
  readonly host: string;
  readonly port: number;
  /** The node's file of the certificate served there. */
  readonly path?: string;
  /** SHA-256 fingerprint (openssl's `AB:CD:…`) of the certificate the stack delivered for this endpoint (its file's). */
  readonly fingerprint: string;
  readonly clientCert?: { readonly cert: string; readonly key: string };
}

export interface ExpectedRestart {
  readonly reader: Reader;
  /** The bundles it reads, by catalog id, with the push and the digest of what that push installed. */
  readonly bundles: readonly { readonly id: string; readonly push: string; readonly digest: string }[];
  readonly checks: readonly HealthCheck[];
}

export interface NodeTarget {
  readonly cluster: string;
  readonly node: string;
  /** The node's filesystem root: `/` (or ssh.root) over SSH, the node's directory for local delivery. */
  readonly root: string;
  readonly connection?: NodeConnection;
  readonly files: readonly DeliveredFile[];
  readonly restarts: readonly ExpectedRestart[];
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
const DELIVERY_TYPE = "kube-pki:delivery:ClusterDelivery";
const COMMAND_TYPES = ["command:remote:Command", "command:local:Command"];
const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
const typeOf = (urn: string) => {
  const parts = urn.split("::");
  const chain = parts[parts.length - 2] ?? "";
  return chain.slice(chain.lastIndexOf("$") + 1);
};
/** A kubeconfig's client certificate (base64 of PEM), as the node's probe reads it too. */
export const clientCertificateData = (kubeconfig: string) => /^ *client-certificate-data: *(\S+)/m.exec(kubeconfig)?.[1];

/** The plain resources of `pulumi stack export --show-secrets` (secrets in its `plaintext` envelope). */
export function resourcesFromExport(exported: unknown): StateResource[] {
  const resources = (exported as { deployment?: { resources?: unknown[] } })?.deployment?.resources;
  if (!Array.isArray(resources)) throw new Error("not a stack export (no deployment.resources): the output of pulumi stack export");
  const plain = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(plain);
    if (v === null || typeof v !== "object") return v;
    const o = v as Record<string, unknown>;
    if (isSecretEnvelope(o)) {
      if (typeof o.plaintext !== "string")
        throw new Error(
          "the stack export holds encrypted secrets: export it with --show-secrets (and the stack's passphrase or secrets provider)",
        );
      return plain(JSON.parse(o.plaintext));
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
  };
  return resources.map((r) => {
    const x = r as { urn: string; type: string; parent?: string; outputs?: unknown };
    return { urn: x.urn, type: x.type, parent: x.parent ?? "", outputs: (plain(x.outputs ?? {}) as Record<string, unknown>) ?? {} };
  });
}

/** The payload lines of a push: `file <mode> <owner> <sha256> <path> <base64>` (bundlePayload). */
function deliveredFiles(payload: string, push: string): DeliveredFile[] {
  return payload
    .split("\n")
    .filter((l) => l.startsWith("file "))
    .map((line) => {
      const [, , , sum, path, data] = line.split(" ");
      // Only certificates are decoded and kept; a key's content is never held beyond this line.
      const text = /\.(crt|conf)$/.test(path!) ? Buffer.from(data ?? "", "base64").toString("utf8") : undefined;
      const certificates = text && path!.endsWith(".conf") ? decodeBase64(clientCertificateData(text)) : text;
      return { path: path!, sha256: sum!, push, ...(certificates ? { certificates } : {}) };
    });
}
const decodeBase64 = (b64: string | undefined) => (b64 ? Buffer.from(b64, "base64").toString("utf8") : undefined);

const fingerprintOf = (pem: string | undefined) => {
  try {
    return pem ? new X509Certificate(pem).fingerprint256 : undefined;
  } catch {
    return undefined;
  }
};

/**
 * A restart's health checks (`check <host> <port> <fingerprint> [<cert> <key>]`) with the file each one serves and
 * that file's certificate as the stack now has it. The recorded fingerprint finds the file while the restart ran on
 * the current push; after a restart that failed, its record is older than the push, so the check is matched to the
 * reader's served certificate by the catalog's port (the API server's port is the cluster's, so it is the one left).
 */
function servedChecks(
  lines: string[],
  bundles: string[],
  files: readonly DeliveredFile[],
  pushOf: (bundle: string) => string,
): HealthCheck[] {
  const served = bundles
    .map((id) => ({ id, profile: LEAF_CERTIFICATES.find((l) => l.name === splitCatalogId(id).name && l.servedOnPort) }))
    .filter((b) => b.profile)
    .map((b) => ({ ...b, file: files.find((f) => f.push === pushOf(splitCatalogId(b.id).name) && f.path.endsWith(".crt")) }));
  const checks = lines.map((l) => {
    const [, host, port, recorded, cert, key] = l.split(" ");
    return { host: host!, port: Number(port), recorded: recorded!, ...(cert && key ? { clientCert: { cert, key } } : {}) };
  });
  const taken = new Set<string>();
  const byFingerprint = checks.map((c) => {
    const b = served.find((x) => fingerprintOf(x.file?.certificates) === c.recorded);
    if (b) taken.add(b.id);
    return b;
  });
  return checks.map(({ recorded, ...c }, i) => {
    const left = served.filter((b) => !taken.has(b.id));
    const fixedPort = (b: (typeof served)[number]) => b.profile!.servedOnPort!({ apiServer: { bindPort: -1 } } as ClusterSpec);
    const b = byFingerprint[i] ?? left.find((x) => fixedPort(x) === c.port) ?? left.find((x) => fixedPort(x) === -1);
    if (b) taken.add(b.id);
    const fingerprint = fingerprintOf(b?.file?.certificates) ?? recorded;
    return { ...c, fingerprint, ...(b?.file ? { path: b.file.path } : {}) };
  });
}

/** The last word of a node command (`… kube-pki-install <root>`): the node's root. */
const rootOf = (command: string) => command.trim().split(/\s+/).pop()!;

/**
 * Every node a stack delivers to, with what it delivered and what must be served, read off the delivery commands in
 * its state: `<cluster>-<node>-tools` names the nodes, `-push-<bundle>` and `-restart-<reader>` their commands.
 */
export function targetsFromState(resources: readonly StateResource[]): NodeTarget[] {
  const commands = resources.filter((r) => COMMAND_TYPES.includes(r.type) && typeOf(r.parent) === DELIVERY_TYPE);
  const clusters = new Map<string, StateResource[]>();
  for (const r of commands) {
    const delivery = nameOf(r.parent);
    const cluster = delivery.replace(/-delivery$/, "");
    if (buildName({ kind: "delivery", cluster }) !== delivery) continue;
    clusters.set(cluster, [...(clusters.get(cluster) ?? []), r]);
  }
  const targets: NodeTarget[] = [];
  for (const [cluster, rs] of [...clusters].sort(([a], [b]) => a.localeCompare(b))) {
    const nodes = rs
      .map((r) => nameOf(r.urn))
      .filter((n) => buildName({ kind: "tools", cluster, node: n.slice(cluster.length + 1, -"-tools".length) }) === n)
      .map((n) => n.slice(cluster.length + 1, -"-tools".length))
      // Longest first: a node named `a-b` must not take the commands of node `a`.
      .sort((a, b) => b.length - a.length);
    const nodeOf = (name: string, kind: string) => nodes.find((n) => name.startsWith(`${cluster}-${n}-${kind}-`));
    for (const node of [...nodes].sort()) {
      const mine = (kind: string) =>
        rs.filter((r) => nodeOf(nameOf(r.urn), kind) === node && nameOf(r.urn).startsWith(`${cluster}-${node}-${kind}-`));
      const pushes = mine("push");
      if (pushes.length === 0) continue;
      const payloads = new Map(pushes.map((p) => [nameOf(p.urn), String(p.outputs.stdin ?? "")]));
      const files = pushes
        .flatMap((p) => deliveredFiles(payloads.get(nameOf(p.urn))!, nameOf(p.urn)))
        .sort((a, b) => a.path.localeCompare(b.path));
      const restarts = mine("restart").flatMap((r): ExpectedRestart[] => {
        const reader = nameOf(r.urn).slice(`${cluster}-${node}-restart-`.length) as Reader;
        if (!READERS.includes(reader)) return [];
        const lines = String(r.outputs.stdin ?? "").split("\n");
        return [
          {
            reader,
            bundles: lines
              .filter((l) => l.startsWith("# "))
              .map((l) => {
                const [, id, recorded] = l.split(" ");
                const push = buildName({ kind: "push", cluster, node, bundle: splitCatalogId(id!).name });
                const payload = payloads.get(push);
                // What the push installed is what the restart must have run on (a restart that failed keeps older inputs).
                return { id: id!, push, digest: payload === undefined ? recorded! : sha256(payload) };
              }),
            checks: servedChecks(
              lines.filter((l) => l.startsWith("check ")),
              lines.filter((l) => l.startsWith("# ")).map((l) => l.split(" ")[1]!),
              files,
              (bundle) => buildName({ kind: "push", cluster, node, bundle }),
            ),
          },
        ];
      });
      const first = pushes[0]!;
      const connection = first.type === COMMAND_TYPES[0] ? (first.outputs.connection as NodeConnection) : undefined;
      targets.push({
        cluster,
        node,
        root: rootOf(String(first.outputs.create)),
        ...(connection ? { connection } : {}),
        files,
        restarts: restarts.sort((a, b) => a.reader.localeCompare(b.reader)),
      });
    }
  }
  return targets;
}

// ---- the node's probe ----------------------------------------------------------------------------------------------

/**
 * What the node runs (`sh -c '<this>' kube-pki-status <root>`, POSIX sh, read-only: it writes nothing anywhere),
 * reading its request on stdin: `file <path>` (its SHA-256, and a certificate's public content), `restart <reader>`
 * (the bundle digests recorded after that reader's last restart that passed), `probe <host> <port> [<cert> <key>]`
 * (the fingerprint served there, probed from the node as the health check does). `end` marks a complete answer.
 * Never a private key: a kubeconfig gives only its client-certificate-data line.
 */
export const PROBE_SCRIPT = [
  "set -u",
  "root=${1%/}; state=$root/var/lib/kube-pki",
  'if command -v timeout >/dev/null 2>&1; then t="timeout 10"; else t=""; fi',
  "while read -r kind a b c d; do",
  "  case $kind in",
  "  file)",
  "    f=$root$a",
  '    if [ -L "$f" ] || { [ -e "$f" ] && [ ! -f "$f" ]; }; then echo "file $a other"; continue; fi',
  '    if [ ! -e "$f" ]; then echo "file $a -"; continue; fi',
  '    if ! s=$(sha256sum < "$f" 2>/dev/null); then echo "file $a unreadable"; continue; fi',
  '    echo "file $a ${s%% *}"',
  "    case $a in",
  '    *.crt) printf "pem %s " "$a"; base64 < "$f" | tr -d "\\n"; echo ;;',
  '    *.conf) echo "kcert $a $(sed -n "s/^ *client-certificate-data: *//p" "$f" | head -n 1)" ;;',
  "    esac ;;",
  '  restart) if [ -f "$state/restart-$a.digests" ]; then sed -n "s|^# |digest $a |p" "$state/restart-$a.digests"; fi ;;',
  "  probe)",
  '    case $a in *:*) hp="[$a]:$b" ;; *) hp="$a:$b" ;; esac',
  '    if [ -n "$c" ]; then set -- -cert "$root$c" -key "$root$d"; else set --; fi',
  '    got=$($t openssl s_client -connect "$hp" "$@" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null)',
  '    echo "served $a $b ${got#*=}" ;;',
  "  esac",
  "done",
  "echo end",
].join("\n");
if (PROBE_SCRIPT.includes("'")) throw new Error("the probe script must not contain single quotes (it is wrapped in sh -c '…')");

/** The node's command line: fixed but for the root (a plain word, as every node command's). */
export const probeCommand = (root: string) => {
  if (!/^[A-Za-z0-9_./:@%+=,-]+$/.test(root)) throw new Error(`node root ${JSON.stringify(root)} is not a plain shell word`);
  return `sh -c '${PROBE_SCRIPT}' kube-pki-status ${root}`;
};

/** The probe's stdin for a node. */
export const probeRequest = (t: NodeTarget) =>
  [
    ...t.files.map((f) => `file ${f.path}`),
    ...t.restarts.map((r) => `restart ${r.reader}`),
    ...t.restarts.flatMap((r) =>
      r.checks.map((c) => ["probe", c.host, c.port, ...(c.clientCert ? [c.clientCert.cert, c.clientCert.key] : [])].join(" ")),
    ),
  ].join("\n") + "\n";

export interface ProbeAnswer {
  /** Path → SHA-256, `-` (absent), `other` (not a regular file), `unreadable`. */
  readonly files: ReadonlyMap<string, string>;
  /** Path → the certificate(s) it holds, PEM. */
  readonly certificates: ReadonlyMap<string, string>;
  /** `<reader> <bundle id>` → digest recorded after the reader's last restart that passed. */
  readonly restarted: ReadonlyMap<string, string>;
  /** `host:port` → served fingerprint, "" when nothing answered. */
  readonly served: ReadonlyMap<string, string>;
}

/** The probe's output, or an error when it did not finish (no `end`). */
export function parseProbe(output: string): ProbeAnswer {
  const lines = output.split("\n");
  if (!lines.includes("end")) throw new Error("the node's answer ended early");
  const files = new Map<string, string>();
  const certificates = new Map<string, string>();
  const restarted = new Map<string, string>();
  const served = new Map<string, string>();
  for (const line of lines) {
    const [kind, a = "", b = "", c = ""] = line.split(" ");
    if (kind === "file") files.set(a, b);
    else if (kind === "pem" && b) certificates.set(a, Buffer.from(b, "base64").toString("utf8"));
    else if (kind === "kcert" && b) certificates.set(a, Buffer.from(b, "base64").toString("utf8"));
    else if (kind === "digest") restarted.set(`${a} ${b}`, c);
    else if (kind === "served") served.set(`${a}:${b}`, c);
  }
  return { files, certificates, restarted, served };
}

// ---- classification ------------------------------------------------------------------------------------------------

/**
 * A file's state from what the node holds (`found`: its SHA-256, `-`, `other`, `unreadable`; undefined when the node
 * did not answer) against what the stack delivered, and whether a reader has not restarted on it since.
 */
export function classifyFile(delivered: string, found: string | undefined, restartPending: boolean): FileState {
  if (found === undefined || found === "unreadable") return "unreachable";
  if (found === "-") return "missing";
  if (found !== delivered) return "changed";
  return restartPending ? "not-served" : "in-sync";
}

/**
 * An endpoint's state from the fingerprints the stack delivered, the node's file holds (undefined: absent or unknown)
 * and the endpoint serves ("" or undefined: nothing answered).
 */
export function classifyEndpoint(stack: string, disk: string | undefined, served: string | undefined): EndpointState {
  if (!served) return "unreachable";
  if (served === stack) return "in-sync";
  // The file on disk is the stack's but something older is served: the restart that should follow it did not happen.
  return disk === stack ? "not-served" : "changed";
}

export interface FileStatus {
  readonly path: string;
  readonly state: FileState;
  /** What differs, for a reader: the readers not restarted since, or what the node holds. */
  readonly detail?: string;
}
export interface EndpointStatus {
  readonly reader: Reader;
  readonly endpoint: string;
  /** The node's file of the certificate to serve there. */
  readonly path?: string;
  readonly state: EndpointState;
  readonly stack: string;
  readonly disk?: string;
  readonly served?: string;
}
export interface NodeReport {
  readonly cluster: string;
  readonly node: string;
  /** Why the node could not be read (unreachable), else undefined. */
  readonly error?: string;
  readonly files: readonly FileStatus[];
  readonly endpoints: readonly EndpointStatus[];
  readonly expiry: readonly ExpiryRow[];
}

/** A node's report from its target and the probe's answer (an Error when the node could not be read). */
export function nodeReport(t: NodeTarget, answer: ProbeAnswer | Error): NodeReport {
  const got = answer instanceof Error ? undefined : answer;
  const files = t.files.map((f): FileStatus => {
    const found = got?.files.get(f.path);
    const pending = t.restarts.filter((r) =>
      r.bundles.some((b) => b.push === f.push && got?.restarted.get(`${r.reader} ${b.id}`) !== b.digest),
    );
    const state = classifyFile(f.sha256, found, pending.length > 0);
    const detail =
      state === "not-served"
        ? `not restarted since it was installed: ${pending.map((r) => r.reader).join(", ")}`
        : state === "changed" && (found === "other" || found === "unreadable")
          ? "not a regular file"
          : undefined;
    return { path: f.path, state, ...(detail ? { detail } : {}) };
  });
  const endpoints = t.restarts.flatMap((r) =>
    r.checks.map((c): EndpointStatus => {
      const file = t.files.find((f) => f.path === c.path);
      const disk =
        file && got?.files.get(file.path) === file.sha256 ? c.fingerprint : fingerprintOf(file && got?.certificates.get(file.path));
      const endpoint = `${c.host.includes(":") ? `[${c.host}]` : c.host}:${c.port}`;
      const served = got?.served.get(`${c.host}:${c.port}`);
      const state = got ? classifyEndpoint(c.fingerprint, disk, served) : "unreachable";
      return {
        reader: r.reader,
        endpoint,
        ...(file ? { path: file.path } : {}),
        state,
        stack: c.fingerprint,
        ...(disk ? { disk } : {}),
        ...(served ? { served } : {}),
      };
    }),
  );
  const expiry = t.files.flatMap((f) => {
    const name = certificateFileName(f.path);
    const onNode = got?.certificates.get(f.path);
    const pem = onNode ?? f.certificates;
    if (!name || !pem) return [];
    try {
      return rowsOfPem(`${t.cluster}/${t.node}/${name}`, pem, onNode ? `${t.node}:${f.path}` : "stack");
    } catch {
      return [];
    }
  });
  return { cluster: t.cluster, node: t.node, ...(answer instanceof Error ? { error: answer.message } : {}), files, endpoints, expiry };
}

// ---- exit code and reports -----------------------------------------------------------------------------------------

/**
 * The exit code, a sum of bits so a script can test each: 1 a certificate expires within `warnDays` (or has expired;
 * as `npm run expiry`), 4 drift (a file changed, missing or not served yet, an endpoint serving another certificate),
 * 8 a node or endpoint unreachable. 0: everything in sync and nothing due. (2 is the tool's own failure: no report.)
 */
export function statusExitCode(reports: readonly NodeReport[], now: Date, warnDays: number): number {
  const all = [...reports.flatMap((r) => r.files.map((f) => f.state)), ...reports.flatMap((r) => r.endpoints.map((e) => e.state))];
  const expiring = reports.some((r) => r.expiry.some((e) => statusOf(e, now, warnDays) !== "ok"));
  return (
    (expiring ? 1 : 0) +
    (all.some((s) => s === "changed" || s === "missing" || s === "not-served") ? 4 : 0) +
    (all.includes("unreachable") ? 8 : 0)
  );
}

const uniqueRows = (reports: readonly NodeReport[]) => reports.flatMap((r) => r.expiry);

function columns(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3)))
        .join("")
        .trimEnd(),
    )
    .join("\n");
}

/** Text: a line per node (its files and endpoints by state), every file and endpoint not in sync, then the expiry tables. */
export function renderStatusText(reports: readonly NodeReport[], now: Date): string {
  const count = (states: readonly string[]) =>
    FILE_STATES.map((s) => [s, states.filter((x) => x === s).length] as const)
      .filter(([, n]) => n > 0)
      .map(([s, n]) => `${n} ${s}`)
      .join(", ") || "none";
  const summary = columns([
    ["CLUSTER", "NODE", "FILES", "ENDPOINTS"],
    ...reports.map((r) => [r.cluster, r.node, count(r.files.map((f) => f.state)), count(r.endpoints.map((e) => e.state))]),
  ]);
  const drift = reports.flatMap((r) => [
    ...(r.error ? [[r.cluster, r.node, "(node)", "unreachable", r.error]] : []),
    ...r.files.filter((f) => f.state !== "in-sync" && !r.error).map((f) => [r.cluster, r.node, f.path, f.state, f.detail ?? ""]),
    ...r.endpoints
      .filter((e) => e.state !== "in-sync" && !r.error)
      .map((e) => [
        r.cluster,
        r.node,
        `${e.reader} ${e.endpoint}`,
        e.state,
        e.state === "unreachable" ? "no TLS handshake" : `serves ${e.served}`,
      ]),
  ]);
  return [
    summary,
    "",
    drift.length === 0
      ? "Every file and endpoint is in sync with the stack."
      : columns([["CLUSTER", "NODE", "FILE OR ENDPOINT", "STATE", "DETAIL"], ...drift]),
    "",
    renderExpiryText(uniqueRows(reports), now),
  ].join("\n");
}

export function renderStatusJson(reports: readonly NodeReport[], now: Date, warnDays: number): string {
  return `${JSON.stringify(
    {
      generated: now.toISOString(),
      warnDays,
      exitCode: statusExitCode(reports, now, warnDays),
      nodes: reports.map((r) => ({ cluster: r.cluster, node: r.node, error: r.error, files: r.files, endpoints: r.endpoints })),
      certificates: uniqueRows(reports).map((row) => expiryJson(row, now, warnDays)),
    },
    null,
    2,
  )}\n`;
}

const label = (v: string) => `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
const labels = (l: Record<string, string>) =>
  Object.keys(l).length === 0
    ? ""
    : `{${Object.entries(l)
        .map(([k, v]) => `${k}=${label(v)}`)
        .join(",")}}`;

/**
 * Prometheus text format (node_exporter's textfile collector). Named and labelled as cert-manager's metrics where
 * they mean the same: `certificate_expiration_timestamp_seconds` and `certificate_ready_status{condition=True|False|
 * Unknown}` (ready: the file is in sync and, where a component serves it, served); kube-pki's own drift states as
 * one series per state, 1 for the current one.
 */
export function renderStatusPrometheus(reports: readonly NodeReport[], now: Date): string {
  const out: string[] = [];
  const metric = (name: string, help: string, series: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...series.map(([l, v]) => `${name}${labels(l)} ${v}`));
  };
  const certFiles = reports.flatMap((r) =>
    r.expiry.map((row) => ({ r, row, name: row.certificate.slice(`${r.cluster}/${r.node}/`.length) })),
  );
  metric(
    "kube_pki_certificate_expiration_timestamp_seconds",
    "The date after which the certificate expires. Expressed as a Unix Epoch Time.",
    certFiles.map(({ r, row, name }) => [
      { cluster: r.cluster, node: r.node, name, issuer_name: row.isCa ? name.replace(/ \(\d+\)$/, "") : row.authority },
      Math.floor(row.notAfter.getTime() / 1000),
    ]),
  );
  const fileOf = (r: NodeReport, name: string) => r.files.find((f) => certificateFileName(f.path) === name.replace(/ \(\d+\)$/, ""));
  metric(
    "kube_pki_certificate_ready_status",
    "The ready status of the certificate: on its node as the stack delivered it, and served where a component serves it.",
    certFiles.flatMap(({ r, name }) => {
      const file = fileOf(r, name);
      const servedOk = r.endpoints.filter((e) => e.path === file?.path).every((e) => e.state === "in-sync");
      const condition = !file || file.state === "unreachable" ? "Unknown" : file.state === "in-sync" && servedOk ? "True" : "False";
      return ["True", "False", "Unknown"].map((c): [Record<string, string>, number] => [
        { cluster: r.cluster, node: r.node, name, condition: c },
        c === condition ? 1 : 0,
      ]);
    }),
  );
  metric(
    "kube_pki_file_state",
    "The state of a file kube-pki delivered, on its node, against the stack: 1 for the current state.",
    reports.flatMap((r) =>
      r.files.flatMap((f) =>
        FILE_STATES.map((s): [Record<string, string>, number] => [
          { cluster: r.cluster, node: r.node, path: f.path, state: s },
          f.state === s ? 1 : 0,
        ]),
      ),
    ),
  );
  metric(
    "kube_pki_endpoint_state",
    "What an endpoint serves against the certificate the stack delivered for it: 1 for the current state.",
    reports.flatMap((r) =>
      r.endpoints.flatMap((e) =>
        ENDPOINT_STATES.map((s): [Record<string, string>, number] => [
          { cluster: r.cluster, node: r.node, reader: e.reader, endpoint: e.endpoint, state: s },
          e.state === s ? 1 : 0,
        ]),
      ),
    ),
  );
  metric("kube_pki_status_timestamp_seconds", "When this status was taken. Expressed as a Unix Epoch Time.", [
    [{}, Math.floor(now.getTime() / 1000)],
  ]);
  return `${out.join("\n")}\n`;
}
