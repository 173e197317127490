#!/bin/sh
# kube-pki's program on a node: the install, removal, restart and self-install operations in one POSIX sh script
# (dash, busybox sh), run as `sh -c "$program" kube-pki <operation> <root> ...`. Needs GNU coreutils (base64,
# sha256sum, stat, mktemp, sync), gzip, flock (util-linux), awk and, for health checks, openssl (served certificates) and
# curl or wget (the approver's /healthz).
#
# What ships is this file without its comment lines (every line whose first non-blank character is #) and without
# its trailing newline: components/node/nodeProgram.ts loads it so, and the node checks the result against its SHA-256
# (NODE_PROGRAM_DIGEST). Comments here cost nothing on the node and never change the digest. Dropping them must not
# change the code: no comment line after a line that ends in a backslash, none inside a here-document or a string.
# `npm run lint:sh` (shellcheck --shell=sh) checks it.
op=$1; shift
# What the operations share. Safety rules: every path is absolute under the root, of plain characters, without . or ..
# components; every directory from the root down is neither a symlink nor writable by anyone but this user (or root),
# so nobody else can swap a file between a check and its use (hence a directory that passed is not checked again in
# the same run: `safe` lists them; an install walks the same few directories for every file, and each check is a
# fork, most of a 1,000-worker local first up); a symlink at a target is refused and never followed;
# scratch files are created exclusively (mktemp) in the target's own directory. One install or removal at a time per
# root (flock on <root>/var/lib/kube-pki/lock). The journal (<root>/var/lib/kube-pki/journal) lists every step of a
# committed swap, so whichever install runs next on that root finishes an interrupted one. The ledger
# (<root>/var/lib/kube-pki/installed: `<sha256> <path>`) remembers what kube-pki installed, so a file a node is no
# longer entitled to is removed only if it still holds what kube-pki put there. The journal and the ledger are read as
# instructions or written with > (which follows a link), so a link at either, their .tmp names or the lock is
# refused. `sweep <path> create|check` is safefile after removing the scratch files (mktemp names: nothing else uses
# them) that an install killed outright (no trap runs) left beside the target and beside its copy under originals/
# (`orig`: that copy's name, when its directory exists); only under the lock, so no other install is staging then.
set -eu
umask 077
root=${1%/}; me=$(id -u); state=$root/var/lib/kube-pki; ledger=$state/installed; journal=$state/journal; safe=""
fail() { echo "kube-pki: $*" >&2; exit 1; }
nolink() { for f; do if [ -L "$f" ]; then fail "refusing $f: it is a symlink"; fi; done; }
checkpath() {
  case $1 in /*) ;; *) fail "path $1 is not absolute" ;; esac
  case $1 in *[!A-Za-z0-9_./-]*) fail "path $1 has characters other than letters, digits, _ . / -" ;; esac
  case $1/ in */../*|*/./*|*//*) fail "path $1 leaves the root (. or .. component)" ;; esac
}
safedir() {
  rest=${1#"$root"}; d=$root
  while :; do
    case $rest in /*/*) ;; *) break ;; esac
    rest=${rest#/}; d=$d/${rest%%/*}; rest=/${rest#*/}
    case " $safe " in *" $d "*) continue ;; esac
    nolink "$d"
    if [ ! -e "$d" ]; then
      if [ "$2" = create ]; then (umask 022; mkdir "$d" 2>/dev/null) || [ -d "$d" ] || fail "cannot create $d"; else return 1; fi
    fi
    [ -d "$d" ] || fail "refusing $d: not a directory"
    m=$(stat -c "%u %a" "$d"); o=${m% *}; m=${m#* }
    if [ "$o" != 0 ] && [ "$o" != "$me" ]; then fail "refusing $d: owned by uid $o, not by root or uid $me"; fi
    if [ $(( 0$m & 022 )) -ne 0 ]; then fail "refusing $d: writable by others (mode $m)"; fi
    safe="$safe $d"
  done
}
safefile() {
  checkpath "$1"; t=$root$1
  safedir "$t" "$2" || return 1
  nolink "$t"
  if [ -e "$t" ] && [ ! -f "$t" ]; then fail "refusing $t: not a regular file"; fi
  d=${t%/*}; b=${t##*/}
}
sweep() {
  checkpath "$1"; orig=""
  if safefile "/var/lib/kube-pki/originals$1" check; then orig=$t; scrap; fi
  safefile "$1" "$2" || return 1
  scrap
}
scrap() { for old in "$d/.$b.kube-pki-new".* "$d/.$b.kube-pki-prev-new".*; do if [ -e "$old" ] || [ -L "$old" ]; then rm -f "$old"; fi; done; }
sumof() { s=$(sha256sum < "$1"); s=${s%% *}; }
replay() {
  while read -r jop ja jb; do
    case $jop in
    mv) if [ -f "$ja" ]; then mv -f "$ja" "$jb"; fi ;;
    rm) rm -f "$ja" ;;
    ledger)
      { if [ -f "$ledger" ]; then awk -v p="$ja" "\$2 != p" "$ledger"; fi; if [ "$jb" != - ]; then echo "$jb $ja"; fi; } > "$ledger.tmp"
      mv -f "$ledger.tmp" "$ledger" ;;
    esac
  done < "$1"
  sync
  rm -f "$1"
}
lock() {
  command -v flock >/dev/null || fail "flock (util-linux) is needed on the node"
  if [ -n "$root" ]; then (umask 022; mkdir -p "$root"); fi
  safedir "$state/lock" create
  nolink "$state/lock"
  exec 9>>"$state/lock"
  flock -w 900 9 || fail "another kube-pki install on this node did not finish within 900 s"
  nolink "$journal" "$journal.tmp" "$ledger" "$ledger.tmp"
  if [ -f "$journal" ]; then replay "$journal"; fi
}

