// Blast radius: evaluate the program with config A, then with config B on top of A's state, and compute what
// `pulumi preview` would change (the tls provider's replace rules, propagated through the dependency graph by the
// evaluator: unchanged resources keep their outputs, replaced ones get new ones). Prints each changed set.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { changes, evaluate, Evaluation, isWrappedSecret, unwrapSecrets } from "../emulator/evaluate";
import { defineStack, deliveryPlan, planClusters, StackProgram } from "../components";
import { clusterConfig, runStack, T } from "./support";

function printChanges(title: string, ev: Evaluation<unknown>): ReturnType<typeof changes> {
  const list = changes(ev);
  console.log(`      ${title}: ${list.length} change(s)`);
  if (list.length <= 12) {
    for (const c of list)
      console.log(`        ${c.op.padEnd(7)} ${c.type.padEnd(45)} ${c.name}${c.keys.length ? `  [${c.keys.join(", ")}]` : ""}`);
  } else {
    const groups = new Map<string, number>();
    for (const c of list)
      groups.set(
        `${c.op.padEnd(7)} ${c.type.padEnd(45)} [${c.keys.join(", ")}]`,
        (groups.get(`${c.op.padEnd(7)} ${c.type.padEnd(45)} [${c.keys.join(", ")}]`) ?? 0) + 1,
      );
    for (const [k, n] of groups) console.log(`        ${String(n).padStart(3)} × ${k}`);
  }
  return list;
}

const sorted = (xs: string[]) => [...xs].sort();

describe("blast radius of config changes (what pulumi preview would change)", function () {
  let base: Evaluation<StackProgram>;
  const A = () => clusterConfig("t", 3, 2, { etcd: { peerCertSANs: [] } });

  before(async () => {
    base = await runStack([A()]);
  });

  it("evaluating the same config again changes nothing", async () => {
    const again = await runStack([A()], { prior: base });
    assert.deepEqual(printChanges("same config", again), []);
  });

  it("one SAN added to apiServer.certSANs: exactly the apiserver CertRequest and LocallySignedCert of each control-plane node", async () => {
    const b = A();
    b.apiServer.certSANs.push("new.example.com");
    const list = printChanges("certSAN added", await runStack([b], { prior: base }));
    assert.deepEqual(
      sorted(list.map((c) => `${c.op} ${c.name}`)),
      sorted([1, 2, 3].flatMap((i) => [`replace t-apiserver-cp-${i}-csr`, `replace t-apiserver-cp-${i}-cert`])),
    );
    for (const c of list) {
      if (c.name.endsWith("-csr")) assert.deepEqual(c.keys, ["dnsNames"]);
      if (c.name.endsWith("-cert")) assert.deepEqual(c.keys, ["certRequestPem"]);
    }
  });

  it("a worker added: only that worker's resources are created, nothing else changes", async () => {
    const b = A();
    b.nodes.push({ name: "w-3", role: "worker", address: "10.1.0.3" });
    const list = printChanges("worker added", await runStack([b], { prior: base }));
    assert.ok(list.length > 0);
    for (const c of list) {
      assert.equal(c.op, "create", `${c.name} ${c.op}`);
      assert.match(c.name, /-w-3(-|$)/, `${c.name} belongs to w-3`);
    }
    // Its kubelet client (kubeconfig) and serving certificates, each a key, CSR and certificate.
    assert.equal(list.filter((c) => c.type === T.signed).length, 2);
  });

  it("an etcd peer SAN added: only the etcd peer certificates", async () => {
    const b = A();
    b.etcd.peerCertSANs = ["etcd-peer.example.com"];
    const list = printChanges("etcd peer SAN added", await runStack([b], { prior: base }));
    assert.deepEqual(
      sorted(list.map((c) => `${c.op} ${c.name}`)),
      sorted([1, 2, 3].flatMap((i) => [`replace t-etcd-peer-cp-${i}-csr`, `replace t-etcd-peer-cp-${i}-cert`])),
    );
  });

  it("leaf validity changed: every leaf certificate is re-issued, keys, CSRs and CAs are untouched", async () => {
    const b = A();
    b.validity = { leafHours: 4380 };
    const ev = await runStack([b], { prior: base });
    const list = printChanges("leaf validity changed", ev);
    const leaves = ev.resources.filter((r) => r.type === T.signed).map((r) => r.name);
    assert.equal(leaves.length, 40);
    assert.deepEqual(sorted(list.map((c) => c.name)), sorted(leaves));
    for (const c of list) {
      assert.equal(c.op, "replace");
      // earlyRenewalHours follows the default (min(720, leafHours / 2)) and is an update-only key; the replace is
      // caused by the validity itself.
      assert.ok(c.keys.includes("validityPeriodHours"), c.name);
    }
  });

  it("only earlyRenewalHours changed: an in-place update of the certificates, nothing re-issued", async () => {
    const b = A();
    b.validity = { earlyRenewalHours: 1000 };
    const list = printChanges("earlyRenewalHours changed", await runStack([b], { prior: base }));
    assert.equal(list.length, 40);
    for (const c of list) assert.deepEqual([c.op, c.type, c.keys], ["update", T.signed, ["earlyRenewalHours"]]);
  });

  it("key algorithm changed: every key, CSR and certificate is replaced", async () => {
    const list = printChanges("algorithm changed", await runStack([{ ...A(), keyAlgorithm: "RSA-2048" }], { prior: base }));
    assert.ok(list.every((c) => c.op === "replace"));
    assert.equal(list.filter((c) => c.type === T.key).length, base.resources.filter((r) => r.type === T.key).length);
  });
});

