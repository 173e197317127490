// Adoption of an existing cluster's trust roots and their rotation (add → switch → drop), pure and under the mock
// runtime: which generations exist and sign, what every trust file and kubeconfig holds in each phase, what the
// program protects, and the refusals (a key that does not match, a leaf as CA, an expired CA, a short RSA key, a
// skipped phase).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate, generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { adoptionProblems, defineStack, FileContent, pemBlocks, planClusters, rotationProblems, trustPlan } from "../components";
import { evaluate, Evaluation, valueOf } from "../emulator/evaluate";
import { offlineReport, renderText } from "../offline/certDiff";
import { rowsFromDirectory } from "../offline/expiry";
import { renderClusters } from "../offline/render";
import { makeTempDir } from "./e2e/proc";
import { clusterConfig, find, opensslCa, plain, T } from "./support";

const certsIn = (bundle: string) => pemBlocks(bundle);

describe("trust roots: plans and rules (pure)", () => {
  it("each phase: which generations exist, in which order the bundle lists them, which signs, which leaves", () => {
    assert.deepEqual(trustPlan("ca", undefined, undefined), { root: "ca", generations: [1], signer: 1, adopted: undefined, leaving: [] });
    const at = (phase: "add" | "switch" | "drop") => {
      const p = trustPlan("ca", { generation: 2, phase }, undefined);
      return [p.generations, p.signer, p.leaving];
    };
    assert.deepEqual(at("add"), [[1, 2], 1, []]);
    assert.deepEqual(at("switch"), [[2, 1], 2, [1]]);
    assert.deepEqual(at("drop"), [[2], 2, []]);
  });

  it("one phase per update: add → switch → drop; skipping or going back is refused; a new rotation only from a finished one", () => {
    const p = "clusters[0].rotation.ca";
    assert.deepEqual(rotationProblems(p, undefined, { generation: 2, phase: "add" }), []);
    assert.deepEqual(rotationProblems(p, { generation: 2, phase: "add" }, { generation: 2, phase: "switch" }), []);
    assert.deepEqual(rotationProblems(p, { generation: 2, phase: "switch" }, { generation: 2, phase: "drop" }), []);
    assert.deepEqual(rotationProblems(p, { generation: 2, phase: "drop" }, { generation: 3, phase: "add" }), []);
    assert.match(
      rotationProblems(p, { generation: 2, phase: "add" }, { generation: 2, phase: "drop" }).join(),
      /clusters\[0\]\.rotation\.ca\.phase: add → drop skips switch/,
    );
    assert.match(rotationProblems(p, undefined, { generation: 2, phase: "drop" }).join(), /a rotation starts with add/);
    assert.match(rotationProblems(p, { generation: 2, phase: "switch" }, { generation: 2, phase: "add" }).join(), /goes back/);
    assert.match(
      rotationProblems(p, { generation: 2, phase: "add" }, { generation: 3, phase: "add" }).join(),
      /generation: 3 does not follow/,
    );
    assert.match(rotationProblems(p, { generation: 2, phase: "switch" }, undefined).join(), /finish it \(switch, then drop\)/);
  });

  it("adopted material is refused, by path, when it cannot serve: mismatched key, a leaf, expired, RSA < 2048", () => {
    const path = "clusters[0].adopt.ca";
    const ca = opensslCa("kubernetes");
    assert.deepEqual(adoptionProblems(path, "ca", { pem: ca.cert, keyConfig: "k" }, ca.key), []);
    const other = opensslCa("other");
    assert.match(
      adoptionProblems(path, "ca", { pem: ca.cert, keyConfig: "k" }, other.key).join(),
      /clusters\[0\]\.adopt\.ca\.keyConfig: the key in kube-pki:k does not match the certificate/,
    );
    const leaf = opensslCa("leaf", { leaf: true });
    assert.match(
      adoptionProblems(path, "ca", { pem: leaf.cert, keyConfig: "k" }, leaf.key).join(),
      /clusters\[0\]\.adopt\.ca\.certificate: is not a CA certificate/,
    );
    const weak = opensslCa("weak", { rsaBits: 1024 });
    assert.match(adoptionProblems(path, "ca", { pem: weak.cert, keyConfig: "k" }, weak.key).join(), /has 1024 bits; at least 2048/);
    const later = new Date(Date.now() + 20 * 365 * 86_400_000);
    assert.match(adoptionProblems(path, "ca", { pem: ca.cert, keyConfig: "k" }, ca.key, later).join(), /the CA expired on/);
    assert.match(
      adoptionProblems(path, "ca", { pem: ca.cert, keyConfig: "k" }, undefined).join(),
      /the secret stack config "kube-pki:k" is not set/,
    );
    const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const saPub = sa.publicKey.export({ type: "spki", format: "pem" }) as string;
    assert.deepEqual(
      adoptionProblems(
        "clusters[0].adopt.serviceAccount",
        "sa",
        { pem: saPub, keyConfig: "s" },
        sa.privateKey.export({ type: "pkcs1", format: "pem" }) as string,
      ),
      [],
    );
  });
});

