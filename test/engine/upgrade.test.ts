// Users upgrade deployed stacks: a stack that the previous release deployed (the real engine, its state, its files)
// and that this code then previews must show no change at all: no new URN (a renamed or re-typed component without
// its alias would delete and re-create everything under it), no re-issued certificate, no re-pushed file.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { renewalSpreadHours } from "../../components/model/catalog";
import { DEFAULTS } from "../../components/model/config";
import { changedSteps, describeRun, PreviewJson, PreviewStep, REPO, typeAndName, Workspace } from "./workspace";

/**
 * The releases a deployed stack may come from (`git archive` of each deploys it), with what this code's preview may
 * change there. Move them forward with each release.
 * - the last landed release (a5554f7): its node program changed since (issue 19), so each push and restart command
 *   re-runs once (the same files: nothing is installed or restarted) and nothing else;
 * - the last commit before the restructuring of issue 20 (7cbda03): nothing at all.
 * From both, the renewal spread (issue 21) moves each per-node leaf's early renewal later by its node's offset: an
 * in-place update of that `earlyRenewalHours` and nothing else (RENEWAL_SPREAD), no key or certificate re-issued;
 * and the components that wrapped each certificate and kubeconfig are deleted (WRAPPER_GONE).
 */
const RELEASES: { commit: string; label: string; mayChange?: RegExp; spreadArrives?: boolean; upAfter?: boolean }[] = [
  { commit: "a5554f7", label: "the last landed release", mayChange: /^update command:(local|remote):Command::/, spreadArrives: true },
  // The node program changed since (the approver's /healthz gate): its digest is in every push's fixed command, so each
  // push runs once more, re-installing the same files; no key, certificate or URN changes.
  {
    commit: "7cbda03",
    label: "the release before the restructuring",
    mayChange: /^update command:(local|remote):Command::/,
    spreadArrives: true,
  },
  // Its ClusterPki has the type token of today (the two above have the former one): the other URN of each wrapper.
  // Also applied with `up`, once, so the engine's own delete of the wrappers is proven, not only planned. Its node
  // program changed since (an install checks each directory once: the join cache's commit), so each push runs once
  // more, re-installing the same files.
  {
    commit: "32d858b",
    label: "the last commit with certificate wrappers",
    mayChange: /^update command:(local|remote):Command::/,
    upAfter: true,
  },
];

const CERT = "tls:index/locallySignedCert:LocallySignedCert";
/**
 * Issue 21: a certificate's key, CSR and certificate and a kubeconfig's client certificate are registered directly
 * below the cluster's ClusterPki, with aliases to their URNs below the wrapper components a deployed stack has
 * (kube-pki:pki:Certificate, and kube-pki:pki:Kubeconfig around one): they stay as they are ("same"), and each wrapper,
 * which nothing is below any more, is deleted. Deleting a component does nothing (it has no provider).
 */
const WRAPPER_GONE = /^delete kube-pki:pki:(Certificate|Kubeconfig)::/;
const WRAPPER_TYPE = /^kube-pki:pki:(Certificate|Kubeconfig)$/;
const TLS_RESOURCES = /^tls:|GroupsCertRequest$/;
/** An in-place update of a leaf certificate's earlyRenewalHours alone, later by less than its node's spread. */
const RENEWAL_SPREAD = (s: PreviewStep) =>
  s.op === "update" &&
  s.newState?.type === CERT &&
  JSON.stringify(s.diffReasons) === JSON.stringify(["earlyRenewalHours"]) &&
  (s.newState.inputs?.earlyRenewalHours as number) > (s.oldState?.inputs?.earlyRenewalHours as number) &&
  (s.newState.inputs?.earlyRenewalHours as number) < 2 * (s.oldState?.inputs?.earlyRenewalHours as number);

/**
 * The dev stack (local delivery) with protected CAs and a user in two groups, cut to one node of each kind: the init
 * node (cp-1), a joining control-plane node (cp-2) and a worker (worker-1). A node's resources are named and built by
 * its kind, so dev's cp-3 and worker-2 would add URNs of the same patterns, and engine time to each release's deploy.
 */
