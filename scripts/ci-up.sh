#!/usr/bin/env bash
# scripts/ci-up.sh <stack>: the workflow's `pulumi up` of one existing stack, behind guards. It refuses (exit 2), and
# changes nothing, when
#   - PULUMI_BACKEND_URL is unset: the project's default backend is a local directory on the runner, where the stack
#     does not exist, so an `up` there would mint a brand-new PKI (new CAs, new service-account key) and push it;
#   - the stack does not exist in the backend, or holds no resources yet: the first deployment of a stack is a
#     deliberate manual step (README, "CI/CD"), never something a schedule does;
#   - any switch is set that makes the CLI, the engine or a provider log, trace or hand over what passes between them
#     (the stack's private keys among it), or that sets a CLI flag from the environment (PULUMI_OPTION_<FLAG>:
#     --verbose, --logflow, --tracing, --debug, --show-secrets, --event-log...), or an argument besides the stack.
#     From the Pulumi CLI 3.248 source: PULUMI_DEBUG_GRPC (every gRPC message to a file), PULUMI_DEBUG_PROVIDERS and
#     PULUMI_DEBUG_LANGUAGES (talk to whatever listens on a given port instead of the plugin), PULUMI_DEBUG_COMMANDS,
#     PULUMI_DEBUG_PROMISE_LEAKS, PULUMI_ENABLE_AUTOMATIC_LOGGING (engine log on disk), PULUMI_LOG_OTLP_ENDPOINT and
#     PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT (logs and traces sent away); the tls provider's TF_LOG* (TF_LOG, TF_LOG_PATH,
#     TF_LOG_PROVIDER, TF_LOG_SDK_PROTO_DATA_DIR: request data on disk); GODEBUG http2debug (gRPC frames, data
#     included, on stderr).
# With SSH_PRIVATE_KEY set it starts an ssh-agent holding the deploy key for the stacks with `sshAuth: agent`, and
# stops it afterwards. Then `pulumi up --yes` and the expiry check (exit 1 when something expires within 14 days).
set -euo pipefail
refuse() { echo "kube-pki ci-up: $*; nothing was changed" >&2; exit 2; }

[ $# -eq 1 ] && [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._/-]*$ ]] ||
  refuse "usage: scripts/ci-up.sh <stack> (one stack name, no pulumi flags: ci-up passes its own)"
stack=$1
for name in $(compgen -e); do
  case $name in
    PULUMI_DEBUG_*|PULUMI_OPTION_*|PULUMI_ENABLE_AUTOMATIC_LOGGING|PULUMI_LOG_OTLP_ENDPOINT|PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT|TF_LOG*)
      [ -z "${!name}" ] || refuse "$name is set (it would log, trace or hand over the update's traffic, private keys included, or set a pulumi flag)" ;;
    GODEBUG) [[ ${GODEBUG} != *http2debug* ]] || refuse "GODEBUG has http2debug (gRPC frames, private keys included, on stderr)" ;;
  esac
done
[ -n "${PULUMI_BACKEND_URL:-}" ] || refuse "PULUMI_BACKEND_URL is not set (the stack's own backend, e.g. s3://bucket/kube-pki/$stack)"
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
