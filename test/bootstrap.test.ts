// workers: bootstrap, the pure model: what the catalog gives workers, the token windows, the join material as kubeadm
// writes it, the stable shards, and the CA drop's wait; and the stack's refusal of an early drop.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { makeTempDir } from "./e2e/proc";
import * as pulumi from "@pulumi/pulumi";
import { buildCatalog, defineStack, planClusters, validateClusters } from "../components";
import { bootstrapKubeconfig, caCertHash, dropWaitProblem, joinCommand, joinShards, tokenWindows } from "../components/model/bootstrap";
import { parseName } from "../components/model/names";
import { recordedRotation } from "../components/model/trust";
import { evaluate } from "../emulator/evaluate";
import { offlineReport } from "../offline/certDiff";
import { clusterConfig, opensslCa } from "./support";

const bootstrap = (workers: number, extra: Record<string, unknown> = {}) =>
  clusterConfig("b", 3, workers, { workers: "bootstrap", caKeys: "control-plane", delivery: { mode: "local" }, ...extra });
const spec = (raw: unknown) => validateClusters([raw])[0]!;
const HOUR = 3_600_000;

describe("workers: bootstrap: the catalog", () => {
  it("gives workers no certificate, kubeconfig or bundle", () => {
    const catalog = buildCatalog(spec(bootstrap(2)));
    assert.deepEqual(
      catalog.certificates.filter((c) => c.node?.startsWith("w-")).map((c) => c.id),
      [],
    );
    assert.deepEqual(
      catalog.bundles.filter((b) => b.node.startsWith("w-")).map((b) => b.id),
      [],
    );
  });

  it("keeps every control-plane node's kubelet.conf and kubelet serving certificate", () => {
    const ids = buildCatalog(spec(bootstrap(2))).certificates.map((c) => c.id);
    for (const n of ["cp-1", "cp-2", "cp-3"]) {
      assert.ok(ids.includes(`kubelet.conf@${n}`) && ids.includes(`kubelet-serving@${n}`), n);
    }
  });

  it("managed workers keep their kubelet.conf and serving certificate (the default)", () => {
    const ids = buildCatalog(spec(clusterConfig("m", 1, 1))).certificates.map((c) => c.id);
    assert.ok(ids.includes("kubelet.conf@w-1") && ids.includes("kubelet-serving@w-1"));
  });
});

describe("workers: bootstrap: token windows", () => {
  const cluster = { name: "b", bootstrap: { tokenHours: 168, signingHours: 72 } };
  const start = new Date(Math.floor(Date.parse("2026-12-07T12:00:00Z") / (84 * HOUR)) * 84 * HOUR);

  it("keeps the current window's token and the previous one, the current last", () => {
    const w = tokenWindows(cluster, new Date(start.getTime() + HOUR));
    assert.deepEqual(
      w.kept.map((k) => k.window),
      [w.current.window - 1, w.current.window],
    );
  });

  it("a token expires tokenHours after its window starts", () => {
    const { current } = tokenWindows(cluster, new Date(start.getTime() + HOUR));
    assert.equal(Date.parse(current.expiresAt) - Date.parse(current.startsAt), 168 * HOUR);
  });

  it("the same window gives the same ids at any time within it", () => {
    const a = tokenWindows(cluster, start);
    const b = tokenWindows(cluster, new Date(start.getTime() + 84 * HOUR - 1));
    assert.deepEqual(b.kept, a.kept);
  });

  it("half a lifetime later the current token becomes the previous one and a new one starts", () => {
    const a = tokenWindows(cluster, start);
    const b = tokenWindows(cluster, new Date(start.getTime() + 84 * HOUR));
    assert.deepEqual(b.kept[0], a.current);
    assert.ok(!a.kept.some((k) => k.id === b.current.id));
  });

  it("ids are kubeadm's [a-z0-9]{6} and differ between clusters", () => {
    const a = tokenWindows(cluster, start).current.id;
    const b = tokenWindows({ ...cluster, name: "c" }, start).current.id;
    assert.match(a, /^[a-z0-9]{6}$/);
    assert.notEqual(a, b);
  });
});

