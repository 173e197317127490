// Renewal spread (issue 21, item 4): leaves issued on one day must not all renew on one day. Each node's leaves get
// earlyRenewalHours = E + a per-node offset in [0, S), S = min(E, leafHours/2 - E), from a hash of cluster/node; the
// cluster-scoped leaves keep E. Checked on the expanded catalog, what the program registers and the inventory shows.
import assert from "node:assert/strict";
import { buildCatalog, validateClusters } from "../components";
import { CertificateSpec } from "../components/model/catalog";
import { clusterConfig } from "./support";

const catalogOf = (raw: unknown) => buildCatalog(validateClusters([raw])[0]!);
const perNode = (certs: readonly CertificateSpec[]) => certs.filter((c) => c.kind !== "ca" && c.node !== undefined);
/** The offset of each node: its leaves' earlyRenewalHours minus E (all of a node's leaves must agree). */
function offsets(certs: readonly CertificateSpec[], early: number): Map<string, number> {
  const byNode = new Map<string, number>();
  for (const c of perNode(certs)) {
    const offset = c.earlyRenewalHours - early;
    assert.equal(offset, byNode.get(c.node!) ?? offset, `${c.id}: another offset than the node's other leaves`);
    byNode.set(c.node!, offset);
  }
  return byNode;
}

describe("renewal spread of per-node leaves", () => {
  // leafHours, earlyRenewalHours, the spread S they give.
  const TABLE: [number, number, number][] = [
    [8760, 720, 720], // kubeadm's year, the default E: renew 30 to 60 days before expiry
    [8760, 4000, 380], // a long E: never renew before half the life (4380 h)
    [100, 30, 20],
    [48, 10, 10],
    [100, 50, 0], // E is already half the life
    [8760, 0, 0], // no early renewal asked, none added
  ];
  for (const [leafHours, early, span] of TABLE) {
    it(`leafHours ${leafHours}, earlyRenewalHours ${early}: offsets in [0, ${span}), never before half the life`, () => {
      const got = [
        ...offsets(
          catalogOf(clusterConfig("c", 3, 300, { validity: { leafHours, earlyRenewalHours: early } })).certificates,
          early,
        ).values(),
      ];
      assert.equal(got.length, 303);
      if (span === 0) return assert.deepEqual(new Set(got), new Set([0]));
      for (const o of got) assert.ok(Number.isInteger(o) && o >= 0 && o < span, `offset ${o}`);
      assert.ok(early + Math.max(...got) <= Math.max(early, Math.floor(leafHours / 2)));
      // Uniform: the lowest and highest tenth of the window both get nodes.
      assert.ok(Math.min(...got) < span / 10 && Math.max(...got) >= (9 * span) / 10, `${Math.min(...got)}..${Math.max(...got)}`);
    });
  }

  it("cluster-scoped leaves and users keep earlyRenewalHours; CAs keep 0", () => {
    const raw = clusterConfig("c", 3, 2, { users: [{ name: "alice", groups: ["dev"] }] });
    const certs = catalogOf(raw).certificates;
    const scoped = certs.filter((c) => c.node === undefined);
    assert.deepEqual(scoped.map((c) => `${c.id} ${c.earlyRenewalHours}`).sort(), [
      "admin.conf 720",
      "ca 0",
      "etcd-ca 0",
      "front-proxy-ca 0",
      "kube-proxy.conf 720",
      "super-admin.conf 720",
      "user:alice 720",
    ]);
  });

  it("a control-plane node's eleven leaves and kubeconfigs share one offset (one restart per node)", () => {
    const certs = catalogOf(clusterConfig("c", 3, 0)).certificates.filter((c) => c.node === "cp-2" && c.kind !== "ca");
    assert.equal(certs.length, 11);
    assert.equal(new Set(certs.map((c) => c.earlyRenewalHours)).size, 1);
    assert.ok(certs[0]!.earlyRenewalHours > 720, "cp-2 of cluster c has a non-zero offset");
  });

  it("an offset depends only on its cluster and node: adding workers changes no other node's", () => {
    const small = offsets(catalogOf(clusterConfig("c", 3, 10)).certificates, 720);
    const big = offsets(catalogOf(clusterConfig("c", 3, 500)).certificates, 720);
    for (const [node, o] of small) assert.equal(big.get(node), o, node);
  });

  it("two clusters with the same node names renew on different days", () => {
    const a = offsets(catalogOf(clusterConfig("a", 3, 50)).certificates, 720);
    const b = offsets(catalogOf(clusterConfig("b", 3, 50)).certificates, 720);
    const sameDay = [...a].filter(([node, o]) => Math.floor(o / 24) === Math.floor(b.get(node)! / 24)).length;
    assert.ok(sameDay < 10, `${sameDay} of 53 nodes on the same day`);
  });

  it("3 + 1,000 nodes: no day of the 30-day window renews more than 5 % of the nodes", () => {
    const days = new Map<number, number>();
    for (const o of offsets(catalogOf(clusterConfig("b", 3, 1000)).certificates, 720).values())
      days.set(Math.floor(o / 24), (days.get(Math.floor(o / 24)) ?? 0) + 1);
    assert.equal(days.size, 30);
    assert.ok(Math.max(...days.values()) <= 50, `worst day: ${Math.max(...days.values())} nodes`);
  });
});
