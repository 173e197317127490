// Command pulumi-language-nodejs is a small Node.js/TypeScript language host for the Pulumi CLI.
//
// The Pulumi engine starts a language host as a child process, reads the TCP port of its gRPC
// LanguageRuntime server from the first line of its stdout, and then asks it to (a) list the
// provider plugins the program needs (GetRequiredPackages) and (b) run the program (Run). Running
// means starting `node <@pulumi/pulumi/cmd/run> --monitor ... <entry point>`; the Node.js SDK's
// run script then talks to the engine's resource monitor itself.
//
// This is an independent, deliberately minimal implementation written for the kube-pki toolchain,
// because the upstream module (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3)
// cannot be fetched here. It speaks the same protocol as the v3.248.0 host for everything that
// `pulumi preview|up|destroy|refresh|stack|about|install` use, and for plugin hosting (RunPlugin: a component package
// with `PulumiPlugin.yaml` `runtime: nodejs`, as kube-pki's component/, and a `runtime: nodejs` policy pack, which the
// CLI 3.248 engine starts through its language host), and leaves code generation, packing, linking and debugging
// unimplemented.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	sdk "github.com/pulumi/pulumi/sdk/v3"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	// hostVersion is what GetPluginInfo reports; the engine only needs a parseable semver.
	hostVersion = "3.248.0"

	// runModule is the Node.js SDK's program launcher, resolved with require.resolve from the
	// program directory. PULUMI_LANGUAGE_NODEJS_RUN_PATH overrides it (as upstream allows).
	runModule = "@pulumi/pulumi/cmd/run"

	// pluginModule is the Node.js SDK's plugin launcher: it loads the plugin directory and, when that
	// exports ComponentResource classes, serves them as a component provider.
	pluginModule = "@pulumi/pulumi/cmd/run-plugin"

	// exitBail is the exit code the run script uses when it has already shown the user an
	// actionable error; the engine is then told to bail without printing anything more.
	exitBail = 32
)

func main() {
	// The engine starts us as `pulumi-language-nodejs [--logtostderr] [-v=N] [--tracing URL] ENGINE_ADDR`.
	// -v and --logtostderr are glog's flags, registered by the logging package.
	tracing := flag.String("tracing", "", "Zipkin-compatible tracing endpoint, passed on to the Node.js program")
	runtimeName := flag.String("runtime", "nodejs", "accepted for compatibility; only nodejs is supported")
	showVersion := flag.Bool("version", false, "print the version and exit")
	// Engines before v3.2xx (the one inside pulumi-language-yaml v1.25.0 among them, which starts this host to load a
	// component package's schema) pass -root and the runtime options as flags; the options also arrive with every
	// request, from where they are read, so the flags are accepted and ignored, as the v3.206.0 host did.
	for _, obsolete := range []string{"root", "typescript", "tsconfig", "nodeargs", "packagemanager"} {
		flag.String(obsolete, "", "[obsolete] ignored: the runtime options come with each request")
	}
	flag.Parse()
	if *showVersion {
		fmt.Println(hostVersion)
		return
	}
	if *runtimeName != "nodejs" {
		fmt.Fprintf(os.Stderr, "unsupported runtime: %s\n", *runtimeName)
		os.Exit(1)
	}
	logging.InitLogging(false, 0, false)

	h := &host{tracing: *tracing, stopServer: make(chan bool)}
	h.cancelCtx, h.cancelRun = context.WithCancel(context.Background())
	if addr := flag.Arg(0); addr != "" {
		if err := h.setEngine(addr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: h.stopServer,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "could not start language host RPC server: %v\n", err)
		os.Exit(1)
	}
	// The first stdout line must be the port: that is how the engine finds us.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "language host RPC stopped serving: %v\n", err)
		os.Exit(1)
	}
}

// host implements pulumirpc.LanguageRuntimeServer. Methods not defined here answer Unimplemented.
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	tracing    string
	stopServer chan bool // closed to stop the gRPC server (engine gone)
	stopOnce   sync.Once

	mu        sync.Mutex
	engine    string             // engine gRPC address, from argv or Handshake
	cancelCtx context.Context    // parent of running programs; cancelled by the Cancel RPC
	cancelRun context.CancelFunc // cancels cancelCtx
}

