// The real Pulumi engine for the engine tests: the CLI and plugins `npm run toolchain` built, a copy of the project
// (index.ts, components/, Pulumi.yaml, package.json, the given stack files; as checked out, or as an earlier commit
// had it) in a temp directory, a fresh local file
// backend and PULUMI_HOME, PULUMI_CONFIG_PASSPHRASE set, plugins installed from their files so the engine never
// downloads. Every CLI run is bounded in time and runs in its own process group, killed as a group afterwards
// (providers may outlive the CLI by seconds).
import { createHash } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { makeTempDir, outcome } from "../e2e/proc";

export const REPO = join(__dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
export const VERSIONS = {
  pulumi: pkg.dependencies["@pulumi/pulumi"] as string,
  tls: pkg.dependencies["@pulumi/tls"] as string,
  command: pkg.dependencies["@pulumi/command"] as string,
  kubernetes: pkg.dependencies["@pulumi/kubernetes"] as string,
};

let toolchainDir: string | undefined;

/** The toolchain's bin directory; a clear failure (never a skip) when `npm run toolchain` has not been run. */
export function toolchain(): string {
  if (toolchainDir) return toolchainDir;
  const r = spawnSyncText("bash", [join(REPO, "scripts/toolchain.sh"), "--dir"]);
  if (r.code !== 0) throw new Error(`the real Pulumi toolchain is not built: ${r.stderr.trim()}`);
  toolchainDir = r.stdout.trim();
  return toolchainDir;
}

function spawnSyncText(cmd: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** What the engine runs: the program and, in emulator/ (offline/ before issue 20), the command plugin it starts in the project's directory. */
const PROJECT = ["Pulumi.yaml", "index.ts", "package.json", "tsconfig.json", "components", "offline", "emulator"];

/** Puts the project into `dir`, replacing what is there: as checked out, or as `commit` had it (`git archive`). */
function copyProject(dir: string, commit?: string): void {
  for (const p of PROJECT) rmSync(join(dir, p), { recursive: true, force: true });
  if (commit === undefined) {
    for (const p of PROJECT) cpSync(join(REPO, p), join(dir, p), { recursive: true });
    return;
  }
  // safe.directory: CI runs the tests as root in a checkout another user owns.
  const git = (args: string[]) => spawnSync("git", ["-c", `safe.directory=${REPO}`, "-C", REPO, ...args], { maxBuffer: 256 * 1024 * 1024 });
  const present = new Set(git(["ls-tree", "--name-only", commit]).stdout.toString().split("\n"));
  const tar = spawnSync(
    "git",
    ["-c", `safe.directory=${REPO}`, "-C", REPO, "archive", "--format=tar", commit, ...PROJECT.filter((p) => present.has(p))],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  if (tar.status !== 0) {
    throw new Error(
      `git archive ${commit} failed (the engine tests need the repository's history: a full clone, not a shallow one): ${tar.stderr}`,
    );
  }
  const untar = spawnSync("tar", ["-x", "-C", dir], { input: tar.stdout });
  if (untar.status !== 0) throw new Error(`tar -x of ${commit} failed: ${untar.stderr}`);
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly args: readonly string[];
}

let sharedHome: Promise<string> | undefined;

/** One PULUMI_HOME per test process with the plugins installed from the toolchain's files (hundreds of MB). */
function pulumiHome(): Promise<string> {
  sharedHome ??= (async () => {
    const home = makeTempDir("pulumi-home");
    const bin = toolchain();
    for (const [name, version] of [
      ["tls", VERSIONS.tls],
      ["command", VERSIONS.command],
      ["kubernetes", VERSIONS.kubernetes],
    ] as const) {
      const r = await cli(["plugin", "install", "resource", name, version, "--file", join(bin, `pulumi-resource-${name}`)], {
        cwd: REPO,
        env: baseEnv(home, makeTempDir("backend")),
        timeoutMs: 120_000,
      });
      if (r.code !== 0) throw new Error(`pulumi plugin install ${name} ${version} failed:\n${r.stderr}`);
    }
    return home;
  })();
  return sharedHome;
}

function baseEnv(home: string, backend: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${toolchain()}:${process.env.PATH}`,
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${backend}`,
    PULUMI_CONFIG_PASSPHRASE: "kube-pki engine tests",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // Plugins come from PULUMI_HOME, exactly the versions installed there; never whatever is on PATH.
    PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
    // `npm run typecheck` is the type gate; the engine tests need the program's behaviour, fast.
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    // The state is written once, at the end of an update, not after every step (a first up of the dev stack spends
    // most of its time writing checkpoints: docs/benchmarks-engine.md). The steps are the engine's either way; the
    // tests of what an interrupted or failing update leaves behind turn checkpoints back on (`up(…, { checkpoints })`).
    PULUMI_SKIP_CHECKPOINTS: "true",
    NO_COLOR: "1",
  };
}

export interface RunOpts {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Called with the CLI's pid, which is also its process group's id. */
  onSpawn?: (pid: number) => void;
}

/** Runs the CLI in its own process group; the group is killed when the CLI exits or times out. */
export async function cli(args: readonly string[], opts: RunOpts & { cwd: string; env: NodeJS.ProcessEnv }): Promise<CliResult> {
  const child = spawn(join(toolchain(), "pulumi"), args, {
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  opts.onSpawn?.(child.pid!);
  const killGroup = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* gone */
    }
  };
  const { code, stdout, stderr, timedOut } = await outcome(child, opts.timeoutMs ?? 600_000, killGroup, opts.input);
  killGroup();
  return { code, stdout, stderr, timedOut, args };
}

/** A run for an assertion message: its end, and the CLI's "Diagnostics:" (the errors), which a long output pushes out of it. */
export const describeRun = (r: CliResult) => {
  const diagnostics = /\nDiagnostics:\n[\s\S]*?(?=\n(?:Outputs|Resources):\n|$)/.exec(r.stdout)?.[0].slice(0, 4000);
  return (
    `pulumi ${r.args.join(" ")} -> ${r.timedOut ? "timed out" : `exit ${r.code}`}\n` +
    `${diagnostics ? `--- diagnostics${diagnostics}\n` : ""}--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`
  );
};

/** A project copy with its own backend, on which the CLI runs. */
export class Workspace {
  private constructor(
    readonly dir: string,
    readonly backend: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  /**
   * `stacks`: stack name → the value of `kube-pki:clusters` (written as stacks/Pulumi.<stack>.yaml), or a file's text.
   * `commit`: the project as that commit had it (an earlier release), instead of as checked out.
   */
  static async create(label: string, stacks: Record<string, unknown>, opts: { commit?: string } = {}): Promise<Workspace> {
    const dir = makeTempDir(`ws-${label}`);
    copyProject(dir, opts.commit);
    symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
    mkdirSync(join(dir, "stacks"));
    const backend = join(dir, ".state");
    mkdirSync(backend);
    const ws = new Workspace(dir, backend, baseEnv(await pulumiHome(), backend));
    for (const [stack, clusters] of Object.entries(stacks)) ws.writeStack(stack, clusters);
    return ws;
  }

  /**
   * Writes stacks/Pulumi.<stack>.yaml: the given file text, or `kube-pki:clusters` set to the given value with every
   * other key of the file kept (the encryption salt and secrets the CLI wrote there).
   */
  writeStack(stack: string, clusters: unknown): void {
    const file = join(this.dir, "stacks", `Pulumi.${stack}.yaml`);
    const existing = existsSync(file) ? ((parse(readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> }) : {};
    if (typeof clusters === "string") {
      const salt = /^encryptionsalt: .*$/m.exec(existsSync(file) ? readFileSync(file, "utf8") : "")?.[0];
      writeFileSync(file, salt && !/^encryptionsalt:/m.test(clusters) ? `${salt}\n${clusters}` : clusters);
      return;
    }
    writeFileSync(file, stringify({ ...existing, config: { ...(existing.config ?? {}), "kube-pki:clusters": clusters } }));
  }

  /** Replaces the project by the one checked out (an upgrade), keeping the stacks, the state and the delivered files. */
  useCurrentProject(): void {
    copyProject(this.dir);
  }

  run(args: readonly string[], opts: RunOpts = {}): Promise<CliResult> {
    return cli(args, { ...opts, cwd: this.dir, env: { ...this.env, ...opts.env } });
  }

  /** Runs the CLI and fails with its output unless it exits 0. */
  async ok(args: readonly string[], opts: RunOpts = {}): Promise<CliResult> {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new Error(describeRun(r));
    return r;
  }

  async init(stack: string): Promise<void> {
    await this.ok(["stack", "init", stack, "--non-interactive"]);
  }

  /** `pulumi preview --json` of a stack, parsed. */
  async preview(stack: string, extra: readonly string[] = [], opts: RunOpts = {}): Promise<PreviewJson> {
    const r = await this.run(["preview", "--stack", stack, "--json", "--non-interactive", ...extra], opts);
    let json: PreviewJson;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      throw new Error(describeRun(r));
    }
    return { ...json, exitCode: r.code };
  }

  /** `pulumi up`; with `checkpoints` the engine records every finished step as it goes, as it does by default. */
  up(stack: string, extra: readonly string[] = [], opts: RunOpts & { checkpoints?: boolean } = {}): Promise<CliResult> {
    const { checkpoints, ...run } = opts;
    return this.run(["up", "--stack", stack, "--yes", "--non-interactive", "--skip-preview", ...extra], {
      ...run,
      env: { ...run.env, ...(checkpoints ? { PULUMI_SKIP_CHECKPOINTS: "false" } : {}) },
    });
  }

  async exportState(stack: string, opts: RunOpts = {}): Promise<any> {
    return JSON.parse((await this.ok(["stack", "export", "--stack", stack], opts)).stdout);
  }
}

export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly replaceReasons?: string[];
  readonly diffReasons?: string[];
  readonly newState?: { type: string; inputs?: Record<string, unknown> };
  readonly oldState?: { type: string; inputs?: Record<string, unknown> };
}

export interface PreviewJson {
  readonly steps: PreviewStep[];
  readonly diagnostics?: { urn?: string; message: string; severity: string }[];
  readonly changeSummary?: Record<string, number>;
  readonly exitCode: number | null;
}

/** `<type>::<name>` of a URN: unique in kube-pki's program, and the same in the real engine and under mocks. */
export const typeAndName = (urn: string) => {
  const parts = urn.split("::");
  return `${parts[2]?.split("$").pop()}::${parts[3]}`;
};

/** The steps that change something, as sorted `op type::name` lines (create-replacement/delete-replaced folded). */
export function changedSteps(preview: PreviewJson): string[] {
  return preview.steps
    .filter((s) => s.op !== "same" && s.op !== "read" && s.op !== "delete-replaced")
    .map((s) => `${s.op === "create-replacement" ? "replace" : s.op} ${typeAndName(s.urn)}`)
    .sort();
}

const CAPTURES = join(REPO, "test", "fixtures", "pulumi-preview");

/** A committed capture of a real preview: the clusters it was made from (the base and the change) and its output. */
export interface PreviewCapture {
  readonly about: string;
  readonly base: unknown;
  readonly head: unknown;
  readonly preview: PreviewJson;
}

/** The steps and reasons of a preview, the part a capture must keep matching. */
const stepSummary = (p: PreviewJson) => [
  // Reasons sorted: the bridged tls provider lists them in Go map order, different from run to run.
  ...p.steps
    .filter((s) => s.op !== "same")
    .map((s) => `${s.op} ${typeAndName(s.urn)} ${[...(s.replaceReasons ?? [])].sort().join(",")}`)
    .sort(),
  ...(p.diagnostics ?? [])
    .filter((d) => d.severity === "error" && d.urn)
    .map((d) => `error ${typeAndName(d.urn!)}`)
    .sort(),
];

/**
 * A real preview cut to what a reader of steps uses, so a capture stays small: a step that changes nothing keeps its
 * op and URN; the others their op, URN, reasons, diff, and each state's type and inputs (no outputs, stack traces or
 * dependencies). An input string over 400 characters (a PEM, the install script) becomes its length and digest, so
 * equal stays equal and changed stays changed.
 */
export function trimmedPreview(preview: PreviewJson): PreviewJson {
  const short = (v: unknown): unknown =>
    typeof v === "string" && v.length > 400
      ? `<${v.length} characters, sha256 ${createHash("sha256").update(v).digest("hex").slice(0, 16)}>`
      : Array.isArray(v)
        ? v.map(short)
        : v && typeof v === "object"
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, short(x)]))
          : v;
  const state = (st: any) => st && { type: st.type, inputs: short(st.inputs) };
  const steps = preview.steps.map((s: any) =>
    s.op === "same"
      ? { op: s.op, urn: s.urn }
      : {
          op: s.op,
          urn: s.urn,
          ...(s.replaceReasons ? { replaceReasons: s.replaceReasons } : {}),
          ...(s.diffReasons ? { diffReasons: s.diffReasons } : {}),
          ...(s.detailedDiff ? { detailedDiff: s.detailedDiff } : {}),
          ...(s.oldState ? { oldState: state(s.oldState) } : {}),
          ...(s.newState ? { newState: state(s.newState) } : {}),
        },
  );
  return { ...preview, steps } as PreviewJson;
}

