#!/usr/bin/env bash
# npm run toolchain [-- --dir | --bench | --help]
#
# Builds the real programs kube-pki's tests run, from Go modules only (a Go module proxy is all it needs), into a
# cache outside the repo, and prints that directory as its last line of output:
#
#   export PATH="$(npm run -s toolchain | tail -1):$PATH"
#
# gives `pulumi` (with its Node.js language host) and the provider plugins. For air-gapped machines that have a Go
# module proxy; everyone else installs the Pulumi CLI with Pulumi's installer. What it builds, and from what:
#   pulumi, pulumi-language-nodejs  Pulumi CLI at the pinned @pulumi/pulumi version (toolchain/pulumi); the language
#                                   host is our own small main (toolchain/language-nodejs): the upstream module is not
#                                   served by the proxy; it also hosts Node.js plugins (RunPlugin): component packages
#                                   and policy packs
#   pulumi-language-yaml            Pulumi YAML's language host, github.com/pulumi/pulumi-yaml v1.25.0 (toolchain/yaml),
#                                   with the pulumi pkg/sdk v3.206.0 it requires: YAML programs using component/
#   pulumi-resource-tls             the Terraform TLS provider through the Pulumi bridge, with our own provider
#                                   mapping (toolchain/tls): pulumi-tls's provider module is not served
#   pulumi-resource-command         kube-pki's command stand-in as a real provider plugin (emulator/commandPlugin.ts):
#                                   pulumi-command's provider module is not served at any version
#   pulumi-resource-kubernetes      the Kubernetes provider from its module (toolchain/kubernetes-provider); the proxy
#                                   serves only its v4.25.0 release, stamped as such (kube-pki's resources are in it)
#   pulumi-resource-pulumi-nodejs   the dynamic-provider host the CLI release ships, as a one-line script
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubeadm, kubectl   k8s.io/kubernetes (toolchain/kubernetes)
#   etcd, etcdctl                   go.etcd.io/etcd v3.6 (toolchain/etcd)
#   kube-pki-csr-approver           kube-pki's kubelet serving-certificate approver (approver/), for control-plane nodes
#   kubelet, kubemark               k8s.io/kubernetes (toolchain/kubelet: the same module set in a module of its own, so
#                                   the control-plane binaries' inputs did not change); the real kubelets and hollow
#                                   nodes of the TLS-bootstrap test and benchmark
#   fakecri                         Kubernetes' fake CRI runtime (k8s.io/cri-client/pkg/fake) as a process on a unix
#                                   socket (toolchain/fakecri), the kubelet's container runtime in tests
#   csrload                         the node client CSR load generator (bench/csrload, client-go)
#                                   kubemark and csrload only with --bench: the benchmark needs them, the tests do not
# Each step is skipped when its output exists and was built from the same inputs (a stamp per binary), so a second
# run takes seconds. One progress line per step on stderr, with its time. KUBE_PKI_CACHE moves the cache
# (default ~/.cache/kube-pki). `--dir` prints the directory without building (exit 1 if anything is missing).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
PULUMI_VERSION=$(node -p 'require(process.argv[1]).dependencies["@pulumi/pulumi"]' "$repo/package.json")
TLS_VERSION=$(node -p 'require(process.argv[1]).dependencies["@pulumi/tls"]' "$repo/package.json")
COMMAND_VERSION=$(node -p 'require(process.argv[1]).dependencies["@pulumi/command"]' "$repo/package.json")
K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
cache=${KUBE_PKI_CACHE:-$HOME/.cache/kube-pki}/toolchain/pulumi-$PULUMI_VERSION.tls-$TLS_VERSION.k8s-$K8S_VERSION.etcd-$ETCD_VERSION
bin=$cache/bin
K8S_PROVIDER_VERSION=4.25.0
BINARIES=(pulumi pulumi-language-nodejs pulumi-language-yaml pulumi-resource-tls pulumi-resource-command
  pulumi-resource-kubernetes pulumi-resource-pulumi-nodejs kube-apiserver kube-controller-manager kube-scheduler kubeadm
  kubectl etcd etcdctl kube-pki-csr-approver kubelet fakecri)
# kubemark and csrload: only the TLS-bootstrap benchmark (bench/bootstrap.ts) runs them; `--bench` adds them.
bench=false

case "${1:-}" in
  --help|-h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  --dir)
    for b in "${BINARIES[@]}"; do
      [ -x "$bin/$b" ] || { echo "kube-pki toolchain: $bin/$b is missing: run npm run toolchain" >&2; exit 1; }
    done
    echo "$bin"; exit 0 ;;
  --bench) bench=true ;;
  "") ;;
  *) echo "kube-pki toolchain: unknown argument $1 (--dir, --bench, --help)" >&2; exit 2 ;;
esac

