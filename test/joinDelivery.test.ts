// The join files' shard pushes under the mock runtime: what a shard push keeps in the state (its inputs; the command
// provider keeps them again as outputs) must not grow with its members (issue 21: the state of 10,000 workers).
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { planClusters } from "../components";
import { JoinDelivery } from "../components/delivery/joinDelivery";
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
});
