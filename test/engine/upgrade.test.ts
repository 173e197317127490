// Users upgrade deployed stacks: a stack that the previous release deployed (the real engine, its state, its files)
// and that this code then previews must show no change at all: no new URN (a renamed or re-typed component without
// its alias would delete and re-create everything under it), no re-issued certificate, no re-pushed file.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { changedSteps, describeRun, PreviewJson, REPO, Workspace } from "./workspace";

/**
 * The releases a deployed stack may come from (`git archive` of each deploys it), with what this code's preview may
 * change there. Move them forward with each release.
 * - the last landed release (a5554f7): its node program changed since (issue 19), so each push and restart command
 *   re-runs once (the same files: nothing is installed or restarted) and nothing else;
 * - the last commit before the restructuring of issue 20 (7cbda03): nothing at all.
 */
const RELEASES = [
  { commit: "a5554f7", label: "the last landed release", mayChange: /^update command:(local|remote):Command::/ },
  { commit: "7cbda03", label: "the release before the restructuring", mayChange: undefined },
];

/** The dev stack (local delivery, 3 control-plane nodes and 2 workers) with protected CAs and a user in two groups. */
function upgradedClusters(): unknown[] {
  const [dev] = (parse(readFileSync(join(REPO, "stacks/Pulumi.dev.yaml"), "utf8")) as any).config["kube-pki:clusters"];
  return [{ ...dev, protectCAs: true, users: [{ name: "alice", groups: ["developers", "ops"] }] }];
}

for (const release of RELEASES) {
  describe(`engine: a stack deployed by ${release.label} (${release.commit}), previewed with this code`, function () {
    this.timeout(900_000);
    let preview: PreviewJson;

    before(async () => {
      const ws = await Workspace.create("upgrade", { lab: upgradedClusters() }, { commit: release.commit });
      await ws.init("lab");
      const r = await ws.up("lab");
      assert.equal(r.code, 0, describeRun(r));
      ws.useCurrentProject();
      preview = await ws.preview("lab");
    });

    it("keeps every URN, certificate and key: no create, replace or delete, nothing but what the release note says", () => {
      assert.equal(preview.exitCode, 0, JSON.stringify(preview.diagnostics));
      assert.deepEqual(
        changedSteps(preview).filter((s) => !release.mayChange?.test(s)),
        [],
      );
    });
  });
}
