// Resource names are part of a deployed stack's URNs: every name the program registers for a 3+2 cluster (users, trust
// roots at generations 1 to 3, SSH delivery with every restart, publication, protectCAs) and a 1+1 cluster whose name
// and node name can be read as the other's (`prod` + `eu-1` against `prod-eu`) is the table below, captured from the
// program before components/model/names.ts existed; buildName makes each of them from the plans, and parseName reads each
// back, one kind per case.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
  BOOTSTRAP_CHILDREN,
  buildName,
  ClusterPlan,
  defineStack,
  parseName,
  planClusters,
  PUBLICATION_CHILDREN,
  ResourceName,
  splitCatalogId,
  TLS_CHILDREN,
  TRUST_ROOTS,
  trustPlan,
} from "../components";
import { evaluate } from "../emulator/evaluate";
import { clusterConfig } from "./support";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc0d2kaJ1rjbG5dNl5I6vvKyGFDDp0Q4z0FOh1lPdQ7";
const TODAY: readonly string[] = JSON.parse(readFileSync(join(__dirname, "fixtures/resource-names.json"), "utf8"));

function clusters(): unknown[] {
  const big = clusterConfig("prod-eu", 3, 2, {
    protectCAs: true,
    caKeys: "control-plane",
    delivery: { mode: "ssh" },
    publication: { kubeadmConfig: true, managementCluster: { namespace: "capi-system" } },
    users: [
      { name: "alice", groups: ["dev"] },
      { name: "bob.ops", groups: ["dev", "ops"] },
    ],
    rotation: {
      ca: { generation: 3, phase: "switch" },
      frontProxyCa: { generation: 2, phase: "add" },
      etcdCa: { generation: 2, phase: "drop" },
      serviceAccount: { generation: 2, phase: "switch" },
    },
  });
  big.nodes = big.nodes.map((n: any) => ({ ...n, ssh: { hostKey: HOST_KEY } }));
  const small = clusterConfig("prod", 1, 1, { delivery: { mode: "local" } });
  small.nodes = [
    { name: "eu-1", role: "control-plane", address: "10.2.0.1" },
    { name: "w-1", role: "worker", address: "10.2.0.2" },
  ];
  return [big, small];
}

const env = {
  stack: "names",
  secret: (k: string) => (k === "sshPrivateKey" || k === "managementKubeconfig" ? pulumi.secret("offline: not used") : undefined),
};
/** The live kubeadm-config the publication patches. */
const reads = {
  read: async () => ({
    metadata: { name: "kubeadm-config", namespace: "kube-system" },
    data: { ClusterConfiguration: "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n" },
  }),
};

/** What each plan registers, from the catalog, the trust plans, the delivery plan and the config (not from names). */
function registered({ catalog, delivery }: ClusterPlan): ResourceName[] {
  const { cluster } = catalog;
  const c = cluster.name;
  const parts = <P>(ps: readonly P[]) => [undefined, ...ps].map((part) => (part === undefined ? {} : { part }));
  // A key pair's tls resources only: their stems (the components that wrapped them until issue 21) are not registered.
  const children = TLS_CHILDREN.map((part) => ({ part }));
  const client = TLS_CHILDREN.map((p) => ({ part: `client-${p}` as const }));
  const generations = (root: (typeof TRUST_ROOTS)[number]) => trustPlan(root, cluster.rotation[root], cluster.adopt[root]).generations;
  const publication = [
    ...(cluster.publication.kubeadmConfig ? (["workload", "kubeadm-config"] as const) : []),
    ...(cluster.publication.managementCluster ? PUBLICATION_CHILDREN.filter((p) => p === "management" || p.startsWith("capi-")) : []),
  ];
  return [
    { kind: "pki", cluster: c },
    ...catalog.certificates.flatMap((cert): ResourceName[] => {
      const { name, node, user } = splitCatalogId(cert.id);
      if (cert.kind === "ca") {
        return generations(cert.id as "ca").flatMap((generation) =>
          parts(["key", "cert"] as const).map((p) => ({ kind: "ca" as const, cluster: c, ca: cert.id as "ca", generation, ...p })),
        );
      }
      if (cert.kind === "leaf") return children.map((p) => ({ kind: "leaf", cluster: c, certificate: name, node: node!, ...p }));
      return client.map((p) =>
        user
          ? { kind: "user", cluster: c, user, ...p }
          : { kind: "kubeconfig", cluster: c, kubeconfig: name, ...(node ? { node } : {}), ...p },
      );
    }),
    ...generations("sa").flatMap((generation) =>
      parts(["key"] as const).map((p) => ({ kind: "service-account" as const, cluster: c, generation, ...p })),
    ),
    ...(cluster.delivery.mode === "none" ? [] : [{ kind: "delivery" as const, cluster: c }]),
    ...delivery.tools.map((t) => ({ kind: "tools" as const, cluster: c, node: t.node.name })),
    ...delivery.pushes.map((p) => ({ kind: "push" as const, cluster: c, node: p.node.name, bundle: splitCatalogId(p.bundle.id).name })),
    ...delivery.restarts.map((r) => ({ kind: "restart" as const, cluster: c, node: r.node.name, reader: r.reader })),
    ...(publication.length ? [{ kind: "publication" as const, cluster: c }] : []),
    ...publication.map((child) => ({ kind: "publication" as const, cluster: c, child })),
    ...(cluster.protectCAs ? [{ kind: "destroy-guard" as const, cluster: c }] : []),
  ];
}

