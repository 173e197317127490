// Users upgrade deployed stacks: a stack that the previous release deployed (the real engine, its state, its files)
// and that this code then previews must show no change at all: no new URN (a renamed or re-typed component without
// its alias would delete and re-create everything under it), no re-issued certificate, no re-pushed file.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { changedSteps, describeRun, PreviewJson, REPO, Workspace } from "./workspace";

/** The commit of the previous release: `git archive` of it deploys the stack. Move it forward with each release. */
const PREVIOUS_RELEASE = "200e84c2f5cd51e4f29cdc84c2d977df53d88751";

/** The dev stack (local delivery, 3 control-plane nodes and 2 workers) with protected CAs and a user in two groups. */
function upgradedClusters(): unknown[] {
  const [dev] = (parse(readFileSync(join(REPO, "stacks/Pulumi.dev.yaml"), "utf8")) as any).config["kube-pki:clusters"];
  return [{ ...dev, protectCAs: true, users: [{ name: "alice", groups: ["developers", "ops"] }] }];
}

describe("engine: a stack deployed by the previous release, previewed with this code", function () {
  this.timeout(900_000);
  let preview: PreviewJson;

  before(async () => {
    const ws = await Workspace.create("upgrade", { lab: upgradedClusters() }, { commit: PREVIOUS_RELEASE });
    await ws.init("lab");
    const r = await ws.up("lab");
    assert.equal(r.code, 0, describeRun(r));
    ws.useCurrentProject();
    preview = await ws.preview("lab");
  });

  it("changes nothing", () => {
    assert.equal(preview.exitCode, 0, JSON.stringify(preview.diagnostics));
    assert.deepEqual(changedSteps(preview), []);
  });
});