describe("workers: bootstrap: join material", () => {
  const ca = opensslCa("kubernetes").cert;

  it("--discovery-token-ca-cert-hash is kubeadm's documented openssl pipeline (sha256 of the DER public key)", () => {
    const pub = execFileSync("openssl", ["x509", "-pubkey", "-noout"], { input: ca });
    const der = execFileSync("openssl", ["pkey", "-pubin", "-outform", "der"], { input: pub });
    const hex = execFileSync("sha256sum", { input: der }).toString().split(" ")[0];
    assert.equal(caCertHash(ca), `sha256:${hex}`);
  });

  it("the join command lists one hash per CA of the bundle during a rotation", () => {
    const other = opensslCa("kubernetes").cert;
    assert.equal(
      joinCommand("https://api.b.example:6443", "abcdef.0123456789abcdef", ca + other),
      `kubeadm join api.b.example:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash ${caCertHash(ca)} ` +
        `--discovery-token-ca-cert-hash ${caCertHash(other)}`,
    );
  });

  it("the join command keeps an IPv6 endpoint in brackets", () => {
    assert.match(joinCommand("https://[fd00::1]:6443", "abcdef.0123456789abcdef", ca), /^kubeadm join \[fd00::1\]:6443 --token/);
  });

  it("bootstrap-kubelet.conf: kubeadm's user and context, the token, the CA as the path of the rotation-aware ca.crt", () => {
    const k = parse(bootstrapKubeconfig("kubernetes", "https://api.b.example:6443", "abcdef.0123456789abcdef"));
    assert.deepEqual(k.users, [{ name: "tls-bootstrap-token-user", user: { token: "abcdef.0123456789abcdef" } }]);
    assert.deepEqual(k.clusters, [
      { name: "kubernetes", cluster: { "certificate-authority": "/etc/kubernetes/pki/ca.crt", server: "https://api.b.example:6443" } },
    ]);
    assert.equal(k["current-context"], "tls-bootstrap-token-user@kubernetes");
  });

  it("bootstrap-kubelet.conf is a kubeconfig kubectl reads as written", () => {
    const file = join(makeTempDir("bootstrap-kubeconfig"), "bootstrap-kubelet.conf");
    writeFileSync(file, bootstrapKubeconfig("kubernetes", "https://api.b.example:6443", "abcdef.0123456789abcdef"));
    const out = execFileSync(join(toolchainBin(), "kubectl"), [
      "config",
      "view",
      "--raw",
      "-o",
      "jsonpath={.users[0].user.token} {.clusters[0].cluster.certificate-authority}",
      "--kubeconfig",
      file,
    ]).toString();
    assert.equal(out, "abcdef.0123456789abcdef /etc/kubernetes/pki/ca.crt");
  });
});

describe("workers: bootstrap: shards", () => {
  it("a new worker changes the members of its own shard only", () => {
    const before = joinShards(spec(bootstrap(300)));
    const after = joinShards(spec(bootstrap(301)));
    const members = (s: typeof before) => new Map(s.map((x) => [x.resourceName, x.members.map((m) => m.name).join(",")]));
    const a = members(before);
    const changed = [...members(after)].filter(([name, m]) => a.get(name) !== m).map(([name]) => name);
    assert.equal(changed.length, 1);
  });

  it("10,000 workers are at most 64 shards, each worker in exactly one", () => {
    const shards = joinShards(spec(bootstrap(10_000)));
    assert.ok(shards.length <= 64);
    assert.equal(new Set(shards.flatMap((s) => s.members.map((m) => m.name))).size, 10_000);
  });

  it("a cluster's shards are made once: the plan's name check and the stack share them", () => {
    const [plan] = planClusters([bootstrap(1_000)]);
    // The plan checked the shard push names already; the stack's call must not hash and sort 10,000 workers again.
    assert.equal(joinShards(plan!.catalog.cluster), joinShards(plan!.catalog.cluster));
  });

  it("no shard without delivery, or for managed workers", () => {
    assert.deepEqual(joinShards(spec(bootstrap(3, { delivery: { mode: "none" } }))), []);
    assert.deepEqual(joinShards(spec(clusterConfig("m", 1, 3, { delivery: { mode: "local" } }))), []);
  });

  it("workers from a workersFile make the same shards as the same workers listed in nodes", () => {
    const listed = bootstrap(300);
    const fromFile = { ...listed, nodes: listed.nodes.slice(0, 3), workersFile: "workers.json" };
    const shards = (raw: unknown, read?: (path: string) => unknown) =>
      JSON.stringify(joinShards(planClusters([raw], read)[0]!.catalog.cluster));
    assert.equal(
      shards(fromFile, () => listed.nodes.slice(3)),
      shards(listed),
    );
  });

  it("shard and token names are read back as what they are", () => {
    const plans = planClusters([bootstrap(3)]);
    assert.deepEqual(parseName(joinShards(plans[0]!.catalog.cluster)[0]!.resourceName, plans)?.kind, "join-shard");
    assert.deepEqual(parseName("b-bootstrap-token-abc123-secret", plans), {
      kind: "bootstrap-token",
      cluster: "b",
      id: "abc123",
      part: "secret",
    });
  });
});

