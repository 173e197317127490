#!/usr/bin/env bash
# `npm test`: the whole suite, in lanes run side by side. The real control planes (test/cluster/) spend much of their
# time waiting on restarts, health checks and kubelets, which leaves cores idle otherwise: test/cluster/controlPlane.test.ts
# is one lane, the other test/cluster/ files a second, everything else the third. Each control-plane lane runs in its
# own network and mount namespaces (scripts/isolated.sh), so two labs with the same bridge, addresses and netns names
# do not meet. Their reports follow the third lane's. With arguments, just mocha with them (`npm test -- test/config.test.ts`).
set -uo pipefail
cd "$(dirname "$0")/.." || exit
mocha=node_modules/.bin/mocha
if [ $# -gt 0 ]; then exec "$mocha" "$@"; fi

shopt -s nullglob
others=()
for f in test/cluster/*.test.ts; do [ "$f" = test/cluster/controlPlane.test.ts ] || others+=("$f"); done
logs=()
pids=()
# Interrupted: stop the lanes (each mocha tears its lab down on SIGTERM) and remove their logs.
trap 'kill "${pids[@]}" 2>/dev/null; wait; rm -f "${logs[@]}"; exit 130' INT TERM HUP
lane() {
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/kube-pki-lane.XXXXXX")
  logs+=("$log")
  scripts/isolated.sh "$mocha" "$@" >"$log" 2>&1 &
  pids+=($!)
}
lane test/cluster/controlPlane.test.ts
if [ ${#others[@]} -gt 0 ]; then lane "${others[@]}"; fi
"$mocha" --ignore 'test/cluster/**'
rest=$?
status=0
[ "$rest" -eq 0 ] || status=1
for i in "${!pids[@]}"; do
  wait "${pids[$i]}"
  code=$?
  [ "$code" -eq 0 ] || status=1
  echo
  echo "---- real control plane lane $((i + 1)) (test/cluster/, run beside the tests above), exit $code ----"
  cat "${logs[$i]}"
  rm -f "${logs[$i]}"
done
echo "npm test: other tests exit $rest; control-plane lanes above"
exit "$status"
