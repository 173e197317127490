// Command schemagen writes the two files that cmd/pulumi-resource-kubernetes
// embeds, derived from the provider module the build uses:
//
//	<out>/schema-embed.json            the package schema with "version" set
//	<out>/terraform-mapping-embed.json the terraform mapping, compacted
//
// It does what upstream's build does before `go build` (there, a generate
// step run by the Makefile), but reads the inputs from the provider module
// selected by this module's go.mod (located with `go list -m`), so the schema
// always matches the provider code that is compiled in. It also checks that
// the tokens kube-pki relies on are present.
//
// Usage (from the module root or via go generate):
//
//	go run ./internal/schemagen -out cmd/pulumi-resource-kubernetes/generated -version 4.34.2
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// providerModule is the module whose schema the plugin serves.
const providerModule = "github.com/pulumi/pulumi-kubernetes/provider/v4"

// schemaDir is where, inside that module, upstream keeps the generated schema.
const schemaDir = "cmd/pulumi-resource-kubernetes"

// required lists schema entries kube-pki's program uses; a schema missing any
// of them would not be the real one.
var (
	requiredResources = []string{
		"kubernetes:core/v1:ConfigMap",
		"kubernetes:core/v1:ConfigMapPatch",
		"kubernetes:core/v1:Secret",
	}
	requiredProviderInputs = []string{"kubeconfig", "enableSecretMutable"}
)

func main() {
	out := flag.String("out", "", "directory to write schema-embed.json and terraform-mapping-embed.json into")
	version := flag.String("version", "", "version to put into the schema (same as the binary's version stamp)")
	flag.Parse()
	if *out == "" || *version == "" {
		log.Fatal("schemagen: -out and -version are required")
	}

	dir, err := moduleDir(providerModule)
	if err != nil {
		log.Fatalf("schemagen: %v", err)
	}
	src := filepath.Join(dir, schemaDir)

	// The schema: parse it into Pulumi's schema type (this validates its shape),
	// set the version, and re-serialise it compactly.
	raw, err := os.ReadFile(filepath.Join(src, "schema.json"))
	if err != nil {
		log.Fatalf("schemagen: %v", err)
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		log.Fatalf("schemagen: cannot parse schema: %v", err)
	}
	if err := check(&spec); err != nil {
		log.Fatalf("schemagen: %v", err)
	}
	spec.Version = *version
	schemaOut, err := json.Marshal(spec)
	if err != nil {
		log.Fatalf("schemagen: cannot serialise schema: %v", err)
	}

	// The terraform mapping: only compacted.
	rawMapping, err := os.ReadFile(filepath.Join(src, "terraform-mapping.json"))
	if err != nil {
		log.Fatalf("schemagen: %v", err)
	}
	var mapping bytes.Buffer
	if err := json.Compact(&mapping, rawMapping); err != nil {
		log.Fatalf("schemagen: cannot parse terraform mapping: %v", err)
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatalf("schemagen: %v", err)
	}
	for name, data := range map[string][]byte{
		"schema-embed.json":            schemaOut,
		"terraform-mapping-embed.json": mapping.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
			log.Fatalf("schemagen: %v", err)
		}
	}
	fmt.Printf("schemagen: %s (%d resources, version %s) -> %s\n", src, len(spec.Resources), *version, *out)
}

// moduleDir asks the go command for the directory of the version of mod that
// this module's build list selects, downloading (and verifying) it if needed.
func moduleDir(mod string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", mod)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	var info struct{ Version, Dir, Error string }
	if jerr := json.Unmarshal(b, &info); jerr != nil && err == nil {
		err = jerr
	}
	if info.Error != "" {
		err = errors.New(info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", mod, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory reported", mod)
	}
	return info.Dir, nil
}

// check verifies the schema has what kube-pki uses.
func check(spec *schema.PackageSpec) error {
	if spec.Name != "kubernetes" {
		return fmt.Errorf("schema is for package %q, want kubernetes", spec.Name)
	}
	for _, tok := range requiredResources {
		if _, ok := spec.Resources[tok]; !ok {
			return fmt.Errorf("schema has no resource %s", tok)
		}
	}
	for _, in := range requiredProviderInputs {
		if _, ok := spec.Provider.InputProperties[in]; !ok {
			return fmt.Errorf("schema's provider has no input %q", in)
		}
	}
	return nil
}
