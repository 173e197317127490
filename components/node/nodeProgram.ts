// What runs on a node (or locally) to install a bundle, remove one, and check that a restarted component serves its
// new certificate: the node program (kube-pki-node.sh beside this module), the payloads it reads and the fixed command strings that
// install and run it. Each command string holds no secret: the bundle travels on stdin. Pure code.
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { AbsentPath } from "../model/catalog";
import { Reader, SHELL_WORD } from "../model/config";

export interface PayloadFile {
  /** Absolute path on the node (no whitespace). */
  readonly path: string;
  readonly mode: number;
  readonly owner: string;
  readonly content: string;
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

export interface PayloadOptions {
  /**
   * Keep the bundle's previous version beside it (`.<name>.kube-pki-prev`) for a rollback until the restart that
   * reads it has passed its health check (which then drops it). False when nothing restarts after this bundle:
   * a replaced key must not stay on the node.
   */
  readonly keepPrevious?: boolean;
}

const checkPath = (path: string) => {
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(path) || /\/\.\.?(\/|$)/.test(path)) {
    throw new Error(
      `bundle path ${JSON.stringify(path)} must be absolute, of letters, digits, "_", "." and "-", without . or .. components`,
    );
  }
  return path;
};

/**
 * The stdin of an install: `option previous keep|drop`, one line per file (`file <mode> <owner> <sha256> <path>
 * <base64>`), one per path the node must not have (`absent always|ours - - <path>`), then `commit <n>`. The script
 * installs nothing unless it has read the commit line and every checksum matched, so a connection cut during the
 * transfer leaves the node as it was.
 */
export function bundlePayload(files: readonly PayloadFile[], absent: readonly AbsentPath[] = [], opts: PayloadOptions = {}): string {
  const lines = [
    `option previous ${opts.keepPrevious ? "keep" : "drop"}`,
    ...files.map(
      (f) =>
        `file 0${f.mode.toString(8)} ${f.owner} ${sha256(f.content)} ${checkPath(f.path)} ${Buffer.from(f.content, "utf8").toString("base64")}`,
    ),
    // Paths the node is not (or no longer) entitled to: removed with the swap.
    ...absent.map((a) => `absent ${a.signingKey ? "always" : "ours"} - - ${checkPath(a.path)}`),
  ];
  return `${lines.join("\n")}\ncommit ${lines.length}\n`;
}

/** Content hash of a bundle, as recorded in restart inputs so that a restart follows every change it depends on. */
export const bundleDigest = (payload: string) => sha256(payload);

/** SHA-256 fingerprint of a PEM certificate in openssl's format (`AB:CD:…`), what the health check compares. */
export const certificateFingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

/**
 * kube-pki's program on a node (kube-pki-node.sh, beside this module): one shell script holding the install,
 * removal, restart and self-install operations (`sh -c "$program" kube-pki <operation> <root> …`). It is installed on
 * each node once, by the node's tools command, so that each push records in the state only its bundle and a short
 * command that runs this program, not the program itself (which made 74 % of a 1,500-resource state). What ships is
 * the file's code: its comment lines (documentation, shellcheck directives) and trailing newline are dropped, so they
 * change neither the node's copy nor its digest.
 */
