//go:build tools

// Package tools only pins the two main packages we build, so that
// `go mod tidy` records every module (and go.sum line) they need.
// The "tools" build tag keeps this file out of normal builds.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3" // -> etcdctl
	_ "go.etcd.io/etcd/server/v3"  // -> etcd
)
