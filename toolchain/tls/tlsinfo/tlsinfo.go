// Package tlsinfo describes how the Terraform TLS provider is presented to
// Pulumi as the "tls" package (the provider behind the @pulumi/tls SDK).
//
// The upstream pulumi-tls provider module (github.com/pulumi/pulumi-tls/provider/v5)
// is not served by the Go module proxy we can reach, so this package is our own
// re-statement of the mapping that pulumi-tls uses: one "index" module, standard
// token names (tls_private_key -> tls:index/privateKey:PrivateKey) and a state
// fixup hook for SelfSignedCert (its documentation edits are left out: they only
// change doc text in the schema). Only those facts are carried over; the code here
// is written for kube-pki.
package tlsinfo

import (
	"path/filepath"

	"github.com/hashicorp/terraform-provider-tls/shim"
	pfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"kube-pki.local/pulumi-tls/provider/version"
)

const (
	pkgName    = "tls"   // Pulumi package name
	moduleName = "index" // every resource and function lives in tls:index
)

// Provider returns the bridge description of the tls provider.
//
// metadata is the content of bridge-metadata.json as written by the tfgen step
// (nil is fine while running tfgen itself; the bridge then starts from empty
// metadata and records what it computes).
func Provider(metadata []byte) tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		// Wrap the upstream Plugin Framework provider.
		P:           pfbridge.ShimProvider(shim.NewProvider()),
		Name:        pkgName,
		Version:     version.Version,
		Description: "A Pulumi package to create TLS resources in Pulumi programs.",
		Keywords:    []string{"pulumi", "tls"},
		License:     "Apache-2.0",
		Homepage:    "https://pulumi.io",
		Repository:  "https://github.com/pulumi/pulumi-tls",
		// Upstream docs are looked up as github.com/hashicorp/terraform-provider-tls
		// in the module graph (go mod download), which the shim pins.
		GitHubOrg:    "hashicorp",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources: map[string]*tfbridge.ResourceInfo{
			"tls_self_signed_cert": {PreStateUpgradeHook: fixupSelfSignedCertState},
		},
		// Language sections only matter for SDK generation, but they are part of
		// the package schema returned by GetSchema, so keep them as pulumi-tls has them.
		JavaScript: &tfbridge.JavaScriptInfo{
			DevDependencies:      map[string]string{"@types/node": "^10.0.0"},
			RespectSchemaVersion: true,
		},
		Python: pythonInfo(),
		Golang: &tfbridge.GolangInfo{
			ImportBasePath: filepath.Join(
				"github.com/pulumi/pulumi-tls/sdk/",
				tfbridge.GetModuleMajorVersion(version.Version),
				"go", pkgName),
			GenerateResourceContainerTypes: true,
			RespectSchemaVersion:           true,
		},
		CSharp: &tfbridge.CSharpInfo{
			RespectSchemaVersion: true,
			PackageReferences:    map[string]string{"Pulumi": "3.*"},
			Namespaces:           map[string]string{pkgName: "Tls"},
		},
		// Same switches pulumi-tls sets. (EnableAccurateBridgePreview is the SDKv2
		// flag; for this Plugin Framework provider it has no effect.)
		EnableZeroDefaultSchemaVersion: true,
		EnableAccurateBridgePreview:    true,
	}

	// tls_<name> -> tls:index/<camelName>:<PascalName> for resources and
	// tls:index/get<PascalName>:get<PascalName> for data sources.
	prov.MustComputeTokens(tokens.SingleModule(
		prov.GetResourcePrefix()+"_", moduleName, tokens.MakeStandard(pkgName)))

	return prov
}

func pythonInfo() *tfbridge.PythonInfo {
	p := &tfbridge.PythonInfo{RespectSchemaVersion: true}
	p.PyProject.Enabled = true
	return p
}

// fixupSelfSignedCertState runs before the upstream state upgrader for
// tls_self_signed_cert. State written by the older SDKv2-based provider lacks
// some values that the Plugin Framework version always has, which would show
// up as spurious diffs; only the v0 -> v0 (pre-versioning) case is touched.
func fixupSelfSignedCertState(args tfbridge.PreStateUpgradeHookArgs) (int64, resource.PropertyMap, error) {
	if args.ResourceSchemaVersion != 0 || args.PriorStateSchemaVersion != 0 {
		return args.PriorStateSchemaVersion, args.PriorState, nil
	}
	st := args.PriorState

	// Optional+computed booleans that default to false: absent means false.
	for _, k := range []resource.PropertyKey{"setSubjectKeyId", "setAuthorityKeyId", "isCaCertificate"} {
		if _, has := st[k]; !has {
			st[k] = resource.NewBoolProperty(false)
		}
	}

	// Empty subject strings / empty street list were stored by the old provider;
	// the new one leaves them unset.
	if subj, has := st["subject"]; has && subj.IsObject() {
		fields := subj.ObjectValue()
		for _, k := range []resource.PropertyKey{
			"commonName", "country", "locality", "organization",
			"organizationalUnit", "postalCode", "province", "serialNumber",
		} {
			if v, ok := fields[k]; ok && v.IsString() && v.StringValue() == "" {
				delete(fields, k)
			}
		}
		if v, ok := fields["streetAddresses"]; ok && v.IsArray() && len(v.ArrayValue()) == 0 {
			delete(fields, "streetAddresses")
		}
	}

	// allowedUses is required; give old state an empty list if it has none.
	if _, has := st["allowedUses"]; !has {
		st["allowedUses"] = resource.NewArrayProperty([]resource.PropertyValue{})
	}
	return 0, st, nil
}