case $op in
# install: under the root's lock, (1) finish an interrupted swap from the journal; (2) stage every file next to its
# target (mktemp), mode and owner set, checksum verified, fsynced; (3) only after the commit line, with hang-ups
# ignored: back up the bundle's current files when a restart may need a fallback, then write the journal (renames,
# removals, ledger updates), replay it and drop it. A key and its certificate are one bundle, so they are swapped
# together, and a cut at any point leaves either the old pair or the new pair (after roll-forward). Staged files of a
# failed install are removed on exit, those of a killed one by the next install or removal of the same path; nothing
# prints file content. A write that fails while staging (a full disk) is told apart from bad content by decoding again
# to nowhere (base64's errors say nothing of the content). A file kube-pki did not install and now replaces with other
# content (kubeadm's, on an adopted node) is copied once to originals/, for going back to it, and kept only while the
# node is entitled to its path: an `absent` line removes, whoever made the file, the path's copy under originals/, its
# scratch files and its previous version.
install)
lock
staged=""; jlines=""; count=0; files=0; committed=no; done=no; changed=no; previous=drop; removed=0; kept=""; originals=0
cleanup() { if [ "$done" = no ]; then for e in $staged; do rm -f "${e%%|*}"; done; rm -f "$journal.tmp"; fi; }
trap cleanup EXIT
trap "exit 1" HUP INT TERM PIPE
while read -r kind mode owner sum path data; do
  case $kind in
  option) if [ "$mode" = previous ] && [ "$owner" = keep ]; then previous=keep; fi; count=$((count + 1)) ;;
  file)
    sweep "$path" create
    case $mode in 0[0-7][0-7][0-7]) ;; *) fail "bad mode $mode for $path" ;; esac
    case $owner in ""|*[!a-z0-9_-]*) fail "bad owner $owner for $path" ;; esac
    n=$(mktemp "$d/.$b.kube-pki-new.XXXXXX")
    staged="$staged $n|$t"
    if ! err=$(printf "%s" "$data" | base64 -d 2>&1 > "$n"); then
      printf "%s" "$data" | base64 -d > /dev/null 2>&1 || fail "$path: content is not valid base64"
      fail "$path: cannot write $n (${err#base64: })"
    fi
    sumof "$n"; [ "$s" = "$sum" ] || fail "checksum mismatch for $path"
    chmod "$mode" "$n"
    if [ "$me" = 0 ]; then chown "$owner:$owner" "$n"; fi
    sync "$n" 2>/dev/null || sync
    s=$sum; if [ -f "$t" ]; then sumof "$t"; if [ "$s" != "$sum" ]; then changed=yes; fi; fi
    if [ "$s" != "$sum" ] && [ ! -e "$state/originals$path" ] && ! awk -v p="$path" "\$2 == p { f = 1 } END { exit !f }" "$ledger" 2>/dev/null; then
      src=$t; safedir "$state/originals/x" create; chmod 0700 "$state/originals"; safefile "/var/lib/kube-pki/originals$path" create
      o=$(mktemp "$d/.$b.kube-pki-new.XXXXXX"); cp -p "$src" "$o"; staged="$staged $o|-"; jlines="$jlines|mv $o $t"; originals=$((originals + 1))
      safefile "$path" create
    fi
    jlines="$jlines|ledger $path $sum"; files=$((files + 1)); count=$((count + 1)) ;;
  absent)
    count=$((count + 1))
    if sweep "$path" check; then here=yes; else here=no; fi
    if [ -n "$orig" ]; then jlines="$jlines|rm $orig"; fi
    if [ "$here" = no ]; then continue; fi
    jlines="$jlines|rm $d/.$b.kube-pki-prev"
    if [ ! -e "$t" ]; then continue; fi
    sumof "$t"
    ours=$(awk -v p="$path" -v s="$s" "\$1 == s && \$2 == p { print \"yes\" }" "$ledger" 2>/dev/null || true)
    if [ "$mode" = always ] || [ "$ours" = yes ]; then
      jlines="$jlines|rm $t|ledger $path -"; removed=$((removed + 1))
    else kept="$kept $path"; fi ;;
  commit) if [ "$mode" = "$count" ]; then committed=yes; fi ;;
  *) fail "unexpected line in the bundle" ;;
  esac