describe("trust roots under the mock runtime", () => {
  const env = (secrets: Record<string, string> = {}) => ({
    stack: "t",
    secret: (k: string) => pulumi.secret(secrets[k] ?? "unused"),
    plainSecret: (k: string) => secrets[k],
  });
  const run = (raw: unknown[], prior?: Evaluation<unknown>, secrets: Record<string, string> = {}) =>
    evaluate(() => defineStack(planClusters(raw), env(secrets)), { prior, stack: "t" });
  const cluster = (extra: Record<string, unknown> = {}) => [clusterConfig("t", 1, 1, { delivery: { mode: "none" }, ...extra })];
  const pkiOf = (ev: Evaluation<ReturnType<typeof defineStack>>) => ev.result.clusters[0]!;
  const file = (ev: Evaluation<ReturnType<typeof defineStack>>, source: string, content: FileContent) =>
    valueOf(pkiOf(ev).contentOf({ path: "/x", mode: 0o600, owner: "root", source, content }));

  it("an adopted CA and service-account key: the leaves are signed by them, and the nodes get them byte for byte", async () => {
    const ca = opensslCa("kubernetes");
    const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const saKey = sa.privateKey.export({ type: "pkcs1", format: "pem" }) as string;
    const saPub = sa.publicKey.export({ type: "spki", format: "pem" }) as string;
    const raw = cluster({ adopt: { ca: { certificate: ca.cert }, serviceAccount: { publicKey: saPub } } });
    const ev = await run(raw, undefined, { "adopted-t-ca-key": ca.key, "adopted-t-sa-key": saKey });
    assert.deepEqual(ev.failures, []);
    assert.ok(
      !ev.resources.some((r) => r.name === "t-ca-cert" || r.name === "t-ca-key" || r.name === "t-sa-key"),
      "no resource for an adopted root",
    );
    assert.equal(await file(ev, "ca", "certificate"), ca.cert, "ca.crt is the adopted certificate, byte for byte");
    assert.equal(await file(ev, "sa", "private-key"), saKey);
    assert.equal(await file(ev, "sa", "public-key"), saPub);
    const signed = plain(find(ev, T.signed, "t-apiserver-cp-1-cert"));
    assert.equal(signed.caCertPem, ca.cert, "leaves are signed by the adopted CA");
    assert.equal(signed.caPrivateKeyPem, ca.key);
    assert.ok(new X509Certificate(plain(find(ev, T.signed, "t-apiserver-cp-1-cert")).caCertPem).ca);
    // A mismatched key is refused before anything is registered.
    let error: unknown;
    const bad = await evaluate(
      () => {
        try {
          defineStack(planClusters(raw), env({ "adopted-t-ca-key": opensslCa("x").key, "adopted-t-sa-key": saKey }));
        } catch (e) {
          error = e;
        }
      },
      { stack: "t" },
    );
    assert.match(String(error), /clusters\[0\]\.adopt\.ca\.keyConfig: the key in kube-pki:adopted-t-ca-key does not match the certificate/);
    assert.equal(bad.resources.length, 0);
  });

  it("rotation of the cluster CA and the service-account key: add, switch, drop, with what every file holds in each phase", async () => {
    const steady = await run(cluster({ protectCAs: true }));
    const oldCa = await file(steady, "ca", "certificate");
    const rotating = (phase: string) =>
      cluster({ protectCAs: true, rotation: { ca: { generation: 2, phase }, serviceAccount: { generation: 2, phase } } });

    const add = await run(rotating("add"), steady);
    assert.deepEqual(add.failures, []);
    const addBundle = certsIn(await file(add, "ca", "certificate"));
    assert.equal(addBundle.length, 2, "ca.crt holds both CAs");
    assert.equal(addBundle[0], oldCa, "the old one first: it still signs");
    assert.deepEqual(
      certsIn(await file(add, "ca", "signer-certificate")),
      [oldCa],
      "ca-signer.crt: the old CA alone (kube-controller-manager signs with one)",
    );
    const admin = parse(await valueOf(pkiOf(add).adminKubeconfig));
    assert.equal(
      certsIn(Buffer.from(admin.clusters[0].cluster["certificate-authority-data"], "base64").toString()).length,
      2,
      "kubeconfigs trust both",
    );
    assert.ok(
      add.resources.filter((r) => r.type === T.signed).every((r) => r.op !== "replace"),
      "add re-issues no leaf",
    );
    assert.equal((await file(add, "sa", "public-key")).match(/BEGIN PUBLIC KEY/g)!.length, 2, "sa.pub holds both keys");
    assert.deepEqual(
      pemBlocks(await file(add, "sa", "public-key"), "PUBLIC KEY").join(""),
      await file(add, "sa", "public-key"),
      "pemBlocks splits a bundle into its blocks, nothing lost",
    );
    assert.equal(find(add, T.selfSigned, "t-ca-g2-cert").protect, true, "the new CA is protected");

    const sw = await run(rotating("switch"), add);
    assert.deepEqual(sw.failures, []);
    const newCa = certsIn(await file(sw, "ca", "certificate"))[0]!;
    assert.notEqual(newCa, oldCa, "the new CA first: it signs now");
    assert.deepEqual(certsIn(await file(sw, "ca", "signer-certificate")), [newCa], "ca-signer.crt: the new CA alone, with ca.key");
    const leaves = sw.resources.filter((r) => r.type === T.signed);
    assert.ok(
      leaves.length > 10 && leaves.filter((r) => plain(r).caCertPem === oldCa).length === 0,
      "no leaf is signed by the old cluster CA any more",
    );
    assert.ok(
      leaves.filter((r) => r.name.includes("etcd-") && !r.name.includes("apiserver-etcd")).every((r) => r.op === "same"),
      "leaves of other CAs untouched",
    );
    assert.equal(find(sw, T.selfSigned, "t-ca-cert").protect, false, "the leaving CA is unprotected for its declared deletion");
    assert.equal(find(sw, T.key, "t-sa-key").protect, false);
    assert.notEqual(await file(sw, "sa", "private-key"), await file(add, "sa", "private-key"), "sa.key is the new key");

    const drop = await run(rotating("drop"), sw);
    assert.deepEqual(drop.failures, [], "the declared deletion of a protected CA is allowed");
    assert.deepEqual(certsIn(await file(drop, "ca", "certificate")), [newCa]);
    assert.ok(
      drop.deleted.some((r) => r.name === "t-ca-cert") && drop.deleted.some((r) => r.name === "t-sa-key"),
      "the old generation's resources are deleted",
    );
    assert.equal((await file(drop, "sa", "public-key")).match(/BEGIN PUBLIC KEY/g)!.length, 1);
  });

  it("skipping a phase is refused against the stack's recorded state, before anything is registered", async () => {
    let error: unknown;
    const ev = await evaluate(
      () => {
        try {
          defineStack(planClusters(cluster({ rotation: { ca: { generation: 2, phase: "drop" } } })), {
            ...env(),
            previousRotation: { t: { ca: { generation: 2, phase: "add" } } },
          });
        } catch (e) {
          error = e;
        }
      },
      { stack: "t" },
    );
    assert.match(String(error), /clusters\[0\]\.rotation\.ca\.phase: add → drop skips switch/);
    assert.equal(ev.resources.length, 0);
  });

  it("the cert diff names the phase and what it does, and protectCAs does not block a declared rotation", async () => {
    const base = cluster({ protectCAs: true });
    const r = await offlineReport("t", base, cluster({ protectCAs: true, rotation: { ca: { generation: 2, phase: "add" } } }));
    assert.deepEqual(r.blocked, []);
    assert.match(
      renderText(r),
      /rotation of ca to generation 2, phase add: a new CA is made; every ca\.crt and kubeconfig on 2 node\(s\): cp-1, w-1 trusts both.*leaves are still signed by generation 1/,
    );
    assert.doesNotMatch(renderText(r), /kube-controller-manager must sign/, "caKeys none: no node signs with the CA");
    const signing = { protectCAs: true, caKeys: "control-plane" };
    const withKeys = await offlineReport("t", cluster(signing), cluster({ ...signing, rotation: { ca: { generation: 2, phase: "add" } } }));
    assert.match(
      renderText(withKeys),
      /kube-controller-manager must sign with \/etc\/kubernetes\/pki\/ca-signer\.crt \(its --cluster-signing-cert-file\), not ca\.crt/,
    );
    const add = cluster({ protectCAs: true, rotation: { ca: { generation: 2, phase: "add" } } });
    const again = await offlineReport("t", add, add);
    assert.deepEqual(again.rotations, [], "a phase already applied is not announced again");
    const sw = await offlineReport(
      "t",
      add,
      cluster({ protectCAs: true, rotation: { ca: { generation: 2, phase: "switch" }, serviceAccount: { generation: 2, phase: "add" } } }),
    );
    assert.match(
      sw.rotations.join("\n"),
      /phase switch: every leaf ca signs is re-issued by generation 2 and delivered to 2 node\(s\).*Before drop: fetch again every kubeconfig copied off the nodes/,
    );
    assert.match(
      sw.rotations.join("\n"),
      /rotation of sa to generation 2, phase add: a new service-account key is made; sa\.pub holds both, kube-apiserver restarted \(1 node\(s\): cp-1\)/,
    );
  });
});

