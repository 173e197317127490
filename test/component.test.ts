// The KubePki component (components/package/), the stack program as one component for other Pulumi languages, under
// the mock runtime: the same resources as the stack program, all inside it, and a bad config refused with its paths
// before anything (the component itself included) is registered. test/engine/component.test.ts runs it for real.
import assert from "node:assert/strict";
import { evaluate } from "../emulator/evaluate";
import { defineStack, planClusters } from "../components";
import { KubePki } from "../components/package/kubePki";
import { clusterConfig } from "./support";

const typeAndName = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

describe("the KubePki component", () => {
  it("registers the stack program's resources for the same clusters, every one inside the component", async () => {
    const clusters = [clusterConfig("lab", 1, 1, { delivery: { mode: "local" } })];
    const program = await evaluate(() => defineStack(planClusters(clusters), { stack: "dev", plainSecret: () => undefined }));
    const component = await evaluate(() => new KubePki("pki", { clusters }), { stack: "dev" });
    const root = component.resources.find((r) => r.type === "kube-pki:index:KubePki")!;
    const inside = component.resources.filter((r) => r !== root && r.type !== "pulumi:pulumi:StackReference");
    assert.deepEqual(inside.map(typeAndName).sort(), program.resources.map(typeAndName).sort());
    const top = inside.filter((r) => !r.parent || r.parent.includes("pulumi:pulumi:Stack::"));
    assert.deepEqual(top, [], "no resource outside the component");
  });

  it("refuses a bad config naming its path, before registering anything", async () => {
    const bad = clusterConfig("lab", 1, 1);
    bad.nodes[1].address = "10.0.0.300";
    const ev = await evaluate(() => {
      try {
        new KubePki("pki", { clusters: [bad] });
        return "registered";
      } catch (e) {
        return (e as Error).message;
      }
    });
    assert.match(ev.result, /clusters\[0\]\.nodes\[1\]\.address/);
    assert.deepEqual(ev.resources.map(typeAndName), []);
  });
});
