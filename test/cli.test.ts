// The command-line tools as a user runs them (npm run render / cert-diff / expiry): --help lists every flag,
// unknown flags and stray arguments are errors, relative paths mean the user's directory, any stack file can be
// given with --config, --check validates without writing, and every error is one line that names the file.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { makeTempDir } from "./e2e/proc";
import { clusterConfig } from "./support";

const ROOT = join(__dirname, "..");

/** Runs a script as `npm run <script> --` does: from the package directory, the user's directory in INIT_CWD. */
function tool(script: string, args: string[], opts: { cwd?: string; input?: string } = {}) {
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", join(ROOT, "scripts", `${script}.ts`), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    input: opts.input,
    env: { ...process.env, INIT_CWD: opts.cwd ?? ROOT },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FLAGS: Record<string, string[]> = {
  render: ["--stack", "--config", "--out", "--force", "--check", "--help"],
  "cert-diff": ["--stack", "--config", "--preview", "--base", "--head", "--format", "--help"],
  expiry: ["--dir", "--endpoint", "--client-cert", "--client-key", "--stack-output", "--warn-days", "--output", "--help"],
};

describe("command-line tools", () => {
  for (const [script, flags] of Object.entries(FLAGS)) {
    it(`${script}: --help describes every flag`, () => {
      const help = tool(script, ["--help"]);
      assert.equal(help.code, 0, help.stderr);
      for (const f of flags) assert.match(help.stdout, new RegExp(`${f}\\b.* \\S`), `${f} described`);
    });

    it(`${script}: a misspelt flag is a usage error naming it, on one line`, () => {
      const typo = tool(script, ["--stak", "dev"]);
      assert.equal(typo.code, 2);
      assert.match(typo.stderr, /Unknown option '--stak'/);
      assert.equal(typo.stderr.trim().split("\n").length, 1, "one line");
    });

    it(`${script}: an unknown flag alone is a usage error naming it`, () => {
      const unknown = tool(script, ["--help-me-not"]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /: Unknown option '--help-me-not' \(/);
    });

    it(`${script}: a stray argument alone is a usage error naming it`, () => {
      const stray = tool(script, ["x"]);
      assert.equal(stray.code, 2);
      assert.match(stray.stderr, /: Unexpected argument 'x'\. /);
    });
  }

  it("render: --key-algorithm (not a flag) is refused instead of silently ignored", () => {
    const r = tool("render", ["--stack", "dev", "--check", "--key-algorithm", "RSA-2048"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown option '--key-algorithm'/);
  });

  it("render: --config takes any stack file, relative to the user's directory; --check writes nothing", () => {
    const user = makeTempDir("cli-user");
    mkdirSync(join(user, "envs"));
    writeFileSync(join(user, "envs", "lab.yaml"), stringify({ config: { "kube-pki:clusters": [clusterConfig("lab", 1, 1)] } }));
    const check = tool("render", ["--config", "envs/lab.yaml", "--check"], { cwd: user });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /lab: valid; 1 control-plane \+ 1 worker nodes/);
    assert.deepEqual(readdirSync(user), ["envs"], "nothing written");
    const render = tool("render", ["--config", "envs/lab.yaml", "--out", "out"], { cwd: user });
    assert.equal(render.code, 0, render.stderr);
    assert.ok(existsSync(join(user, "out", "lab", "cp-1", "etc/kubernetes/pki/ca.crt")), "--out relative to the user's directory");
    assert.ok(!existsSync(join(ROOT, "out", "lab")), "not relative to the repo");
  });

  it("render --check: a bad config exits 1 with its path, and writes nothing", () => {
    const user = makeTempDir("cli-bad");
    const bad = clusterConfig("lab", 1, 0);
    bad.nodes[0].address = "10.0.0.300";
    writeFileSync(join(user, "bad.yaml"), stringify({ config: { "kube-pki:clusters": [bad] } }));
    const r = tool("render", ["--config", "bad.yaml", "--check"], { cwd: user });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /clusters\[0\]\.nodes\[0\]\.address: "10\.0\.0\.300" is not an IP address/);
    assert.deepEqual(readdirSync(user), ["bad.yaml"]);
  });

  it("render --check reads a cluster's workersFile, and names a file entry's problem by its path in the file", () => {
    const user = makeTempDir("cli-workers");
    const workers = join(user, "workers.yaml");
    const lab = { ...clusterConfig("lab", 1, 0), workersFile: workers };
    writeFileSync(join(user, "lab.yaml"), stringify({ config: { "kube-pki:clusters": [lab] } }));
    writeFileSync(workers, stringify(clusterConfig("lab", 0, 3).nodes));
    const check = tool("render", ["--config", "lab.yaml", "--check"], { cwd: user });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /lab: valid; 1 control-plane \+ 3 worker nodes/);
    writeFileSync(workers, stringify([{ name: "w-1", address: "10.0.0.300" }]));
    const bad = tool("render", ["--config", "lab.yaml", "--check"], { cwd: user });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /clusters\[0\]\.workersFile\[0\]\.address: "10\.0\.0\.300" is not an IP address .*\(\/.*workers\.yaml\)/);
  });

  it("one-line errors: a missing file or directory, a YAML syntax error (file and line), a misspelt top-level key", () => {
    const user = makeTempDir("cli-errors");
    const missing = tool("render", ["--config", "nope.yaml", "--check"], { cwd: user });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`${user}/nope\\.yaml: no such file`));
    assert.ok(!/ENOENT|at Object\./.test(missing.stderr), "no raw Node error or stack");
    const dir = tool("expiry", ["--dir", "no-such-dir"], { cwd: user });
    assert.equal(dir.code, 2);
    assert.match(dir.stderr, /no-such-dir: no such directory/);
    assert.ok(!/ENOENT|scandir/.test(dir.stderr));
    writeFileSync(join(user, "broken.yaml"), "config:\n  kube-pki:clusters:\n    - name: a\n     nodes: [\n");
    const yaml = tool("render", ["--config", "broken.yaml", "--check"], { cwd: user });
    assert.equal(yaml.code, 1);
    assert.match(yaml.stderr, /broken\.yaml:\d+:\d+: not valid YAML/);
    for (const key of ["kube-pki:cluster", "kubepki:clusters"]) {
      writeFileSync(join(user, "typo.yaml"), stringify({ config: { [key]: [clusterConfig("lab", 1, 0)] } }));
      const typo = tool("render", ["--config", "typo.yaml", "--check"], { cwd: user });
      assert.equal(typo.code, 1);
      assert.match(typo.stderr, new RegExp(`no kube-pki:clusters in config \\(did you mean "kube-pki:clusters" instead of "${key}"\\?\\)`));
    }
  });

  it("cert-diff and render refuse conflicting sources with a usage error", () => {
    assert.equal(tool("cert-diff", ["--stack", "dev"]).code, 2);
    assert.equal(tool("cert-diff", ["--stack", "dev", "--config", "x", "--base", "HEAD"]).code, 2);
    assert.equal(tool("render", ["--stack", "dev"]).code, 2);
  });
});