// setEngine records the engine address and, like upstream, polls the engine's gRPC health
// endpoint every 5 minutes so that an orphaned language host shuts itself down.
func (h *host) setEngine(addr string) error {
	h.mu.Lock()
	h.engine = addr
	h.mu.Unlock()
	return rpcutil.Healthcheck(context.Background(), addr, 5*time.Minute, func() {
		h.stopOnce.Do(func() { close(h.stopServer) })
	})
}

func (h *host) engineAddr() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engine
}

// Handshake is only sent when the engine attaches to an already-running host
// (PULUMI_DEBUG_LANGUAGES); it carries the engine address instead of argv.
func (h *host) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if err := h.setEngine(req.GetEngineAddress()); err != nil {
		return nil, err
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: hostVersion}, nil
}

// Cancel aborts running programs. The engine sends it whenever it closes a plugin host; when it
// attached to us (PULUMI_DEBUG_LANGUAGES) it may send later requests too, so start a fresh context.
func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancelRun()
	h.cancelCtx, h.cancelRun = context.WithCancel(context.Background())
	return &emptypb.Empty{}, nil
}

// ---- Runtime options (Pulumi.yaml `runtime.options`) ----

type nodeOptions struct {
	typescript     bool   // `typescript`, default true: run through ts-node
	tsconfig       string // `tsconfig`: path handed to ts-node
	nodeargs       string // `nodeargs`: extra arguments for node itself
	packagemanager npm.PackageManagerType
}

func parseOptions(raw map[string]any) (nodeOptions, error) {
	o := nodeOptions{typescript: true, packagemanager: npm.AutoPackageManager}
	for key, v := range raw {
		var ok bool
		switch key {
		case "typescript":
			o.typescript, ok = v.(bool)
		case "tsconfig":
			o.tsconfig, ok = v.(string)
		case "nodeargs":
			o.nodeargs, ok = v.(string)
		case "packagemanager":
			var s string
			s, ok = v.(string)
			switch s {
			case "auto", "npm", "yarn", "pnpm", "bun":
				o.packagemanager = npm.PackageManagerType(s)
			default:
				ok = false
			}
		default:
			ok = true // unknown options are ignored
		}
		if !ok {
			return o, fmt.Errorf("invalid value %v for nodejs runtime option %q", v, key)
		}
	}
	return o, nil
}

// ---- Plugin discovery ----

// GetRequiredPlugins is the deprecated predecessor; the engine only falls back to it when
// GetRequiredPackages is Unimplemented, so answering Unimplemented here is correct.

// GetRequiredPackages reports one "resource" package per node_modules package.json whose
// "pulumi" section says `"resource": true` (e.g. @pulumi/tls, @pulumi/command, @pulumi/kubernetes).
// The engine loads exactly these provider plugins for the program.
func (h *host) GetRequiredPackages(
	ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	var pkgs []*pulumirpc.PackageDependency
	scanPackages(req.GetInfo().GetProgramDirectory(), false, map[string]bool{}, &pkgs)
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// scanPackages walks dir recursively. A package.json counts only below a node_modules directory.
// Symlinks are followed (with loop protection) and nested policy packs are skipped, since their
// plugins are not the program's. Unreadable entries are logged and skipped, never fatal.
func scanPackages(dir string, inNodeModules bool, seen map[string]bool, out *[]*pulumirpc.PackageDependency) {
	real, err := filepath.EvalSymlinks(dir)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil || seen[real] {
		return
	}
	seen[real] = true
	entries, err := os.ReadDir(real)
	if err != nil {
		logging.V(3).Infof("plugin scan: %v", err)
		return
	}
	childInNodeModules := inNodeModules || filepath.Base(real) == "node_modules"
	for _, e := range entries {
		path := filepath.Join(real, e.Name())
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(path)
			if err != nil {
				continue
			}
			isDir = fi.IsDir()
		}
		switch {
		case isDir:
			if pp, _ := workspace.DetectPolicyPackPathAt(path); pp != "" {
				continue
			}
			scanPackages(path, childInNodeModules, seen, out)
		case inNodeModules && e.Name() == "package.json":
			if dep, err := packageDependency(path); err != nil {
				logging.V(3).Infof("plugin scan: %s: %v", path, err)
			} else if dep != nil {
				*out = append(*out, dep)
			}
		}
	}
}

