//go:build tools

// Package tools only pins the main package we build, so that `go mod tidy` records every module it needs.
package tools

import _ "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
