// Local stand-in for the "shim" module that pulumi-tls keeps in provider/shim.
//
// Its module path must sit under github.com/hashicorp/terraform-provider-tls so
// that Go's internal-package rule lets it import
// github.com/hashicorp/terraform-provider-tls/internal/provider. It is never
// published; the parent module points at this directory with a replace.
module github.com/hashicorp/terraform-provider-tls/shim

go 1.25.8

require (
	github.com/hashicorp/terraform-plugin-framework v1.19.0
	// Pseudo-version of the upstream Terraform TLS provider (commit d044ca7c6f52).
	github.com/hashicorp/terraform-provider-tls v1.2.1-0.20260819085117-d044ca7c6f52
)
