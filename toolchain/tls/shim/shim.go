// Package shim exposes the upstream Terraform TLS provider, which lives in an
// internal package, to the kube-pki bridge wrapper.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"

	upstream "github.com/hashicorp/terraform-provider-tls/internal/provider"
)

// NewProvider returns a fresh instance of the upstream Plugin Framework
// provider (terraform-provider-tls). The Pulumi bridge wraps this value.
func NewProvider() provider.Provider {
	return upstream.New()
}