describe("resource names (components/model/names.ts)", () => {
  const plans = planClusters(clusters());
  const all = plans.flatMap(registered);

  it("the program registers exactly today's resource names", async () => {
    const ev = await evaluate(() => defineStack(planClusters(clusters()), env), { stack: "names", extra: reads });
    assert.deepEqual(ev.failures, []);
    assert.deepEqual(ev.resources.map((r) => r.name).sort(), TODAY);
  });

  it("buildName makes each of them, and nothing else, from the plans", () => {
    assert.deepEqual(all.map(buildName).sort(), TODAY);
  });

  // Kinds the stack above does not register: a push its plans no longer have, the publication's read of kubeadm-config,
  // TLS bootstrap's objects.
  const extra: ResourceName[] = [
    { kind: "unplanned-push", owner: "gone-w-9", bundle: "kubelet-conf" },
    { kind: "publication", cluster: "prod-eu", child: "kubeadm-config-current" },
    // TLS bootstrap's objects (workers: bootstrap), which the stack above (managed workers) does not have.
    { kind: "cluster-bootstrap", cluster: "prod-eu" },
    ...BOOTSTRAP_CHILDREN.map((child) => ({ kind: "cluster-bootstrap" as const, cluster: "prod", child })),
    // A push and a restart a node no longer has are still read (a worker that was a control-plane node).
    { kind: "push", cluster: "prod-eu", node: "w-1", bundle: "apiserver" },
    { kind: "restart", cluster: "prod", node: "w-1", reader: "etcd" },
    // The stems the cert diff groups a key pair's resources by (a leaf, a kubeconfig, its client certificate, a user's):
    // the names of the components that wrapped them until issue 21, alive in deployed stacks' aliases.
    ...all.flatMap((x): ResourceName[] => {
      if (x.kind === "leaf" && x.part === "key") {
        const { part: _part, ...stem } = x;
        return [stem];
      }
      if ((x.kind === "kubeconfig" || x.kind === "user") && x.part === "client-key") {
        const { part: _part, ...stem } = x;
        return [stem, { ...stem, part: "client" }];
      }
      return [];
    }),
  ];
  const kinds = [...new Set([...all, ...extra].map((x) => x.kind))];
  for (const kind of kinds) {
    it(`parseName(buildName(x)) is x: ${kind}`, () => {
      const xs = [...all, ...extra].filter((x) => x.kind === kind);
      for (const x of xs) assert.deepEqual(parseName(buildName(x), plans), x, buildName(x));
    });
  }

  it("names kube-pki does not make are not read as its own", () => {
    for (const name of [
      "prod-eu-ca-g1",
      "prod-eu-ca-g02",
      "prod-eu-sa-g2-cert",
      "prod-eu-apiserver-w-9",
      "other-ca",
      "prod-eu-1-tools-key",
    ]) {
      assert.equal(parseName(name, plans), undefined, name);
    }
  });
});