// packageDependency turns a package.json with `"pulumi": {"resource": true, ...}` into a package
// dependency: name from pulumi.name, else the package name minus "@pulumi/"; version from
// pulumi.version, else the package version, always with a leading "v".
func packageDependency(path string) (*pulumirpc.PackageDependency, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pj struct {
		Name    string                  `json:"name"`
		Version string                  `json:"version"`
		Pulumi  plugin.PulumiPluginJSON `json:"pulumi"`
	}
	if err := json.Unmarshal(b, &pj); err != nil {
		return nil, err
	}
	if !pj.Pulumi.Resource {
		return nil, nil
	}
	name := pj.Pulumi.Name
	if name == "" {
		var ok bool
		if name, ok = strings.CutPrefix(pj.Name, "@pulumi/"); !ok || name == "" {
			return nil, fmt.Errorf("third-party package %q needs a \"pulumi.name\"", pj.Name)
		}
	}
	version := pj.Pulumi.Version
	if version == "" {
		version = pj.Version
	}
	if version == "" {
		return nil, errors.New(`missing "version"`)
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	dep := &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: version, Server: pj.Pulumi.Server}
	if p := pj.Pulumi.Parameterization; p != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
	}
	return dep, nil
}

// ---- Running the program ----

// Run executes the program once (preview, update, refresh and destroy all call it; DryRun says
// which). Program failures are reported in RunResponse.Error, not as gRPC errors.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	fail := func(format string, a ...any) (*pulumirpc.RunResponse, error) {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf(format, a...)}, nil
	}
	info := req.GetInfo()
	programDir, entry := info.GetProgramDirectory(), info.GetEntryPoint()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	if entry == "" {
		entry = "." // the run script then uses package.json "exports"/"main"
	}
	if req.GetAttachDebugger() {
		return fail("this language host does not support --attach-debugger")
	}
	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return fail("%v", err)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fail("could not find node on the $PATH: %v", err)
	}
	module := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if module == "" {
		module = runModule
	}
	runPath, err := resolveModule(ctx, nodeBin, programDir, module)
	if err != nil {
		return fail("%v", err)
	}
	cfg, err := configJSON(req.GetConfig())
	if err != nil {
		return fail("failed to serialize configuration: %v", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return fail("failed to serialize configuration secret keys: %v", err)
	}

	// node [nodeargs...] RUN --monitor A --engine E ... [--dry-run] --parallel N [--tracing T] ENTRY [args...]
	args, err := splitArgs(opts.nodeargs)
	if err != nil {
		return fail("invalid nodeargs: %v", err)
	}
	args = append(args, runPath)
	flagArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagArg("monitor", req.GetMonitorAddress())
	flagArg("engine", h.engineAddr())
	flagArg("organization", req.GetOrganization())
	flagArg("project", req.GetProject())
	flagArg("root-directory", info.GetRootDirectory())
	flagArg("stack", req.GetStack())
	flagArg("pwd", programDir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flagArg("parallel", strconv.Itoa(int(req.GetParallel())))
	flagArg("tracing", h.tracing)
	args = append(append(args, entry), req.GetArgs()...)

	env := append(os.Environ(), "PULUMI_CONFIG="+cfg, "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	logging.V(5).Infof("launching %s %s", nodeBin, strings.Join(args, " "))

	// Stop node (SIGINT, then kill after 5 s) if the engine cancels the request or sends Cancel.
	h.mu.Lock()
	runCtx, cancel := context.WithCancel(h.cancelCtx)
	h.mu.Unlock()
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	cmd := exec.CommandContext(runCtx, nodeBin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = env
	// Wrapping our stdout/stderr hides the *os.File, so node gets pipes that we copy from. Upstream
	// does this for stdout because node may flip a shared fd to non-blocking mode. The engine shows
	// whatever arrives here as diagnostics of the program.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}

	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitBail:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() > 0:
		return fail("Program exited with non-zero exit code: %d", exitErr.ExitCode())
	case errors.As(err, &exitErr):
		return fail("Program exited unexpectedly: %v", err)
	default:
		return fail("Problem executing program (could not run language executor): %v", err)
	}
}

// RunPlugin runs a Node.js plugin (a component package) for the engine, as the v3.248.0 host does:
// `node [nodeargs...] <run-plugin> <plugin dir> [args...]` in the engine's working directory, with
// exactly the environment the engine sends; the output streams back over the RPC, and the engine
// reads the provider's port from the first line of the plugin's stdout. Policy packs (kind analyzer)
// need the upstream policy proxy and are refused.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	if req.GetKind() == "analyzer" {
		return h.runPolicyPack(req, server)
	}
	if req.GetAttachDebugger() {
		return errors.New("this language host does not support --attach-debugger")
	}
	info := req.GetInfo()
	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return err
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	module := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if module == "" {
		module = pluginModule
	}
	runPath, err := resolveModule(ctx, nodeBin, info.GetProgramDirectory(), module)
	if err != nil {
		return err
	}
	nodeargs, err := splitArgs(opts.nodeargs)
	if err != nil {
		return fmt.Errorf("invalid nodeargs: %w", err)
	}
	// As upstream: the launcher, then nodeargs, then the plugin directory and the engine's arguments.
	args := append(append([]string{runPath}, nodeargs...), info.GetProgramDirectory())
	args = append(args, req.GetArgs()...)
	env := req.GetEnv()
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	cmd := exec.CommandContext(ctx, nodeBin, args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	logging.V(5).Infof("running plugin: %s %s", nodeBin, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("Program exited with non-zero exit code: %d", exitErr.ExitCode())
		}
		return fmt.Errorf("Problem executing plugin program (could not run language executor): %w", err)
	}
	return closer.Close()
}