const NODE_PROGRAM = readFileSync(join(__dirname, "kube-pki-node.sh"), "utf8")
  .replace(/^[ \t]*#.*\n/gm, "")
  .replace(/\n+$/, "");

/** SHA-256 of the node program as installed (the file holds the program without a trailing newline). */
export const NODE_PROGRAM_DIGEST = sha256(NODE_PROGRAM);

/** Where the node program is, relative to the node's root. */
export const nodeProgramPath = (root: string) => `${root.replace(/\/+$/, "")}/var/lib/kube-pki/bin/node-${NODE_PROGRAM_DIGEST}.sh`;

/**
 * The stdin of the tools command: the node program, gzip-compressed (it is in the state twice per node) and base64
 * encoded. The gzip header's OS byte is fixed, so the same program gives the same stdin on every machine.
 */
export function nodeToolsPayload(): string {
  const gz = gzipSync(Buffer.from(NODE_PROGRAM, "utf8"), { level: 9 });
  gz[9] = 3; // "Unix", whichever zlib build made it
  return `${gz.toString("base64")}\n`;
}

// Each command string below is wrapped in sh -c '…': none may contain a single quote.
const assertNoQuote = (name: string, script: string) => {
  if (script.includes("'")) throw new Error(`${name} must not contain single quotes (it is wrapped in sh -c '…')`);
  return script;
};

// The tools command: decompress the program, check it against the digest it was sent with, and let it install itself.
const TOOLS = assertNoQuote(
  "the tools command",
  [
    'set -eu; p=$(base64 -d | gzip -dc) || { echo "kube-pki: the node program (stdin) is not gzip+base64" >&2; exit 1; }',
    's=$(printf "%s" "$p" | sha256sum); [ "${s%% *}" = "$2" ] || { echo "kube-pki: the node program arrived damaged" >&2; exit 1; }',
    'printf "%s" "$p" | sh -c "$p" kube-pki self-install "$1" "$2"',
  ].join("; "),
);

// What a push or restart runs: the node program from its file, after checking the file holds exactly this version
// (read once, checked, and the checked text run, so nothing can swap it between the check and the run). Its `$0`
// (kube-pki-install, -remove, -restart) names the operation and stays the program's `$0`, so `ps` tells them apart.
const RUN = assertNoQuote(
  "the run command",
  [
    `f=\${1%/}/var/lib/kube-pki/bin/node-${NODE_PROGRAM_DIGEST}.sh`,
    'if [ ! -f "$f" ]; then echo "kube-pki: $f is missing (node reinstalled, or /var/lib/kube-pki removed): replace the tools command of this node (pulumi up --replace <URN of <cluster>-<node>-tools>)" >&2; exit 1; fi',
    'p=$(cat "$f"); s=$(printf "%s" "$p" | sha256sum)',
    `if [ "\${s%% *}" != ${NODE_PROGRAM_DIGEST} ]; then echo "kube-pki: $f does not hold the node program it is named after" >&2; exit 1; fi`,
    'exec sh -c "$p" "$0" "${0#kube-pki-}" "$@"',
  ].join("; "),
);

const shWord = (s: string) => {
  if (!SHELL_WORD.test(s)) throw new Error(`${JSON.stringify(s)} is not a plain shell word`);
  return s;
};

/** The tools command of a node: installs the node program (stdin: `nodeToolsPayload()`) under `<root>/var/lib/kube-pki/bin`. */
export function toolsCommand(root: string): string {
  return `sh -c '${TOOLS}' kube-pki-tools ${shWord(root)} ${NODE_PROGRAM_DIGEST}`;
}

/** The fixed install command; `root` is where the node's filesystem is (`/` on a real node). Needs the node program. */
export function installCommand(root: string): string {
  return `sh -c '${RUN}' kube-pki-install ${shWord(root)}`;
}

/** The fixed removal command of a bundle: it reads the bundle it removes on stdin. Needs the node program. */
export function removeCommand(root: string): string {
  return `sh -c '${RUN}' kube-pki-remove ${shWord(root)}`;
}

/** `'…'` quoting for one shell argument (the configured restart command may hold quotes). */
const shQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

export interface HealthCheck {
  readonly host: string;
  readonly port: number;
  readonly fingerprint: string;
  /** Paths (on the node) of a client certificate and key, for servers that require one (etcd). */
  readonly clientCert?: { readonly cert: string; readonly key: string };
}

/** A plain-HTTP `/healthz` on the node (no credentials) that must answer `ok` after the restart; `node` names it in errors. */
export interface HealthzCheck {
  readonly host: string;
  readonly port: number;
  readonly node: string;
}

/** The fixed restart command of one component (`create` and `update` differ only in how a silent server is judged). */
export function restartCommand(command: string, root: string, reader: string, timeoutSeconds: number, mode: "create" | "update"): string {
  return `sh -c '${RUN}' kube-pki-restart ${shWord(root)} ${shWord(reader)} ${timeoutSeconds} ${mode} ${shQuote(command.trim())}`;
}

/** A file a restarted component reads: its bundle, and the other components restarted on the node that read it too. */
export interface ReadFile {
  readonly path: string;
  readonly bundle: string;
  readonly sharedWith: readonly Reader[];
}

/**
 * Restart stdin: the digest of every bundle the component reads (a change re-runs it), the health checks (served
 * certificates, then `/healthz` endpoints), and the
 * files it reads, whose previous versions are dropped once it and every component in `sharedWith` passed with the
 * bundle's current digest.
 */
export function restartInput(
  checks: readonly HealthCheck[],
  bundleDigests: Readonly<Record<string, string>>,
  files: readonly ReadFile[] = [],
  healthz: readonly HealthzCheck[] = [],
): string {
  const digestOf = (bundle: string) => {
    const digest = bundleDigests[bundle];
    if (digest === undefined) throw new Error(`restart input: ${bundle} is read but has no digest`);
    return digest;
  };
  return (
    [
      ...Object.entries(bundleDigests)
        .sort()
        .map(([id, digest]) => `# ${id} ${digest}`),
      ...checks.map((c) =>
        ["check", c.host, String(c.port), c.fingerprint, ...(c.clientCert ? [c.clientCert.cert, c.clientCert.key] : [])].join(" "),
      ),
      ...healthz.map((h) => ["healthz", h.host, String(h.port), h.node].join(" ")),
      ...[...new Map(files.map((f) => [checkPath(f.path), f])).values()]
        .sort((x, y) => (x.path < y.path ? -1 : 1))
        .map((f) => ["prev", f.path, f.bundle, digestOf(f.bundle), ...f.sharedWith].join(" ")),
    ].join("\n") + "\n"
  );
}

// ---- worker join files, one push per shard of workers (workers: bootstrap) ------------------------------------------

/**
 * What runs on a worker for a shard push (`kube-pki-join <root> <program digest> <worker> [<timeout> <restart command,
 * base64> <healthz yes|no>]`): the node program arrives as the first stdin line (gzip+base64), is checked against its
 * digest and run as `install` on the rest of stdin (the join bundle). Nothing is installed under
 * /var/lib/kube-pki/bin: a shard push carries the program itself, so no per-worker tools resource is needed.
 * With a restart command, the kubelet is restarted (the node program's health-gated restart, its /healthz on
 * 127.0.0.1:10248 as kubeadm configures it) when the install changed the set of CAs in ca.crt (a rotation's add or
 * drop; not switch, which only reorders them; not a first install): its API client keeps the CA it started with
 * (kubeletRestartNeeded). A marker file holds the restart until it succeeded, so the next push retries a failed one.
 */
const JOIN_NODE = assertNoQuote(
  "the join node command",
  [
    'set -eu; IFS= read -r z; p=$(printf "%s\\n" "$z" | base64 -d | gzip -dc) || { echo "kube-pki: the node program (stdin) is not gzip+base64" >&2; exit 1; }',
    's=$(printf "%s" "$p" | sha256sum); [ "${s%% *}" = "$2" ] || { echo "kube-pki: the node program arrived damaged" >&2; exit 1; }',
    "c=${1%/}/etc/kubernetes/pki/ca.crt; m=${1%/}/var/lib/kube-pki/kubelet-restart-pending",
    'cas() { if [ -f "$c" ]; then awk "/^-----BEGIN/ { b = \\"\\"; next } /^-----END/ { print b; next } { b = b \\$0 }" "$c" | sort | sha256sum; fi; }',
    'b=$(cas); sh -c "$p" kube-pki-install install "$1"; a=$(cas)',
    'if [ -z "${5:-}" ]; then exit 0; fi',
    'if [ -L "$m" ]; then echo "kube-pki: refusing $m: it is a symlink" >&2; exit 1; fi',
    'if [ -n "$b" ] && [ "$b" != "$a" ]; then : > "$m"; fi',
    'if [ -f "$m" ]; then h=""; if [ "$6" = yes ]; then h="healthz 127.0.0.1 10248 $3"; fi; printf "# ca-set %s\\n%s\\n" "${a%% *}" "$h" | sh -c "$p" kube-pki-restart restart "$1" kubelet "$4" update "$(printf "%s" "$5" | base64 -d)"; rm -f "$m"; fi',
  ].join("; "),
);

/**
 * The shard push, run where `pulumi up` runs. Its stdin holds the digest of the shard's worker list, the deploy key if
 * any and the bundle; the worker list and the node program are files of the join cache (`joinCacheDir`), named by
 * their SHA-256, which the program of the same `pulumi up` wrote before the engine runs this command: so the state
 * keeps neither (issue 21: 10,000 workers' addresses and host keys made most of it), while a changed shard is still a
 * changed input. The cache is found by KUBE_PKI_CACHE or HOME, as the program found it: an absolute path in the
 * command would be an input that differs between machines. Each file is copied, then checked, then used, so nothing
 * can swap it between the check and the use; one that is absent or does not hold its digest is refused.
 * It installs the bundle on every worker of the shard, `parallel` at a time (local: into each worker's directory;
 * ssh: one session per worker running JOIN_NODE, its host key pinned in a scratch known_hosts, the deploy key only in
 * a private ssh-agent of this run, with a lifetime, killed on exit), and fails naming every worker that failed with
 * the last lines of its error (the node program prints no file content). Re-running it is harmless: an install of
 * what a node already has changes nothing, so the engine's retry of a failed shard finishes what failed.
 */
const JOIN_PUSH = assertNoQuote(
  "the join push command",
  [
    'set -u; mode=$1; digest=$2; par=$3; remote=$4; q=$(printf "\\047"); in=$(cat)',
    't=$(mktemp -d); agent=""',
    'cleanup() { rm -rf "$t"; if [ -n "$agent" ]; then kill "$agent" 2>/dev/null || true; fi; }',
    'trap cleanup EXIT; trap "exit 1" INT TERM HUP',
    "c=${KUBE_PKI_CACHE:-${HOME:-}/.cache/kube-pki}/join",
    'load() { if [ ! -f "$c/$1" ]; then echo "kube-pki: $c/$1 ($3 of this shard) is missing: run pulumi up again (its program writes the file before this command runs)" >&2; exit 1; fi; cp "$c/$1" "$t/$2"; s=$(sha256sum < "$t/$2"); if [ "${s%% *}" != "$1" ]; then echo "kube-pki: $c/$1 ($3 of this shard) does not hold what it is named after (changed since pulumi up wrote it): run pulumi up again" >&2; exit 1; fi; }',
    'load "$digest" program "the node program"; load "$(printf "%s\\n" "$in" | sed -n "s/^workers //p")" workers "the worker list"',
    'p=$(cat "$t/program"); z=$(gzip -c < "$t/program" | base64 | tr -d "\\n")',
    'payload=$(printf "%s\\n" "$in" | sed "1,/^payload\\$/d")',
    'k=$(printf "%s\\n" "$in" | sed -n "s/^key //p"); rs=$(printf "%s\\n" "$in" | sed -n "s/^restart //p"); in=""',
    'if [ -n "$k" ]; then eval "$(ssh-agent -s -t 900)" > /dev/null; agent=$SSH_AGENT_PID; printf "%s" "$k" | base64 -d | ssh-add - 2> /dev/null || { echo "kube-pki: the deploy key was refused by ssh-add" >&2; exit 1; }; fi; k=""',
    'while read -r _ n r h pt u kt kb; do if [ "$mode" = ssh ]; then if [ "$pt" = 22 ]; then hp=$h; else hp="[$h]:$pt"; fi; echo "$hp $kt $kb" >> "$t/known_hosts"; fi; done < "$t/workers"',
    'one() { if [ "$mode" = local ]; then printf "%s\\n" "$payload" | sh -c "$p" kube-pki-install install "$2" > "$t/$1.out" 2>&1; else printf "%s\\n%s\\n" "$z" "$payload" | ssh -o BatchMode=yes -o ConnectTimeout=20 -o "HostKeyAlgorithms=$6" -o "UserKnownHostsFile=$t/known_hosts" -o StrictHostKeyChecking=yes -p "$4" "$5@$3" -- "sh -c $q$remote$q kube-pki-join $2 $digest $1 $rs" > "$t/$1.out" 2>&1; fi; echo $? > "$t/$1.rc"; }',
    'i=0; while read -r _ n r h pt u kt kb; do one "$n" "$r" "$h" "$pt" "$u" "$kt" < /dev/null & i=$((i + 1)); if [ "$i" -ge "$par" ]; then wait; i=0; fi; done < "$t/workers"; wait',
    'failed=""; total=0; while read -r _ n _; do total=$((total + 1)); rc=$(cat "$t/$n.rc" 2> /dev/null || echo none); if [ "$rc" != 0 ]; then failed="$failed $n"; echo "kube-pki: $n: join files not installed (exit $rc): $(tail -n 3 "$t/$n.out" 2> /dev/null | tr "\\n" " ")" >&2; fi; done < "$t/workers"',
    'if [ -n "$failed" ]; then echo "kube-pki: join files failed on$failed (the next pulumi up retries this shard)" >&2; exit 1; fi',
    'echo "kube-pki: join files on $total worker(s)"',
  ].join("\n"),
);

/** At most this many workers of a shard at once: SSH sessions from the machine that runs `pulumi up`. */
export const JOIN_PARALLEL = 8;

/** The fixed command of a shard push (`local` or `ssh` delivery); its input is `joinPushInput(...)` on stdin. */
export function joinPushCommand(mode: "local" | "ssh"): string {
  return `sh -c '${JOIN_PUSH}' kube-pki-join-push ${mode} ${NODE_PROGRAM_DIGEST} ${JOIN_PARALLEL} '${JOIN_NODE}'`;
}

/** A worker of a shard: where its files go (`root`), and over SSH how to reach it. */
export interface JoinTarget {
  readonly name: string;
  readonly root: string;
  readonly ssh?: { readonly host: string; readonly port: number; readonly user: string; readonly hostKey: string };
}

/** A file of the join cache (`joinCacheDir`), named by the SHA-256 of its text. Never a secret. */
export interface JoinFile {
  readonly digest: string;
  readonly text: string;
}

/** The node program as a shard push reads it from the join cache (its name is the digest in the push's command). */
export const joinProgramFile = (): JoinFile => ({ digest: NODE_PROGRAM_DIGEST, text: NODE_PROGRAM });

/** A shard's worker list, one line per worker (name, root, and over SSH host, port, user, host key type and key). */
export function joinWorkerFile(targets: readonly JoinTarget[]): JoinFile {
  const text = targets
    .map(
      (t) =>
        [
          "worker",
          shWord(t.name),
          shWord(t.root),
          ...(t.ssh
            ? [shWord(t.ssh.host), String(t.ssh.port), shWord(t.ssh.user), ...t.ssh.hostKey.trim().split(/\s+/).slice(0, 2).map(shWord)]
            : []),
        ].join(" ") + "\n",
    )
    .join("");
  return { digest: sha256(text), text };
}

/** How a shard push restarts a worker's kubelet after its CAs changed (SSH delivery; see JOIN_NODE). */
export interface JoinKubeletRestart {
  readonly command: string;
  readonly timeoutSeconds: number;
  /** Wait for the kubelet's /healthz (delivery.healthCheck). */
  readonly healthz: boolean;
}

/**
 * The stdin of a shard push: its worker list's digest, the deploy key if any (base64), the kubelet's restart if any
 * (timeout, command in base64, healthz), then the bundle.
 */
export function joinPushInput(workers: JoinFile, bundle: string, deployKey?: string, restart?: JoinKubeletRestart): string {
  const lines = [
    `workers ${workers.digest}`,
    ...(deployKey ? [`key ${Buffer.from(deployKey, "utf8").toString("base64")}`] : []),
    ...(restart
      ? [
          `restart ${restart.timeoutSeconds} ${Buffer.from(restart.command.trim(), "utf8").toString("base64")} ${restart.healthz ? "yes" : "no"}`,
        ]
      : []),
    "payload",
  ];
  return `${lines.join("\n")}\n${bundle}`;
}
