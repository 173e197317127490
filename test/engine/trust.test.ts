// Trust roots under the real engine (issue 19): what a deployed stack recorded holds the next config to it. Removing
// an adopted CA's `adopt` entry fails the preview with the config path instead of planning a new CA; a stack with no
// recorded rotation accepts only `add`; a rollout that fails does not record its phase, so the next `up` repeats it.
// One deployed stack (an adopted cluster CA, local delivery); each test starts from that state and puts it back.
import assert from "node:assert/strict";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { clusterConfig, opensslCa } from "../support";
import { changedSteps, describeRun, PreviewJson, Workspace } from "./workspace";

describe("engine: trust roots keep their identity; a rotation phase is recorded only after its rollout", function () {
  this.timeout(900_000);
  const ca = opensslCa("kubernetes");
  const keyConfig = "adopted-i-ca-key";
  const config = (extra: Record<string, unknown> = {}, adopt = true) => [
    clusterConfig("i", 1, 1, {
      delivery: { mode: "local", localDirectory: "out" },
      ...(adopt ? { adopt: { ca: { certificate: ca.cert, keyConfig } } } : {}),
      ...extra,
    }),
  ];
  let ws: Workspace;
  let deployedState: string;
  let stackFile: string;
  const stackPath = () => join(ws.dir, "stacks", "Pulumi.t.yaml");
  const errors = (p: PreviewJson) =>
    (p.diagnostics ?? [])
      .filter((d) => d.severity === "error")
      .map((d) => d.message)
      .join("\n");
  const importState = async (state: unknown) => {
    writeFileSync(join(ws.dir, "state.json"), typeof state === "string" ? state : JSON.stringify(state));
    await ws.ok(["stack", "import", "--stack", "t", "--file", join(ws.dir, "state.json")]);
  };
  const recordedRotation = async () =>
    JSON.parse((await ws.ok(["stack", "output", "rotation", "--json", "--stack", "t"])).stdout) as Record<string, Record<string, unknown>>;

  before(async () => {
    ws = await Workspace.create("trust", { t: config() });
    await ws.init("t");
    await ws.ok(["config", "set", "--secret", "--stack", "t", keyConfig], { input: ca.key });
    const up = await ws.up("t");
    assert.equal(up.code, 0, describeRun(up));
    deployedState = JSON.stringify(await ws.exportState("t"));
    stackFile = readFileSync(stackPath(), "utf8");
  });

  afterEach(async () => {
    writeFileSync(stackPath(), stackFile);
    await importState(deployedState);
  });

  describe("removing adopt", () => {
    let preview: PreviewJson;
    before(async () => {
      ws.writeStack("t", config({}, false));
      preview = await ws.preview("t");
    });

    it("fails the preview with the config path; no new CA is planned", () => {
      assert.notEqual(preview.exitCode, 0, "the preview fails");
      assert.match(errors(preview), /clusters\[0\]\.adopt\.ca: generation 1 of ca is the adopted CA/);
      assert.deepEqual(
        changedSteps(preview).filter((s) => /::i-ca-(key|cert)$/.test(s)),
        [],
      );
    });

    it("reports the config error as its message alone, with no stack trace (the SDK's inspect of one costs minutes)", () => {
      assert.match(errors(preview), /^(error: )?kube-pki:clusters is invalid \(1 problem\):\n {2}- clusters\[0\]\.adopt\.ca: /m);
      assert.doesNotMatch(errors(preview), /^\s+at /m);
    });
  });

  it("a stack with no recorded rotation (deployed before rotations were recorded) accepts only add", async () => {
    const state = JSON.parse(deployedState);
    delete state.deployment.resources.find((r: any) => r.type === "pulumi:pulumi:Stack").outputs.rotation;
    await importState(state);
    ws.writeStack("t", config({ rotation: { ca: { generation: 2, phase: "drop" } } }));
    const preview = await ws.preview("t");
    assert.notEqual(preview.exitCode, 0, "the preview fails");
    assert.match(errors(preview), /clusters\[0\]\.rotation\.ca\.phase: a rotation starts with add, not drop/);
  });

  it("a failed rollout does not record its rotation phase; the next up repeats the phase and records it", async () => {
    ws.writeStack("t", config({ rotation: { ca: { generation: 2, phase: "add" } } }));
    // The worker's pki/ writable by others: the node program refuses to install there, so w-1's ca push fails.
    const pki = join(ws.dir, "out/i/w-1/etc/kubernetes/pki");
    chmodSync(pki, 0o777);
    const failed = await ws.up("t", [], { checkpoints: true });
    assert.notEqual(failed.code, 0, describeRun(failed));
    assert.match(failed.stdout + failed.stderr, /writable by others/);
    assert.deepEqual((await recordedRotation()).i, {}, "no phase recorded");
    chmodSync(pki, 0o755);
    const retry = await ws.up("t", [], { checkpoints: true });
    assert.equal(retry.code, 0, describeRun(retry));
    assert.deepEqual((await recordedRotation()).i, { ca: { generation: 2, phase: "add" } });
  });
});
