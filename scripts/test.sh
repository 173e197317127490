#!/usr/bin/env bash
# `npm test`: the whole suite. The real control plane (test/cluster/) runs beside the rest, in a second mocha: it
# spends much of its time waiting on restarts and health checks, which leaves one of two cores idle otherwise. Its
# report follows the other's. With arguments, just mocha with them (`npm test -- test/config.test.ts`).
set -uo pipefail
cd "$(dirname "$0")/.."
mocha=node_modules/.bin/mocha
if [ $# -gt 0 ]; then exec "$mocha" "$@"; fi

log=$(mktemp "${TMPDIR:-/tmp}/kube-pki-cluster-tests.XXXXXX")
"$mocha" test/cluster/*.test.ts >"$log" 2>&1 &
cluster=$!
"$mocha" --ignore 'test/cluster/**'
rest=$?
wait "$cluster"
cluster_status=$?
echo
echo "---- the real control plane (test/cluster/, run beside the tests above) ----"
cat "$log"
rm -f "$log"
echo "npm test: other tests exit $rest, control-plane tests exit $cluster_status"
[ "$rest" -eq 0 ] && [ "$cluster_status" -eq 0 ]
