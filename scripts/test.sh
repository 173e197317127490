#!/usr/bin/env bash
# `npm test`: the whole suite, in five lanes run side by side, each its own mocha: the real control plane's sequence
# (test/cluster/controlPlane.test.ts), the other real control planes (test/cluster/), the real engine (test/engine/)
# in two, and everything else in the foreground. The first four spend much of their time waiting (restarts, health
# checks, kubelets, plugin and CLI start-up), which leaves cores idle otherwise. Each of them runs in its own network and
# mount namespaces (scripts/isolated.sh): two labs with the same bridge, addresses and netns names, or two loopback
# sshd fleets, never meet. Their reports follow the foreground's. With arguments, just mocha with them
# (`npm test -- test/config.test.ts`).
set -uo pipefail
cd "$(dirname "$0")/.." || exit
mocha=node_modules/.bin/mocha
if [ $# -gt 0 ]; then exec "$mocha" "$@"; fi

shopt -s nullglob
clusters=()
for f in test/cluster/*.test.ts; do [ "$f" = test/cluster/controlPlane.test.ts ] || clusters+=("$f"); done
logs=()
pids=()
names=()
# Interrupted: stop the lanes (each mocha tears its lab down on SIGTERM) and remove their logs.
trap 'kill "${pids[@]}" 2>/dev/null; wait; rm -f "${logs[@]}"; exit 130' INT TERM HUP
lane() {
  local name=$1 log
  shift
  log=$(mktemp "${TMPDIR:-/tmp}/kube-pki-lane.XXXXXX")
  logs+=("$log")
  names+=("$name")
  scripts/isolated.sh "$mocha" "$@" >"$log" 2>&1 &
  pids+=($!)
}
lane "the real control plane (test/cluster/controlPlane.test.ts)" test/cluster/controlPlane.test.ts
if [ ${#clusters[@]} -gt 0 ]; then lane "the other real control planes (test/cluster/)" "${clusters[@]}"; fi
# The real engine in two lanes, about even: one mocha keeps a core busy only about half of the time (CLI and plugin
# start-ups, checkpoint writes, sshd and PostgreSQL round trips), and it is the longest lane.
engine=(test/engine/changes.test.ts test/engine/trust.test.ts test/engine/upgrade.test.ts)
others=()
for f in test/engine/*.test.ts; do [[ " ${engine[*]} " == *" $f "* ]] || others+=("$f"); done
lane "the real engine: changes, trust roots, upgrades (test/engine/)" "${engine[@]}"
lane "the real engine: the rest of test/engine/" "${others[@]}"
start=$SECONDS
"$mocha" --ignore 'test/cluster/**' --ignore 'test/engine/**'
status=$?
echo "npm test: the tests above exit $status after $((SECONDS - start)) s"
for i in "${!pids[@]}"; do
  wait "${pids[$i]}"
  code=$?
  [ "$code" -eq 0 ] || status=1
  echo
  echo "---- ${names[$i]}, run beside the tests above: exit $code after $((SECONDS - start)) s ----"
  cat "${logs[$i]}"
  rm -f "${logs[$i]}"
done
exit "$status"