describe("blast radius including delivery to the nodes (SSH mode)", function () {
  const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc0d2kaJ1rjbG5dNl5I6vvKyGFDDp0Q4z0FOh1lPdQ7";
  const sshConfig = () => {
    const c = clusterConfig("t", 3, 2, { delivery: { mode: "ssh" } });
    c.nodes = c.nodes.map((n: any) => ({ ...n, ssh: { hostKey } }));
    return c;
  };
  const env = { stack: "t", secret: (k: string) => (k === "sshPrivateKey" ? pulumi.secret("test-key") : undefined) };
  let base: Evaluation<StackProgram>;
  before(async () => {
    base = await evaluate(() => defineStack(planClusters([sshConfig()]), env));
  });

  function table(ev: Evaluation<unknown>): string[] {
    const rows = changes(ev)
      .map((c) => `${c.op} ${c.name}`)
      .sort();
    console.log(`        ${rows.join("\n        ")}`);
    return rows;
  }

  it("one apiserver SAN: the CSR and certificate, one apiserver push and one kube-apiserver restart per control-plane node; nothing on workers", async () => {
    const b = sshConfig();
    b.apiServer.certSANs.push("new.example.com");
    const rows = table(await evaluate(() => defineStack(planClusters([b]), env), { prior: base }));
    assert.deepEqual(
      rows,
      [1, 2, 3]
        .flatMap((i) => [
          `replace t-apiserver-cp-${i}-cert`,
          `replace t-apiserver-cp-${i}-csr`,
          `update t-cp-${i}-push-apiserver`,
          `update t-cp-${i}-restart-kube-apiserver`,
        ])
        .sort(),
    );
  });

  it("a worker added: only that worker's certificates and pushes (and its kubelet restart)", async () => {
    const b = sshConfig();
    b.nodes.push({ name: "w-3", role: "worker", address: "10.1.0.3", ssh: { hostKey } });
    const rows = table(await evaluate(() => defineStack(planClusters([b]), env), { prior: base }));
    assert.ok(
      rows.every((r) => r.startsWith("create ") && /w-3/.test(r)),
      rows.join("\n"),
    );
    assert.deepEqual(
      rows.filter((r) => /push|restart/.test(r)),
      [
        "create t-w-3-push-ca",
        "create t-w-3-push-kube-proxy-conf",
        "create t-w-3-push-kubelet-conf",
        "create t-w-3-push-kubelet-serving",
        "create t-w-3-restart-kube-proxy",
        "create t-w-3-restart-kubelet",
      ],
    );
  });

  it("the node program is in the state once per node, not in every push and restart", () => {
    const commands = base.resources.filter((r) => r.type === "command:remote:Command");
    const plan = deliveryPlan(base.result.clusters[0]!.catalog);
    const text = (r: (typeof commands)[number]) =>
      Object.values(r.inputs as Record<string, unknown>)
        .filter((v) => typeof v === "string")
        .join("");
    const tools = new Set((plan.tools ?? []).map((t) => t.resourceName));
    for (const r of commands.filter((c) => !tools.has(c.name))) {
      const inputs = r.inputs as Record<string, unknown>;
      for (const k of ["create", "update", "delete"])
        assert.ok(String(inputs[k] ?? "").length < 1000, `${r.name}.${k}: ${String(inputs[k]).length} characters`);
    }
    // One tools command per node; the rest of its inputs are small (the program travels gzip-compressed).
    assert.deepEqual(
      plan.tools.map((t) => t.node.name),
      ["cp-1", "cp-2", "cp-3", "w-1", "w-2"],
    );
    for (const t of plan.tools) assert.ok(text(commands.find((c) => c.name === t.resourceName)!).length < 6000, t.resourceName);
  });

  it("push commands carry no secret in the command string, the bundle on stdin as a secret, logging off", () => {
    const commands = base.resources.filter((r) => r.type === "command:remote:Command");
    const plan = deliveryPlan(base.result.clusters[0]!.catalog);
    let secretPushes = 0;
    // A push per bundle, the restarts (6 readers per control-plane node, 2 per worker) and the node program per node.
    assert.equal(commands.length, base.result.clusters[0]!.catalog.bundles.length + 3 * 6 + 2 * 2 + 5);
    for (const r of commands) {
      const inputs = r.inputs as Record<string, any>;
      assert.equal(inputs.logging, "none");
      assert.equal(inputs.addPreviousOutputInEnv, false);
      assert.ok(!/PRIVATE KEY|client-key-data|test-key/.test(`${inputs.create}${inputs.update}`), r.name);
      assert.ok(isWrappedSecret(inputs.connection.privateKey) || isWrappedSecret(inputs.connection), `${r.name} connection key`);
      assert.equal((unwrapSecrets(inputs.connection) as { hostKey: string }).hostKey, hostKey);
      // The command SDK adds "connection" itself; stdout and stderr are ours.
      assert.ok(
        ["stdout", "stderr"].every((k) => r.additionalSecretOutputs.includes(k)),
        r.name,
      );
      const push = plan.pushes.find((p) => p.resourceName === r.name);
      if (push) {
        const text = String(unwrapSecrets(inputs.stdin));
        const decoded = text
          .split("\n")
          .filter((l) => l.startsWith("file "))
          .map((l) => Buffer.from(l.split(" ")[5]!, "base64").toString())
          .join("");
        assert.equal(/PRIVATE KEY|client-key-data/.test(decoded), push.secret, `${r.name}: the plan knows whether it holds a key`);
        assert.equal(isWrappedSecret(inputs.stdin), push.secret, `${r.name}: stdin is secret exactly when it holds a key`);
        secretPushes += push.secret ? 1 : 0;
      }
    }
    assert.ok(secretPushes > 30);
  });
});
