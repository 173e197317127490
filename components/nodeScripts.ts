// The shell programs that run on a node (or locally) to install a bundle, remove one, and check that a restarted
// component serves its new certificate. Each command string is fixed and holds no secret: the bundle travels on
// stdin. POSIX sh plus coreutils (base64, sha256sum, sync) and, for health checks, openssl. Pure code.
import { createHash, X509Certificate } from "node:crypto";
import { SHELL_WORD } from "./config";

export interface PayloadFile {
  /** Absolute path on the node (no whitespace). */
  readonly path: string;
  readonly mode: number;
  readonly owner: string;
  readonly content: string;
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/**
 * The stdin of an install: one line per file (`file <mode> <owner> <sha256> <path> <base64>`), then `commit <n>`.
 * The script installs nothing unless it has read the commit line and every checksum matched, so a connection cut
 * during the transfer leaves the node as it was.
 */
export function bundlePayload(files: readonly PayloadFile[], absent: readonly string[] = []): string {
  const checkPath = (path: string) => {
    if (/\s/.test(path) || !path.startsWith("/")) throw new Error(`bundle path ${JSON.stringify(path)} must be absolute, without whitespace`);
    return path;
  };
  const lines = [
    ...files.map((f) => `file 0${f.mode.toString(8)} ${f.owner} ${sha256(f.content)} ${checkPath(f.path)} ${Buffer.from(f.content, "utf8").toString("base64")}`),
    // Paths the node must not have (a CA key it is no longer entitled to): removed with the swap.
    ...absent.map((path) => `absent - - - ${checkPath(path)}`),
  ];
  return `${lines.join("\n")}\ncommit ${lines.length}\n`;
}

/** Content hash of a bundle, as recorded in restart inputs so that a restart follows every change it depends on. */
export const bundleDigest = (payload: string) => sha256(payload);

/** SHA-256 fingerprint of a PEM certificate in openssl's format (`AB:CD:…`), what the health check compares. */
export const certificateFingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

// The install program. Steps: (1) if an earlier run committed this bundle but was cut off during the swap, finish
// that swap (roll forward); (2) stage every file next to its target as `.<name>.kube-pki-new`, mode and owner set,
// checksum verified, fsynced; (3) only after the commit line: ignore hang-ups (a lost SSH connection must not stop a
// half-done swap), keep the bundle's previous version as `.<name>.kube-pki-prev` (all its files, so a kept key and
// certificate still match), write a commit marker, rename all staged files into place, fsync the directory, drop the
// marker. Directories it creates get 0755 (umask 022), files their own mode. A key and its certificate are one bundle,
// so they are swapped together, and a cut at any point leaves either the old pair or the new pair (after roll-forward).
const INSTALL = `
set -eu
umask 077
root=\${1%/}
sibling() { printf "%s/.%s.%s" "\${1%/*}" "\${1##*/}" "$2"; }
rollforward() {
  while read -r t; do
    if [ -f "$(sibling "$t" kube-pki-new)" ]; then mv -f "$(sibling "$t" kube-pki-new)" "$t"; fi
  done < "$1"
  rm -f "$1"
}
staged=""; absent=""; changed=no; marker=""; count=0; committed=no; dir=""
while read -r kind mode owner sum path data; do
  case $kind in
  file)
    t=$root$path; dir=\${t%/*}
    (umask 022; mkdir -p "$dir")
    if [ -z "$marker" ]; then
      marker=$(sibling "$t" kube-pki-commit)
      if [ -f "$marker" ]; then rollforward "$marker"; fi
    fi
    n=$(sibling "$t" kube-pki-new)
    printf "%s" "$data" | base64 -d > "$n"
    got=$(sha256sum < "$n"); got=\${got%% *}
    if [ "$got" != "$sum" ]; then rm -f "$n"; echo "kube-pki: checksum mismatch for $path" >&2; exit 1; fi
    chmod "$mode" "$n"
    if [ "$(id -u)" = 0 ]; then chown "$owner:$owner" "$n"; fi
    sync "$n" 2>/dev/null || sync
    if [ -f "$t" ]; then
      old=$(sha256sum < "$t"); old=\${old%% *}
      if [ "$old" != "$sum" ]; then changed=yes; fi
    fi
    staged="$staged $t"; count=$((count + 1)) ;;
  absent)
    absent="$absent $root$path"; count=$((count + 1)) ;;
  commit)
    if [ "$mode" = "$count" ]; then committed=yes; fi ;;
  esac
done
if [ "$committed" != yes ] || [ -z "$marker" ]; then
  for t in $staged; do rm -f "$(sibling "$t" kube-pki-new)"; done
  echo "kube-pki: incomplete bundle ($count files read, no commit): nothing installed" >&2
  exit 1
fi
trap "" HUP INT TERM PIPE
if [ "$changed" = yes ]; then
  for t in $staged; do if [ -f "$t" ]; then cp -p "$t" "$(sibling "$t" kube-pki-prev-new)"; fi; done
  for t in $staged; do if [ -f "$(sibling "$t" kube-pki-prev-new)" ]; then mv -f "$(sibling "$t" kube-pki-prev-new)" "$(sibling "$t" kube-pki-prev)"; fi; done
fi
for t in $staged; do echo "$t"; done > "$marker.tmp"
sync "$marker.tmp" 2>/dev/null || sync
mv -f "$marker.tmp" "$marker"
for t in $staged; do mv -f "$(sibling "$t" kube-pki-new)" "$t"; done
for t in $absent; do rm -f "$t" "$(sibling "$t" kube-pki-prev)" "$(sibling "$t" kube-pki-prev-new)"; done
sync "$dir" 2>/dev/null || sync
rm -f "$marker"
echo "kube-pki: installed $count file(s); previous version kept: $changed"
`;

// Removal (only when the config asks for it), run by the delete of a push, which gets the bundle it last installed
// on stdin: each file is removed (with its backup) only if it still holds exactly that content, so a newer owner of
// the same path (a renamed node or cluster pushing there first) keeps its files.
const REMOVE = `
set -eu
root=\${1%/}; removed=0; kept=0
while read -r kind mode owner sum path data; do
  [ "$kind" = file ] || continue
  t=$root$path
  [ -f "$t" ] || continue
  got=$(sha256sum < "$t"); got=\${got%% *}
  if [ "$got" = "$sum" ]; then rm -f "$t" "\${t%/*}/.\${t##*/}.kube-pki-prev"; removed=$((removed + 1)); else kept=$((kept + 1)); fi
done
echo "kube-pki: removed $removed file(s), kept $kept changed since"
`;

// Restart of one component on a node: stdin holds the digest of every bundle it reads (`# <bundle> <digest>`) and
// the health checks (`check <host> <port> <sha256 fingerprint> [<client cert> <client key>]`). On update it restarts
// only if the digests differ from those recorded after its last successful restart on this node, so inputs that
// change nothing it reads (a rotated deploy key, a new timeout) restart nothing. After the restart every check must,
// within the timeout, see its certificate served; on create (a new node, nothing running yet) "nothing serves" is
// accepted. The digests are recorded only after success, so a failed restart is retried by the next apply.
const RESTART = `
set -u
root=\${1%/}; reader=$2; timeout=$3; mode=$4; command=$5
input=$(cat)
statedir=$root/var/lib/kube-pki; state=$statedir/restart-$reader.digests
digests=$(printf "%s\\n" "$input" | grep "^# " || true)
if [ "$mode" = update ] && [ -f "$state" ] && [ "$(cat "$state")" = "$digests" ]; then
  echo "kube-pki: $reader reads nothing new here: not restarted"; exit 0
fi
if ! sh -c "$command" </dev/null; then echo "kube-pki: restarting $reader failed" >&2; exit 1; fi
printf "%s\\n" "$input" | {
  status=0
  while read -r kind host port want cert key; do
    [ "$kind" = check ] || continue
    case $host in *:*) hp="[$host]:$port" ;; *) hp="$host:$port" ;; esac
    set --
    if [ -n "$cert" ]; then set -- -cert "$root$cert" -key "$root$key"; fi
    deadline=$(( $(date +%s) + timeout ))
    while :; do
      got=$(openssl s_client -connect "$hp" "$@" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null)
      got=\${got#*=}
      if [ "$got" = "$want" ]; then echo "kube-pki: $hp serves the new certificate"; break; fi
      if [ -z "$got" ] && [ "$mode" = create ]; then echo "kube-pki: nothing serves on $hp yet (first install)"; break; fi
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "kube-pki: after \${timeout}s $hp still serves \${got:-no certificate}, not $want" >&2; status=1; break
      fi
      sleep 1
    done
  done
  exit $status
} || exit 1
(umask 022; mkdir -p "$statedir")
printf "%s\\n" "$digests" > "$state.tmp" && mv -f "$state.tmp" "$state"
`;

for (const [name, script] of Object.entries({ INSTALL, REMOVE, RESTART })) {
  if (script.includes("'")) throw new Error(`${name} script must not contain single quotes (it is wrapped in sh -c '…')`);
}

const shWord = (s: string) => {
  if (!SHELL_WORD.test(s)) throw new Error(`${JSON.stringify(s)} is not a plain shell word`);
  return s;
};

/** The fixed install command; `root` is where the node's filesystem is (`/` on a real node). */
export function installCommand(root: string): string {
  return `sh -c '${INSTALL}' kube-pki-install ${shWord(root)}`;
}

/** The fixed removal command of a bundle: it reads the bundle it removes on stdin. */
export function removeCommand(root: string): string {
  return `sh -c '${REMOVE}' kube-pki-remove ${shWord(root)}`;
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

/** The fixed restart command of one component (`create` and `update` differ only in how a silent server is judged). */
export function restartCommand(command: string, root: string, reader: string, timeoutSeconds: number, mode: "create" | "update"): string {
  return `sh -c '${RESTART}' kube-pki-restart ${shWord(root)} ${shWord(reader)} ${timeoutSeconds} ${mode} ${shQuote(command.trim())}`;
}

/** Restart stdin: the digest of every bundle the component reads (a change re-runs it), then the health checks. */
export function restartInput(checks: readonly HealthCheck[], bundleDigests: Readonly<Record<string, string>>): string {
  return [
    ...Object.entries(bundleDigests).sort().map(([id, digest]) => `# ${id} ${digest}`),
    ...checks.map((c) => ["check", c.host, String(c.port), c.fingerprint, ...(c.clientCert ? [c.clientCert.cert, c.clientCert.key] : [])].join(" ")),
  ].join("\n") + "\n";
}