done
[ "$committed" = yes ] || fail "incomplete bundle ($count lines read, no commit): nothing installed"
trap "" HUP INT TERM PIPE
for e in $staged; do
  n=${e%%|*}; t=${e#*|}; d=${t%/*}; b=${t##*/}
  if [ "$t" = - ]; then continue; fi
  if [ "$previous" = keep ] && [ "$changed" = yes ] && [ -f "$t" ]; then
    p=$(mktemp "$d/.$b.kube-pki-prev-new.XXXXXX"); cp -p "$t" "$p"; staged="$staged $p|-"
    jlines="$jlines|mv $p $d/.$b.kube-pki-prev"
  elif [ "$previous" = drop ]; then jlines="$jlines|rm $d/.$b.kube-pki-prev"; fi
  jlines="$jlines|mv $n $t"
done
printf "%s\n" "$jlines" | tr "|" "\n" | sed "/^$/d" > "$journal.tmp"
sync "$journal.tmp" 2>/dev/null || sync
mv -f "$journal.tmp" "$journal"
done=yes
replay "$journal"
echo "kube-pki: installed $files file(s), removed $removed no longer entitled; previous version kept: $([ "$previous" = keep ] && echo "$changed" || echo no)"
if [ -n "$kept" ]; then echo "kube-pki: kept (not installed by kube-pki, or changed since):$kept"; fi
if [ "$originals" -gt 0 ]; then echo "kube-pki: $originals file(s) kube-pki did not install kept as they were under $state/originals"; fi
;;
# remove (only when the config asks for it), run by the delete of a push, which gets the bundle it last installed on
# stdin: each file is removed (with its backup) only if it still holds exactly that content, so a newer owner of the
# same path (a renamed node or cluster pushing there first) keeps its files.
remove)
lock
removed=0; kept=0
while read -r kind mode owner sum path data; do
  [ "$kind" = file ] || continue
  sweep "$path" check || continue
  [ -f "$t" ] || continue
  sumof "$t"
  if [ "$s" = "$sum" ]; then
    printf "rm %s\nrm %s\nledger %s -\n" "$t" "$d/.$b.kube-pki-prev" "$path" > "$journal.tmp"; mv -f "$journal.tmp" "$journal"; replay "$journal"
    removed=$((removed + 1))
  else kept=$((kept + 1)); fi
done
echo "kube-pki: removed $removed file(s), kept $kept changed since"
;;
# restart of one component on a node: stdin holds the digest of every bundle it reads (`# <bundle> <digest>`), the
# health checks (`check <host> <port> <sha256 fingerprint> [<client cert> <client key>]`) and the files it reads
# (`prev <path> <bundle> <digest> [<other reader>...]`). On update it restarts only if the digests differ from those
# recorded after its last successful restart on this node, so inputs that change nothing it reads (a rotated deploy
# key, a new timeout) restart nothing. After the restart every check must, within the timeout, see its certificate
# served, and every `healthz <host> <port> <node>` line's /healthz answer ok. On create "nothing serves" is accepted only where nothing served before the restart either (files go in
# before `kubeadm init` / `join`): right after the restart command nothing serves anywhere, so a component that was
# serving (an adopted node, a node added again) must show its new certificate as on update. Only after success are
# the digests recorded and the previous version of each file it reads dropped (a replaced key must not stay on the
# node), once every other component restarted on this node that reads it has passed with the same bundle digest too
# (they may still need it for a rollback); a failed restart keeps them and is retried by the next apply.
restart)
set +e
reader=$2; timeout=$3; mode=$4; command=$5
input=$(cat)
statefile=$state/restart-$reader.digests
digests=$(printf "%s\n" "$input" | grep "^# " || true)
if [ "$mode" = update ] && [ -f "$statefile" ] && [ "$(cat "$statefile")" = "$digests" ]; then
  echo "kube-pki: $reader reads nothing new here: not restarted"; exit 0
