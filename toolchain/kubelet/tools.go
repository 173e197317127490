//go:build tools

// Package tools pins the node programs kube-pki's tests and benchmarks run: the kubelet and kubemark (hollow nodes:
// the kubelet's own code on a fake runtime). A module of their own, beside toolchain/kubernetes (same go.mod, the
// replaces explained there), so that adding them rebuilt none of the control-plane binaries.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubemark"
)
