// The join files' shard pushes under the mock runtime: what a shard push keeps in the state (its inputs; the command
// provider keeps them again as outputs) must not grow with its members (issue 21: the state of 10,000 workers).
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { planClusters } from "../components";
import { JoinDelivery } from "../components/delivery/joinDelivery";
import { joinShards } from "../components/model/bootstrap";
import { evaluate, Evaluation } from "../emulator/evaluate";
import { clusterConfig, find } from "./support";
import { makeTempDir } from "./e2e/proc";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKpQ6SxQ0Xn1+D7K0YV0hJw5mH1lO3R0fJc1m3m5hY9x";

/** A bootstrap cluster of 3 + 100 SSH workers, as the program plans it. */
function sshCluster() {
  const raw = clusterConfig("b", 3, 100, {
    workers: "bootstrap",
    caKeys: "control-plane",
    delivery: { mode: "ssh", sshAuth: "agent" },
  });
  raw.nodes = raw.nodes.map((n: any) => ({ ...n, ssh: { host: n.address, hostKey: HOST_KEY, root: `/srv/nodes/${n.name}` } }));
  return planClusters([raw])[0]!.catalog.cluster;
}

describe("join files: a shard push's state", () => {
  let cache: string | undefined;
  before(() => {
    cache = process.env.KUBE_PKI_CACHE;
    process.env.KUBE_PKI_CACHE = makeTempDir("join-cache");
  });
  after(() => {
    if (cache === undefined) delete process.env.KUBE_PKI_CACHE;
    else process.env.KUBE_PKI_CACHE = cache;
  });

  const cluster = sshCluster();
  const workers = cluster.nodes.filter((n) => n.role === "worker");
  /** The pushes of a shard of workers [0, a) and, when b > 0, one of the next b. */
  const pushes = (a: number, b: number, prior?: Evaluation<unknown>) =>
    evaluate(
      () =>
        new JoinDelivery("b-join", {
          cluster,
          shards: [
            { resourceName: "b-join-00", index: 0, members: workers.slice(0, a) },
            { resourceName: "b-join-01", index: 1, members: workers.slice(a, a + b) },
          ].filter((shard) => shard.members.length > 0),
          bundle: pulumi.secret("commit 0\n"),
        }),
      { prior },
    );

  it("is the same size for a shard of 10 SSH workers and one of 100", async () => {
    const bytes = async (members: number) =>
      JSON.stringify(find(await pushes(members, 0), "command:local:Command", "b-join-00").inputs).length;
    assert.equal(await bytes(100), await bytes(10));
  });

  it("a worker added to a shard updates that shard's push alone", async () => {
    const ev = await pushes(10, 10, await pushes(10, 9));
    const ops = ev.resources.filter((r) => r.type === "command:local:Command").map((r) => `${r.name} ${r.op} ${r.changedKeys.join(",")}`);
    assert.deepEqual(ops, ["b-join-00 same ", "b-join-01 update stdin"]);
  });

  /**
   * Registers every shard of the 100 workers as the program does, with V8's default stack limit (the emulator turns
   * stacks off for the whole program, the real program has them), counting the stacks formatted with frames: the SDK
   * formats one per resource for its source position, and one per promise it makes (four per property) unless stacks
   * are off. `members` replaces the first shard's members.
   */
  const stacksWhileRegistering = async (members?: typeof workers) => {
    const shards = joinShards(cluster).map((s, i) => (i === 0 && members ? { ...s, members } : s));
    let stacks = 0;
    let limitAfter: number | undefined;
    let error: unknown;
    await evaluate(() => {
      const [limit, prepare] = [Error.stackTraceLimit, Error.prepareStackTrace];
      Error.stackTraceLimit = 10;
      Error.prepareStackTrace = (e, sites) => {
        if (sites.length > 0) stacks++;
        return prepare ? prepare(e, sites) : String(e);
      };
      try {
        new JoinDelivery("b-join", { cluster, shards, bundle: pulumi.secret("commit 0\n") });
      } catch (e) {
        error = e;
      } finally {
        limitAfter = Error.stackTraceLimit;
        [Error.stackTraceLimit, Error.prepareStackTrace] = [limit, prepare];
      }
    });
    return { shards: shards.length, stacks, limitAfter, error };
  };

  it("formats one stack per shard push while registering them, its source position, not one per promise", async () => {
    const { shards, stacks } = await stacksWhileRegistering();
    assert.ok(shards > 40, `${shards} shards`);
    // Each push's source position, and the component's own registration before them (its position and promises: 7).
    assert.ok(stacks <= shards + 8, `${stacks} stacks formatted for ${shards} shard pushes`);
  });

  it("restores the stack limit when a shard push cannot be registered", async () => {
    const { error, limitAfter } = await stacksWhileRegistering([{ ...workers[0]!, ssh: { ...workers[0]!.ssh!, root: "/srv/a b" } }]);
    assert.match(String(error), /is not a plain shell word/);
    assert.equal(limitAfter, 10);
  });
});
