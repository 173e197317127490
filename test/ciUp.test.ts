// scripts/ci-up.sh, the workflow's only way to `pulumi up`, refuses every switch that would have the CLI, the engine
// or a provider log, trace or hand over the update's traffic (the stack's private keys travel in it), and any
// argument besides the stack name, before it runs pulumi at all: a `pulumi` shim on PATH records whether it was.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "./e2e/proc";

const SCRIPT = join(__dirname, "..", "scripts", "ci-up.sh");

/** Runs ci-up.sh with only the given environment (a backend set) and a recording `pulumi` shim first on PATH. */
function ciUp(args: string[], env: Record<string, string> = {}) {
  const dir = makeTempDir("ci-up");
  const calls = join(dir, "pulumi-calls");
  // Fails like a missing stack would: an unguarded run stops there, after the shim recorded it.
  writeFileSync(join(dir, "pulumi"), `#!/bin/sh\necho "$*" >> "${calls}"\nexit 1\n`, { mode: 0o755 });
  const r = spawnSync("bash", [SCRIPT, ...args], {
    encoding: "utf8",
    env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir, PULUMI_BACKEND_URL: "file:///nonexistent", ...env },
  });
  return { status: r.status, stderr: r.stderr, pulumiCalls: existsSync(calls) ? readFileSync(calls, "utf8") : "" };
}

/** Each switch (from the Pulumi CLI 3.248 source, the Node SDK and the tls provider's logging), with a value that turns it on. */
const SWITCHES: Record<string, string> = {
  PULUMI_DEBUG_GRPC: "/tmp/grpc.log",
  PULUMI_DEBUG_PROVIDERS: "command:40000",
  PULUMI_DEBUG_LANGUAGES: "nodejs:40001",
  PULUMI_DEBUG_COMMANDS: "true",
  PULUMI_DEBUG_PROMISE_LEAKS: "true",
  PULUMI_ENABLE_AUTOMATIC_LOGGING: "true",
  PULUMI_LOG_OTLP_ENDPOINT: "127.0.0.1:4317",
  PULUMI_OTEL_EXPORTER_OTLP_ENDPOINT: "127.0.0.1:4317",
  PULUMI_OPTION_VERBOSE: "9",
  PULUMI_OPTION_LOGFLOW: "true",
  PULUMI_OPTION_LOGTOSTDERR: "true",
  PULUMI_OPTION_TRACING: "file:/tmp/trace.json",
  PULUMI_OPTION_OTEL_TRACES: "file:///tmp/traces",
  PULUMI_OPTION_PROFILING: "/tmp/profile",
  PULUMI_OPTION_DEBUG: "true",
  PULUMI_OPTION_SHOW_SECRETS: "true",
  PULUMI_OPTION_EVENT_LOG: "/tmp/events.json",
  TF_LOG: "TRACE",
  TF_LOG_PATH: "/tmp/tf.log",
  TF_LOG_PROVIDER: "TRACE",
  TF_LOG_SDK_PROTO_DATA_DIR: "/tmp/proto",
  GODEBUG: "http2debug=2",
};

describe("scripts/ci-up.sh refuses debug switches and flags before it runs pulumi", () => {
  it("runs pulumi when nothing is switched on (the shim records the call)", () => {
    const r = ciUp(["staging"], { PULUMI_SKIP_UPDATE_CHECK: "true", GODEBUG: "madvdontneed=1" });
    assert.match(r.pulumiCalls, /^stack select staging --non-interactive$/m);
  });

  for (const [name, value] of Object.entries(SWITCHES)) {
    it(`refuses ${name}`, () => {
      const r = ciUp(["staging"], { [name]: value });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`${name}.*nothing was changed`));
      assert.equal(r.pulumiCalls, "", "pulumi was not run");
    });
  }

  for (const args of [["staging", "-v=9"], ["staging", "--logflow"], ["--debug"], ["staging", "--", "--show-secrets"]]) {
    it(`refuses the arguments ${args.join(" ")}`, () => {
      const r = ciUp(args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /usage: scripts\/ci-up\.sh <stack>.*nothing was changed/);
      assert.equal(r.pulumiCalls, "", "pulumi was not run");
    });
  }
});
