// Command pulumi-tfgen-tls is the build-time generator for the tls provider.
//
// Run it from the provider/ directory (the bridge looks for the upstream docs
// with `go mod download` there):
//
//	pulumi-tfgen-tls schema --out cmd/pulumi-resource-tls
//
// It writes schema.json (the Pulumi package schema) and bridge-metadata.json,
// both of which pulumi-resource-tls embeds.
package main

import (
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"kube-pki.local/pulumi-tls/provider/tlsinfo"
)

func main() {
	// No prior metadata: renames and fixups are recomputed from the provider.
	pftfgen.Main("tls", tlsinfo.Provider(nil))
}