export PATH=/usr/local/go/bin:$PATH GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-modcacherw
command -v go >/dev/null || { echo "kube-pki toolchain: go is not installed (Go 1.26 at /usr/local/go)" >&2; exit 1; }
mkdir -p "$bin" "$cache/stamps" "$cache/src"

# Content hash of a step's inputs (files, strings): a changed wrapper or version rebuilds just that step.
digest() {
  # Paths relative to the input, so every clone on the machine shares one cache.
  { for x in "$@"; do if [ -e "$x" ]; then (cd "$x" && find . -type f -print0 | sort -z | xargs -0 sha256sum); else echo "$x"; fi; done
    go version; } | sha256sum | cut -c1-16
}

# step <label> <stamp> <inputs digest> <command...>: runs the command unless the stamp matches, one line with its time.
step() {
  local label=$1 stamp=$cache/stamps/$2 want=$3; shift 3
  local start=$SECONDS
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "toolchain: $label: cached" >&2; return 0
  fi
  local log
  log=$cache/src/$(basename "$stamp").log
  if ! "$@" >"$log" 2>&1; then
    echo "toolchain: $label: FAILED after $((SECONDS - start)) s; last lines of $log:" >&2; tail -25 "$log" >&2; exit 1
  fi
  echo "$want" > "$stamp"
  echo "toolchain: $label: built in $((SECONDS - start)) s" >&2
}

# A wrapper module is built from a copy in the cache, so generated files (the tls schema) never land in the repo.
copy_src() { rm -rf "$cache/src/$1"; cp -r "$repo/toolchain/$1" "$cache/src/$1"; }

build_pulumi() {
  copy_src pulumi && cd "$cache/src/pulumi" &&
  go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" -o "$bin/" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi && "$bin/pulumi" version
}
build_language_host() {
  copy_src language-nodejs && cd "$cache/src/language-nodejs" && go build -trimpath -o "$bin/pulumi-language-nodejs" .
}
build_language_yaml() {
  cd "$repo/toolchain/yaml" && go build -trimpath -o "$bin/pulumi-language-yaml" github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
}
build_tls() {
  local ldflags="-X kube-pki.local/pulumi-tls/provider/version.Version=$TLS_VERSION"
  # The wrapper directory must be called "provider": the bridge's schema generator looks up the upstream docs with
  # `go mod download` from there. PULUMI_CONVERT=0: doc examples converted in-process (no `pulumi convert` plugin).
  rm -rf "$cache/src/tls" && mkdir -p "$cache/src/tls" && cp -r "$repo/toolchain/tls" "$cache/src/tls/provider" &&
  cd "$cache/src/tls/provider" &&
  go build -trimpath -ldflags "$ldflags" -o "$cache/src/tls/pulumi-tfgen-tls" ./cmd/pulumi-tfgen-tls &&
  PULUMI_HOME="$cache/src/tls/home" PULUMI_CONVERT=0 PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
    "$cache/src/tls/pulumi-tfgen-tls" schema --out cmd/pulumi-resource-tls &&
  go build -trimpath -ldflags "$ldflags" -o "$bin/pulumi-resource-tls" ./cmd/pulumi-resource-tls &&
  "$bin/pulumi-resource-tls" -version
}
write_command_plugin() {
  # A plugin is an executable the engine starts with its address, in the project's directory (as it starts the CLI
  # release's own pulumi-resource-pulumi-nodejs): node runs our command provider from the project there. No checkout
  # path is written in: one cache serves every clone on the machine.
  cat > "$bin/pulumi-resource-command.tmp" <<'EOF'
#!/bin/sh
# kube-pki's stand-in for pulumi-resource-command (see scripts/toolchain.sh), run as a real plugin from the project.
# emulator/ since the layout of issue 20; offline/ in a project of an earlier kube-pki (the upgrade test deploys one).
plugin=./emulator/commandPlugin.ts
[ -f "$plugin" ] || plugin=./offline/commandPlugin.ts
[ -f "$plugin" ] && [ -d ./node_modules/ts-node ] || {
  echo "pulumi-resource-command (kube-pki's stand-in): $PWD is not a kube-pki project with node_modules (run pulumi there, after npm ci)" >&2
  exit 1
}
export TS_NODE_PROJECT="$PWD/tsconfig.json" TS_NODE_TRANSPILE_ONLY=true
exec node -r ./node_modules/ts-node/register "$plugin" "$@"
EOF
  chmod 755 "$bin/pulumi-resource-command.tmp" && mv -f "$bin/pulumi-resource-command.tmp" "$bin/pulumi-resource-command"
}
build_kubernetes_provider() {
  # schemagen derives the schema the plugin embeds from the provider module's own schema.json, into the copy.
  copy_src kubernetes-provider && cd "$cache/src/kubernetes-provider" &&
  go run ./internal/schemagen -out cmd/pulumi-resource-kubernetes/generated -version "$K8S_PROVIDER_VERSION" &&
  go build -trimpath -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_PROVIDER_VERSION" \
    -o "$bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
}
write_nodejs_dynamic_host() {
  # Dynamic providers run in @pulumi/pulumi's own host script; the CLI release ships this wrapper beside `pulumi`.
  printf '%s\n' '#!/bin/sh' \
    '# The Node.js dynamic-provider host, run from the project'"'"'s node_modules (as the Pulumi CLI release ships it).' \
    'exec node ./node_modules/@pulumi/pulumi/cmd/dynamic-provider "$@"' > "$bin/pulumi-resource-pulumi-nodejs.tmp" &&
  chmod 755 "$bin/pulumi-resource-pulumi-nodejs.tmp" && mv -f "$bin/pulumi-resource-pulumi-nodejs.tmp" "$bin/pulumi-resource-pulumi-nodejs"
}
k8s_ldflags() {
  local flags="-s -w" pkg
  # kubeadm and kubectl parse their own version, so both version packages are stamped.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
    flags+=" -X $pkg.gitTreeState=clean"
  done
  echo "$flags"
}
# build_kube <binary> [module directory under toolchain/, default kubernetes]
build_kube() {
  cd "$repo/toolchain/${2:-kubernetes}" &&
  go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$(k8s_ldflags)" -o "$bin/$1" "k8s.io/kubernetes/cmd/$1" &&
  { [ "$1" = kubemark ] || "$bin/$1" --version 2>/dev/null || "$bin/$1" version --client 2>/dev/null || "$bin/$1" version -o short; }
}
# build_module <binary> <module directory in the repo>: a small main of ours.
build_module() {
  cd "$repo/$2" && go build -trimpath -ldflags "-s -w" -o "$bin/$1" .
}
# The approver, and its tests compiled without running (Go's build cache keeps them): `npm test` runs them, and their
# dependencies (client-go's fakes among them) take minutes to compile on a cold cache, set-up's work, not the tests'.
build_approver() {
  build_module kube-pki-csr-approver approver && cd "$repo/approver" &&
    GOFLAGS=-mod=readonly CGO_ENABLED=0 go test -count=1 -run '^$' ./... # the environment test/approver.test.ts gives go
}
build_etcd() {
  cd "$repo/toolchain/etcd" && go build -trimpath -ldflags "-s -w" -o "$bin/$1" "$2" && { "$bin/$1" --version 2>/dev/null || "$bin/$1" version; }
}

