#!/usr/bin/env bash
# scripts/ci-up.sh <stack>: the workflow's `pulumi up` of one existing stack, behind guards. It refuses (exit 2), and
# changes nothing, when
#   - PULUMI_BACKEND_URL is unset: the project's default backend is a local directory on the runner, where the stack
#     does not exist, so an `up` there would mint a brand-new PKI (new CAs, new service-account key) and push it;
#   - the stack does not exist in the backend, or holds no resources yet: the first deployment of a stack is a
#     deliberate manual step (README, "CI/CD"), never something a schedule does;
#   - debug logging is requested (providers log their state, private keys included).
# With SSH_PRIVATE_KEY set it starts an ssh-agent holding the deploy key for the stacks with `sshAuth: agent`, and
# stops it afterwards. Then `pulumi up --yes` and the expiry check (exit 1 when something expires within 14 days).
set -euo pipefail
stack=${1:?usage: scripts/ci-up.sh <stack>}
refuse() { echo "kube-pki ci-up: $*; nothing was changed" >&2; exit 2; }

[ -n "${PULUMI_BACKEND_URL:-}" ] || refuse "PULUMI_BACKEND_URL is not set (the stack's shared backend, e.g. s3://bucket/kube-pki)"
case "${TF_LOG:-}${PULUMI_DEBUG_COMMANDS:-}${PULUMI_DEBUG_PROMISE_LEAKS:-}" in "") ;; *) refuse "debug logging is set (TF_LOG/PULUMI_DEBUG_*)" ;; esac
cd "$(dirname "$0")/.."

# `stack select` without --create: a missing stack is an error, not a new PKI.
pulumi stack select "$stack" --non-interactive >/dev/null 2>&1 ||
  refuse "stack $stack does not exist in $PULUMI_BACKEND_URL (create and deploy it once by hand: README, \"CI/CD\")"
resources=$(pulumi stack export --stack "$stack" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const d=JSON.parse(s).deployment;console.log((d&&d.resources||[]).length)})')
[ "$resources" -gt 0 ] || refuse "stack $stack has no resources yet (its first deployment is a manual step: README, \"CI/CD\")"

agent_pid=""
if [ -n "${SSH_PRIVATE_KEY:-}" ]; then
  eval "$(ssh-agent -s)" >/dev/null
  agent_pid=$SSH_AGENT_PID
  trap 'kill "$agent_pid" 2>/dev/null || true' EXIT
  printf '%s\n' "$SSH_PRIVATE_KEY" | ssh-add - >/dev/null 2>&1 || refuse "SSH_PRIVATE_KEY is not a usable private key"
  unset SSH_PRIVATE_KEY
fi

pulumi up --stack "$stack" --yes --non-interactive --suppress-outputs
pulumi stack output --stack "$stack" --json | npm run --silent expiry -- --stack-output - --warn-days "${WARN_DAYS:-14}"