describe("workers: bootstrap: the CA drop waits for the kubelet certificates of the old CA", () => {
  const switched = "2026-12-07T00:00:00Z";

  it("refuses drop within signingHours + 1 h of the recorded switch, naming the path and the time", () => {
    assert.match(
      dropWaitProblem("clusters[0].rotation.ca.phase", 72, switched, new Date(Date.parse(switched) + 72 * HOUR)) ?? "",
      /^clusters\[0\]\.rotation\.ca\.phase: drop of the cluster CA must wait until 2026-12-10T01:00:00\.000Z/,
    );
  });

  it("allows drop once signingHours + 1 h have passed", () => {
    assert.equal(dropWaitProblem("p", 72, switched, new Date(Date.parse(switched) + 73 * HOUR)), undefined);
  });

  it("refuses drop when the switch time was never recorded (a stack deployed before)", () => {
    assert.match(dropWaitProblem("p", 72, undefined, new Date()) ?? "", /has not recorded.*run pulumi up at phase switch once more/);
  });

  it("the recorded switch keeps its first time; a switch recorded without one gets this update's", () => {
    const now = new Date("2026-12-09T00:00:00Z");
    const sw = { generation: 2, phase: "switch" } as const;
    assert.equal(recordedRotation({ ca: sw }, { ca: { ...sw, switchedAt: switched } }, now).ca?.switchedAt, switched);
    assert.equal(recordedRotation({ ca: sw }, { ca: sw }, now).ca?.switchedAt, now.toISOString());
  });

  it("the stack refuses the early drop before registering anything", async () => {
    let error: unknown;
    const raw = bootstrap(1, { rotation: { ca: { generation: 2, phase: "drop" } } });
    const ev = await evaluate(
      () => {
        try {
          defineStack(planClusters([raw]), {
            stack: "t",
            secret: () => pulumi.secret("unused"),
            previousRotation: { b: { ca: { generation: 2, phase: "switch", switchedAt: switched } } },
            now: new Date(Date.parse(switched) + 10 * HOUR),
          });
        } catch (e) {
          error = e;
        }
      },
      { stack: "t" },
    );
    assert.match(String(error), /clusters\[0\]\.rotation\.ca\.phase: drop of the cluster CA must wait until/);
    assert.equal(ev.resources.length, 0);
  });
});

function toolchainBin(): string {
  return execFileSync("bash", [`${__dirname}/../scripts/toolchain.sh`, "--dir"])
    .toString()
    .trim();
}

describe("workers: bootstrap: the cert diff", () => {
  it("a new listed worker shows as one shard push naming it, and no certificate", async () => {
    const base = bootstrap(3);
    const head = bootstrap(4);
    const r = await offlineReport("t", [base], [head]);
    const shard = joinShards(spec(head)).find((s) => s.members.some((m) => m.name === "w-4"))!;
    assert.deepEqual(r.certificates, []);
    assert.deepEqual(
      r.bootstrap.filter((l) => l.includes("join files")),
      [
        `b: join files, shard ${String(shard.index).padStart(2, "0")}: ${joinShards(spec(base)).some((s) => s.index === shard.index) ? "push" : "first push"} to ${shard.members.map((m) => m.name).join(", ")}`,
      ],
    );
  });

  it("a new bootstrap cluster shows both kept tokens as made, with their expiry", async () => {
    const r = await offlineReport("t", undefined, [bootstrap(1)]);
    const tokens = r.bootstrap.filter((l) => l.includes("bootstrap token"));
    assert.equal(tokens.length, 2, r.bootstrap.join("\n"));
    assert.match(tokens[0]!, /^b: bootstrap token [a-z0-9]{6}: made, expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});