step "pulumi $PULUMI_VERSION (Pulumi CLI)" pulumi "$(digest "$repo/toolchain/pulumi" "$PULUMI_VERSION")" build_pulumi
step "pulumi-language-nodejs" language-nodejs "$(digest "$repo/toolchain/language-nodejs")" build_language_host
step "pulumi-language-yaml (pulumi-yaml v1.25.0)" language-yaml "$(digest "$repo/toolchain/yaml")" build_language_yaml
step "pulumi-resource-tls $TLS_VERSION" tls "$(digest "$repo/toolchain/tls" "$TLS_VERSION")" build_tls
step "pulumi-resource-command $COMMAND_VERSION (stand-in plugin)" command "$(digest "from-project-dir-emulator" "$COMMAND_VERSION")" write_command_plugin
step "pulumi-resource-pulumi-nodejs (dynamic providers)" pulumi-nodejs "$(digest "v1")" write_nodejs_dynamic_host
step "pulumi-resource-kubernetes $K8S_PROVIDER_VERSION" kubernetes-provider "$(digest "$repo/toolchain/kubernetes-provider" "$K8S_PROVIDER_VERSION")" build_kubernetes_provider
for b in kube-apiserver kube-controller-manager kube-scheduler kubeadm kubectl; do
  step "$b $K8S_VERSION" "$b" "$(digest "$repo/toolchain/kubernetes" "$K8S_VERSION")" build_kube "$b"
done
step "etcd $ETCD_VERSION" etcd "$(digest "$repo/toolchain/etcd")" build_etcd etcd go.etcd.io/etcd/server/v3
step "etcdctl $ETCD_VERSION" etcdctl "$(digest "$repo/toolchain/etcd")" build_etcd etcdctl go.etcd.io/etcd/etcdctl/v3
step "kube-pki-csr-approver" approver "$(digest "$repo/approver" test-deps)" build_approver
step "kubelet $K8S_VERSION" kubelet "$(digest "$repo/toolchain/kubelet" "$K8S_VERSION")" build_kube kubelet kubelet
step "fakecri (k8s.io/cri-client fake runtime)" fakecri "$(digest "$repo/toolchain/fakecri")" build_module fakecri toolchain/fakecri
if $bench; then
  step "kubemark $K8S_VERSION" kubemark "$(digest "$repo/toolchain/kubelet" "$K8S_VERSION")" build_kube kubemark kubelet
  step "csrload (CSR load generator)" csrload "$(digest "$repo/bench/csrload")" build_module csrload bench/csrload
fi
echo "$bin"