/**
 * Keeps `test/fixtures/pulumi-preview/<name>.json` honest: a fresh real preview of the same change must have the
 * same steps, reasons and errors as the committed one (which the fast cert-diff tests read). With
 * KUBE_PKI_UPDATE_CAPTURES=1 the capture is written instead. Steps that change nothing keep only their op and URN
 * (their states are the same as before and would make the file large).
 */
export function checkCapture(name: string, about: string, base: unknown, head: unknown, preview: PreviewJson): void {
  const file = join(CAPTURES, `${name}.json`);
  if (process.env.KUBE_PKI_UPDATE_CAPTURES === "1") {
    const text = JSON.stringify({ about, base, head, preview: trimmedPreview(preview) } satisfies PreviewCapture, null, 1);
    if (/PRIVATE KEY/.test(text)) throw new Error(`${name}: a capture must hold no key material`);
    writeFileSync(file, `${text}\n`);
    return;
  }
  if (!existsSync(file)) throw new Error(`${file} is missing: run the engine tests with KUBE_PKI_UPDATE_CAPTURES=1`);
  const committed = JSON.parse(readFileSync(file, "utf8")) as PreviewCapture;
  const want = stepSummary(committed.preview);
  const got = stepSummary(preview);
  if (JSON.stringify(want) !== JSON.stringify(got)) {
    throw new Error(
      `${file} no longer matches the real preview of the same change (re-capture with KUBE_PKI_UPDATE_CAPTURES=1):\n` +
        `committed:\n  ${want.join("\n  ")}\nnow:\n  ${got.join("\n  ")}`,
    );
  }
}