describe("the expiry report during and before a rotation", () => {
  it("lists both CAs while a rotation overlaps them, and tells to rotate a CA that is about to expire (exit 1)", async () => {
    const out = makeTempDir("expiry-rotation");
    await renderClusters(
      [
        clusterConfig("r", 1, 0, {
          validity: { caHours: 240, leafHours: 100, earlyRenewalHours: 10 },
          rotation: { ca: { generation: 2, phase: "add" } },
        }),
      ],
      out,
    );
    const rows = rowsFromDirectory(join(out, "r"));
    assert.deepEqual(
      rows.filter((x) => x.isCa && x.certificate.startsWith("cp-1/ca")).map((x) => x.certificate),
      ["cp-1/ca", "cp-1/ca (2)"],
    );
    const r = spawnSync(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        join(__dirname, "..", "scripts", "expiry.ts"),
        "--dir",
        join(out, "r"),
        "--warn-days",
        "30",
      ],
      { encoding: "utf8", env: { ...process.env, INIT_CWD: process.cwd() } },
    );
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /CA ca expires within 30 days and is never renewed: rotate it \(set rotation\.ca: \{ generation: <current \+ 1>, phase: add \}/,
    );
    assert.match(r.stderr, /CA etcd-ca expires within 30 days/);
  });
});
