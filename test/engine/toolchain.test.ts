// One toolchain cache serves every clone on a machine (a developer's checkouts, CI's): its stamps do not depend on
// where the repo is, and the command plugin it writes runs the project the engine starts it in, not the clone that
// happened to build the cache (seen: CI's clone at another path left a wrapper that broke every other clone's up).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, outcome, run } from "../e2e/proc";
import { REPO, toolchain, Workspace } from "./workspace";

describe("the toolchain cache (npm run toolchain)", function () {
  this.timeout(300_000);

  it("a clone at another path finds every step cached and gets the same directory", async () => {
    const clone = makeTempDir("clone");
    for (const d of ["scripts", "toolchain", "approver"]) cpSync(join(REPO, d), join(clone, d), { recursive: true });
    cpSync(join(REPO, "package.json"), join(clone, "package.json"));
    const r = await run("bash", [join(clone, "scripts/toolchain.sh")], { timeoutMs: 280_000 });
    assert.equal(r.code, 0, r.stderr);
    const steps = r.stderr.split("\n").filter((l) => l.startsWith("toolchain: "));
    assert.ok(steps.length >= 13, r.stderr);
    assert.deepEqual(
      steps.filter((l) => !l.endsWith(": cached")),
      [],
      "nothing rebuilt for a clone at another path",
    );
    assert.equal(r.stdout.trim().split("\n").pop(), toolchain());
  });

  it("the command plugin names no clone and runs the project it is started in", async () => {
    const wrapper = readFileSync(join(toolchain(), "pulumi-resource-command"), "utf8");
    assert.ok(!wrapper.includes(REPO), wrapper);
    const elsewhere = makeTempDir("not-a-project");
    const refused = await run(join(toolchain(), "pulumi-resource-command"), [], { cwd: elsewhere, timeoutMs: 10_000 });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /is not a kube-pki project/);
    // In a project copy as the engine tests run it, the plugin starts and prints its port, as a plugin must.
    const project = await Workspace.create("command-plugin", {});
    // Stopped once it has printed its port, however long its start takes on a loaded machine (a fixed 15 s wait
    // failed under load: nothing printed yet).
    const child = spawn(join(toolchain(), "pulumi-resource-command"), ["127.0.0.1:1"], {
      cwd: project.dir,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const port = /^\d+\s*$/m;
    let printed = "";
    child.stdout.on("data", (d: Buffer) => {
      printed += d.toString();
      if (port.test(printed)) child.kill("SIGTERM");
    });
    const started = await outcome(child, 240_000, () => child.kill("SIGKILL"));
    assert.match(started.stdout, port, `${started.stdout}\n${started.stderr}`);
    assert.equal(started.signal, "SIGTERM", `still serving when stopped: ${started.code} ${started.signal}\n${started.stderr}`);
  });
});
