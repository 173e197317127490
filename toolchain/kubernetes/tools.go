//go:build tools

// Package tools only pins the command packages we build, so that
// `go mod tidy` records every module (and go.sum line) they need.
// The "tools" build tag keeps this file out of normal builds.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