fi
checks() { printf "%s\n" "$input" | grep "^check " || true; }
probe() {
  case $1 in *:*) hp="[$1]:$2" ;; *) hp="$1:$2" ;; esac
  if [ -n "${3:-}" ]; then set -- -cert "$root$3" -key "$root$4"; else set --; fi
  got=$(openssl s_client -connect "$hp" "$@" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null)
  got=${got#*=}
}
# A component that serves no certificate (the CSR approver) is gated on its /healthz instead: plain HTTP on the node,
# no credentials. openssl s_client speaks only TLS, so curl (what kubeadm's install steps use) or else wget (BusyBox,
# Debian's standard set) asks; without either the restart is refused rather than left unchecked.
healthz() { printf "%s\n" "$input" | grep "^healthz " || true; }
answer() {
  case $1 in *:*) url="http://[$1]:$2/healthz" ;; *) url="http://$1:$2/healthz" ;; esac
  if command -v curl >/dev/null 2>&1; then got=$(curl -fsS --max-time 2 "$url" 2>/dev/null)
  else got=$(wget -q -T 2 -O - "$url" 2>/dev/null); fi
}
if [ -n "$(healthz)" ] && ! command -v curl >/dev/null 2>&1 && ! command -v wget >/dev/null 2>&1; then
  echo "kube-pki: $reader not restarted: checking its /healthz needs curl or wget on the node" >&2; exit 1
fi
if [ "$mode" = create ]; then
  served=$(checks | while read -r kind host port want cert key; do probe "$host" "$port" "$cert" "$key"; if [ -n "$got" ]; then printf " %s" "$hp"; fi; done
    healthz | while read -r kind host port node; do answer "$host" "$port"; if [ "$got" = ok ]; then printf " %s" "$url"; fi; done)
  if [ -n "$served" ]; then echo "kube-pki: served before the restart at$served: not a first install, the new certificate must be served"; mode=update; fi
fi
if ! sh -c "$command" </dev/null; then echo "kube-pki: restarting $reader failed" >&2; exit 1; fi
checks | {
  status=0
  while read -r kind host port want cert key; do
    deadline=$(( $(date +%s) + timeout ))
    while :; do
      probe "$host" "$port" "$cert" "$key"
      if [ "$got" = "$want" ]; then echo "kube-pki: $hp serves the new certificate"; break; fi
      if [ -z "$got" ] && [ "$mode" = create ]; then echo "kube-pki: nothing serves on $hp yet (first install)"; break; fi
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "kube-pki: after ${timeout}s $hp still serves ${got:-no certificate}, not $want" >&2; status=1; break
      fi
      sleep 1
    done
  done
  exit $status
} || exit 1
healthz | {
  status=0
  while read -r kind host port node; do
    deadline=$(( $(date +%s) + timeout ))
    while :; do
      answer "$host" "$port"
      if [ "$got" = ok ]; then echo "kube-pki: $url answers ok"; break; fi
      if [ "$mode" = create ]; then echo "kube-pki: $url does not answer ok yet (first install)"; break; fi
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "kube-pki: $reader on node $node: $url did not answer ok within ${timeout}s after the restart" >&2; status=1; break
      fi
      sleep 1
    done
  done
  exit $status
} || exit 1
set -e
lock
nolink "$statefile" "$statefile.tmp"
printf "%s\n" "$digests" > "$statefile.tmp" && mv -f "$statefile.tmp" "$statefile"
printf "%s\n" "$input" | while read -r kind path bundle digest others; do
  [ "$kind" = prev ] || continue
  case $others in *[!a-z0-9\ -]*) fail "bad reader names $others" ;; esac
  pending=""
  for r in $others; do
    if ! grep -qxF "# $bundle $digest" "$state/restart-$r.digests" 2>/dev/null; then pending="$pending $r"; fi
  done
  if [ -n "$pending" ]; then echo "kube-pki: previous version of $path kept until$pending passed"; continue; fi
  if safefile "$path" check; then rm -f "$d/.$b.kube-pki-prev"; fi
done
;;
# self-install, run by the tools command with the program on stdin and its digest as argument: the program is written
# beside its earlier versions (named by digest, so a push recorded by an older kube-pki still finds the one its delete
# command names), staged with mktemp, checked and renamed into place.
self-install)
digest=$2
case $digest in *[!0-9a-f]*|"") fail "bad program digest $digest" ;; esac
if [ -n "$root" ]; then (umask 022; mkdir -p "$root"); fi
safedir "$state/bin/x" create
f=$state/bin/node-$digest.sh
if [ -L "$f" ]; then fail "refusing $f: it is a symlink"; fi
n=$(mktemp "$state/bin/.node.kube-pki-new.XXXXXX")
dropnew() { rm -f "$n"; }
trap dropnew EXIT
cat > "$n"
s=$(printf "%s" "$(cat "$n")" | sha256sum); [ "${s%% *}" = "$digest" ] || fail "the node program arrived damaged"
chmod 0600 "$n"; sync "$n" 2>/dev/null || sync
mv -f "$n" "$f"
echo "kube-pki: node program $digest installed in $state/bin"
;;
*) fail "unknown operation $op" ;;
esac