function upgradedClusters(): unknown[] {
  const [dev] = (parse(readFileSync(join(REPO, "stacks/Pulumi.dev.yaml"), "utf8")) as any).config["kube-pki:clusters"];
  const nodes = ["cp-1", "cp-2", "worker-1"].map((name) => dev.nodes.find((n: { name: string }) => n.name === name));
  return [{ ...dev, nodes, protectCAs: true, users: [{ name: "alice", groups: ["developers", "ops"] }] }];
}

for (const release of RELEASES) {
  describe(`engine: a stack deployed by ${release.label} (${release.commit}), previewed with this code`, function () {
    this.timeout(900_000);
    let preview: PreviewJson;
    let ws: Workspace;
    /** The state as the release left it. */
    let deployed: any;

    before(async () => {
      ws = await Workspace.create("upgrade", { lab: upgradedClusters() }, { commit: release.commit });
      await ws.init("lab");
      const r = await ws.up("lab");
      assert.equal(r.code, 0, describeRun(r));
      deployed = await ws.exportState("lab");
      ws.useCurrentProject();
      preview = await ws.preview("lab");
    });

    it("keeps every certificate and key: no create or replace, no delete but the wrappers', nothing but what the release note says", () => {
      assert.equal(preview.exitCode, 0, JSON.stringify(preview.diagnostics));
      assert.deepEqual(
        changedSteps({ ...preview, steps: preview.steps.filter((s) => !RENEWAL_SPREAD(s)) }).filter(
          (s) => !release.mayChange?.test(s) && !WRAPPER_GONE.test(s),
        ),
        [],
      );
    });

    it("deletes exactly the certificate and kubeconfig wrappers the deployed stack has, every one of them", () => {
      const wrappers = (deployed.deployment.resources as { urn: string; type: string }[])
        .filter((r) => WRAPPER_TYPE.test(r.type))
        .map((r) => `delete ${typeAndName(r.urn)}`)
        .sort();
      assert.ok(wrappers.length > 0);
      assert.deepEqual(
        changedSteps(preview).filter((s) => s.startsWith("delete ")),
        wrappers,
      );
    });

    if (release.upAfter)
      it("an up with checkpoints applies it: the wrappers leave the state, every key and certificate stays, the next preview is empty", async () => {
        const tls = (state: any) =>
          (state.deployment.resources as { urn: string; type: string; id: string }[])
            .filter((r) => TLS_RESOURCES.test(r.type))
            .map((r) => `${typeAndName(r.urn)} ${r.id}`)
            .sort();
        const r = await ws.up("lab", [], { checkpoints: true });
        assert.equal(r.code, 0, describeRun(r));
        const after = await ws.exportState("lab");
        assert.deepEqual(tls(after), tls(deployed));
        assert.deepEqual(
          after.deployment.resources.filter((x: { type: string }) => WRAPPER_TYPE.test(x.type)),
          [],
        );
        assert.deepEqual(changedSteps(await ws.preview("lab")), []);
      });

    if (release.spreadArrives)
      it("moves every per-node leaf's early renewal by its node's offset, in place, and no other certificate's", () => {
        const dev = upgradedClusters()[0] as { name: string; nodes: { name: string }[] };
        const validity = { leafHours: DEFAULTS.leafHours, earlyRenewalHours: DEFAULTS.earlyRenewalHours };
        const offset = (urn: string) =>
          dev.nodes
            .filter((n) => urn.endsWith(`-${n.name}-cert`) || urn.endsWith(`-${n.name}-client-cert`))
            .map((n) => renewalSpreadHours({ name: dev.name, validity } as never, n.name))[0] ?? 0;
        const want = preview.steps
          .filter((s) => s.oldState?.type === CERT && offset(s.urn) > 0)
          .map((s) => `${typeAndName(s.urn)} ${DEFAULTS.earlyRenewalHours + offset(s.urn)}`);
        assert.ok(want.length > 0);
        const got = preview.steps.filter(RENEWAL_SPREAD).map((s) => `${typeAndName(s.urn)} ${s.newState!.inputs!.earlyRenewalHours}`);
        assert.deepEqual(got.sort(), want.sort());
      });
  });
}