// resolveModule asks node to require.resolve a module from dir, so the program's own
// node_modules/@pulumi/pulumi (wherever npm/yarn/pnpm put it) is the one that runs.
func resolveModule(ctx context.Context, nodeBin, dir, module string) (string, error) {
	script := fmt.Sprintf(`try { console.log(require.resolve(%q)) } catch (e) {`+
		` console.error(e.code === "MODULE_NOT_FOUND" ? "It looks like the Pulumi SDK has not been installed.`+
		` Have you run pulumi install?" : e.message); process.exit(1) }`, module)
	cmd := exec.CommandContext(ctx, nodeBin, "-e", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			return "", errors.New(strings.TrimSpace(string(ee.Stderr)))
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// configJSON renders the stack config for PULUMI_CONFIG. Keys are written in the legacy
// "<namespace>:config:<name>" form, which every @pulumi/pulumi version understands.
func configJSON(cfg map[string]string) (string, error) {
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		key, err := config.ParseKey(k)
		if err != nil {
			return "", err
		}
		out[key.Namespace()+":config:"+key.Name()] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// splitArgs splits a command line on whitespace, honouring '...' and "..." quoting.
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	var quote rune
	inArg := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inArg {
				args, inArg = append(args, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// ---- Plugin hosting ----

// runPolicyPack is RunPlugin for a policy pack. The CLI 3.248 engine runs a policy pack (kind "analyzer") this way
// whenever it finds the nodejs language host (always: it ships beside `pulumi`); the `pulumi-analyzer-policy-nodejs`
// shim is only its fallback without one. As the v3.248.0 host does: @pulumi/pulumi/cmd/run-policy-pack, resolved
// from the pack's directory (its own node_modules or an enclosing project's), runs there with the engine address
// then the pack directory as arguments; the SDK's PolicyProxy answers the engine's ConfigureStack first, so the pack
// starts with the stack's name and config in its environment (pulumi.getStack(), new pulumi.Config()).
func (h *host) runPolicyPack(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	if req.GetAttachDebugger() {
		return errors.New("this language host does not support --attach-debugger")
	}
	ctx := server.Context()
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	info := req.GetInfo()
	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return err
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	runPath, err := resolveModule(ctx, nodeBin, info.GetProgramDirectory(), "@pulumi/pulumi/cmd/run-policy-pack")
	if err != nil {
		return err
	}
	args, err := splitArgs(opts.nodeargs)
	if err != nil {
		return fmt.Errorf("invalid nodeargs: %w", err)
	}
	args = append(append(append([]string{runPath}, args...), req.GetArgs()...), info.GetProgramDirectory())
	env := req.GetEnv()
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	proxy, stdout, err := sdk.NewPolicyProxy(ctx, stdout)
	if err != nil {
		return fmt.Errorf("could not start policy pack proxy: %w", err)
	}
	stack, err := proxy.AwaitConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("could not get stack configuration: %w", err)
	}
	if stack != nil {
		for k, v := range map[string]string{
			"PULUMI_NODEJS_ORGANIZATION": stack.GetOrganization(), "PULUMI_NODEJS_PROJECT": stack.GetProject(),
			"PULUMI_NODEJS_STACK": stack.GetStack(), "PULUMI_NODEJS_DRY_RUN": strconv.FormatBool(stack.GetDryRun()),
		} {
			if v != "" {
				env = append(env, k+"="+v)
			}
		}
		if stack.GetConfig() != nil {
			cfg, err := json.Marshal(stack.GetConfig())
			if err != nil {
				return fmt.Errorf("could not marshal stack configuration: %w", err)
			}
			env = append(env, "PULUMI_CONFIG="+string(cfg))
		}
	}
	cmd := exec.CommandContext(ctx, nodeBin, args...)
	// Policy packs have always run in their own directory (their tsconfig.json, their node_modules).
	cmd.Dir = info.GetProgramDirectory()
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	logging.V(5).Infof("launching policy pack: %s", cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start the policy pack: %w", err)
	}
	if err := proxy.Attach(ctx, cmd); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("Program exited with non-zero exit code: %d", exitErr.ExitCode())
		}
		return err
	}
	return closer.Close()
}

// ---- `pulumi install` / `pulumi about` support ----

// InstallDependencies runs the configured package manager's install in the program directory
// (or the enclosing npm/yarn/pnpm workspace root), streaming its output back to the engine.
func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return err
	}
	dir := req.GetInfo().GetProgramDirectory()
	if root, err := npm.FindWorkspaceRoot(dir); err == nil {
		fmt.Fprintf(stdout, "Detected workspace root at %s\n", root)
		dir = root
	}
	fmt.Fprint(stdout, "Installing dependencies...\n\n")
	if _, err := npm.Install(server.Context(), opts.packagemanager, dir, false, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprint(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

// About describes the runtime for `pulumi about` and for update metadata.
func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return nil, err
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	resp := &pulumirpc.AboutResponse{Executable: nodeBin, Metadata: map[string]string{}}
	if out, err := exec.CommandContext(ctx, nodeBin, "--version").Output(); err == nil {
		resp.Version = strings.TrimSpace(string(out))
	}
	if pm, err := npm.ResolvePackageManager(opts.packagemanager, req.GetInfo().GetProgramDirectory()); err == nil {
		resp.Metadata["packagemanager"] = pm.Name()
		if v, err := pm.Version(); err == nil {
			resp.Metadata["packagemanagerVersion"] = v.String()
		}
	}
	return resp, nil
}

// GetProgramDependencies lists installed npm packages (for `pulumi about`).
func (h *host) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return nil, err
	}
	dir := req.GetInfo().GetProgramDirectory()
	pm, err := npm.ResolvePackageManager(opts.packagemanager, dir)
	if err != nil {
		return nil, err
	}
	pkgs, err := pm.ListPackages(ctx, dir, req.GetTransitiveDependencies())
	if err != nil {
		return nil, fmt.Errorf("failed to get node dependencies: %w", err)
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range pkgs {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return resp, nil
}
