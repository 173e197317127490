// Package version holds the version this provider build reports.
package version

// Version is set at link time, e.g.
//
//	go build -ldflags "-X kube-pki.local/pulumi-tls/provider/version.Version=5.6.1"
//
// The bridge refuses to start (and tfgen refuses to run) when it is empty or
// not semver, so a plain `go build` without the flag yields an unusable binary
// on purpose.
var Version string
