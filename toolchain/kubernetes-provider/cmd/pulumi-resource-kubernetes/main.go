// Command pulumi-resource-kubernetes is the Pulumi Kubernetes resource
// provider plugin, built from the upstream provider module
// (github.com/pulumi/pulumi-kubernetes/provider/v4).
//
// Upstream's own main embeds two files that its Makefile generates before
// building and that are therefore absent from the module zip:
//   - schema-embed.json: the package schema (cmd/pulumi-resource-kubernetes/
//     schema.json of the provider module, re-serialised with "version" set).
//     The provider serves it from GetSchema and, when it reads a resource
//     with no prior inputs (e.g. ConfigMap.get / import), uses the resource's
//     inputProperties from it to decide which live fields become inputs.
//   - terraform-mapping-embed.json: returned by GetMapping("terraform"),
//     used only by `pulumi convert/import --from terraform`.
//
// Our generator (../../internal/schemagen) derives both from the provider
// module at build time into ./generated; build.sh runs it before `go build`.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:generate go run ../../internal/schemagen -out generated -version $VERSION

// providerName is the Pulumi package name the plugin serves.
const providerName = "kubernetes"

//go:embed generated/schema-embed.json
var pulumiSchema []byte

//go:embed generated/terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	// version.Version is set with
	//   -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=<ver>"
	// and is what GetPluginInfo reports and the User-Agent carries.
	provider.Serve(providerName, version.Version, pulumiSchema, terraformMapping)
}
