// A trust root never changes identity unless a declared rotation says so (issue 19): what the stack recorded of its
// roots (output `trustRoots`) holds the next config to them, whether a root was adopted or made; a failed or skipped
// rotation phase is never taken as done; a CA must outlive the leaves it signs. Under the mock runtime, with the
// program's own checks; test/engine/trust.test.ts shows the same with the real engine.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, defineStack, planClusters, RecordedRoots, signerExpiry, StackProgram, trustPlan } from "../components";
import { evaluate, Evaluation, valueOf } from "../emulator/evaluate";
import { offlineReport, renderText } from "../offline/certDiff";
import { clusterConfig, opensslCa, T } from "./support";

const KEY = "adopted-t-ca-key";
const adoptedCa = opensslCa("kubernetes");
const otherCa = opensslCa("kubernetes");
const secrets: Record<string, string> = { [KEY]: adoptedCa.key };
const env = (previousTrust?: Record<string, RecordedRoots>, more: Record<string, string> = {}) => ({
  stack: "t",
  secret: (k: string) => pulumi.secret({ ...secrets, ...more }[k] ?? "unused"),
  plainSecret: (k: string) => ({ ...secrets, ...more })[k],
  previousTrust,
});
const cluster = (extra: Record<string, unknown> = {}) => [clusterConfig("t", 1, 1, { delivery: { mode: "none" }, ...extra })];
const adopting = (pem = adoptedCa.cert) => ({ adopt: { ca: { certificate: pem, keyConfig: KEY } } });
const rotating = (phase: string) => ({ rotation: { ca: { generation: 2, phase } } });

/** Deploys `raw` (optionally on top of `prior`) and returns the evaluation with what the stack recorded. */
async function deployed(raw: unknown[], prior?: Deployed): Promise<Deployed> {
  const ev = await evaluate(() => defineStack(planClusters(raw), env(prior?.recorded)), { stack: "t", prior: prior?.ev });
  assert.deepEqual(ev.failures, []);
  return { ev, recorded: await valueOf(ev.result.outputs.trustRoots) };
}
interface Deployed {
  ev: Evaluation<StackProgram>;
  recorded: Record<string, RecordedRoots>;
}

/** The ConfigError problems of defining `raw` against what `prior` recorded, and how many resources were registered. */
async function refusal(
  raw: unknown[],
  prior: Deployed,
  keys: Record<string, string> = {},
): Promise<{ problems: readonly string[]; registered: number }> {
  let problems: readonly string[] = [];
  const ev = await evaluate(
    () => {
      try {
        defineStack(planClusters(raw), env(prior.recorded, keys));
      } catch (e) {
        if (e instanceof ConfigError) problems = e.problems;
        else throw e;
      }
    },
    { stack: "t" },
  );
  return { problems, registered: ev.resources.length };
}

describe("trust roots keep their identity against the stack's record", () => {
  let adopted: Deployed;
  let made: Deployed;
  before(async () => {
    adopted = await deployed(cluster(adopting()));
    made = await deployed(cluster());
  });

  it("records each root's generations: adopted or made, with the hash of its certificate", () => {
    assert.deepEqual(
      adopted.recorded.t!.ca!.map((g) => [g.generation, g.adopted]),
      [[1, true]],
    );
    assert.deepEqual(
      made.recorded.t!.ca!.map((g) => [g.generation, g.adopted, g.keyAlgorithm, g.validityHours]),
      [[1, false, "ECDSA-P256", 87600]],
    );
    assert.match(adopted.recorded.t!.ca![0]!.sha256, /^[0-9a-f]{64}$/);
  });

  it("dropping adopt is refused with its path before anything is registered", async () => {
    const r = await refusal(cluster(), adopted);
    assert.equal(r.problems.length, 1, r.problems.join("\n"));
    assert.match(
      r.problems[0]!,
      /^clusters\[0\]\.adopt\.ca: generation 1 of ca is the adopted CA .*keep adopt\.ca until the drop phase of a rotation/,
    );
    assert.equal(r.registered, 0);
  });

  it("dropping adopt in the middle of a rotation is refused", async () => {
    const add = await deployed(cluster({ ...adopting(), ...rotating("add") }), adopted);
    const r = await refusal(cluster(rotating("switch")), add);
    assert.equal(r.problems.length, 1, r.problems.join("\n"));
    assert.match(r.problems[0]!, /^clusters\[0\]\.adopt\.ca: generation 1 of ca is the adopted CA/);
  });

  it("at the drop phase the adopted generation leaves with its adopt entry", async () => {
    const add = await deployed(cluster({ ...adopting(), ...rotating("add") }), adopted);
    const sw = await deployed(cluster({ ...adopting(), ...rotating("switch") }), add);
    assert.deepEqual((await refusal(cluster(rotating("drop")), sw)).problems, []);
  });

  it("adopting over a CA kube-pki made is refused", async () => {
    const r = await refusal(cluster(adopting()), made);
    assert.equal(r.problems.length, 1, r.problems.join("\n"));
    assert.match(r.problems[0]!, /^clusters\[0\]\.adopt\.ca: generation 1 of ca is a CA kube-pki made .*adopting another would replace it/);
  });

  it("adopting a different CA in place of the adopted one is refused", async () => {
    const r = await refusal(cluster(adopting(otherCa.cert)), adopted, { [KEY]: otherCa.key });
    assert.equal(r.problems.length, 1, r.problems.join("\n"));
    assert.match(r.problems[0]!, /^clusters\[0\]\.adopt\.ca\.certificate: is not the CA this stack adopted/);
  });

  it("a made CA keeps the key algorithm and validity it was made with when the config changes them", async () => {
    const head = await evaluate(
      () =>
        defineStack(planClusters(cluster({ keyAlgorithm: "RSA-2048", validity: { caHours: 43800, leafHours: 8760 } })), env(made.recorded)),
      { stack: "t", prior: made.ev },
    );
    const ops = (type: string, names: RegExp) => head.resources.filter((r) => r.type === type && names.test(r.name)).map((r) => r.op);
    assert.deepEqual([...new Set(ops(T.key, /^t-(ca|etcd-ca|front-proxy-ca|sa)-key$/))], ["same"]);
    assert.deepEqual([...new Set(ops(T.selfSigned, /-cert$/))], ["same"]);
    assert.deepEqual([...new Set(ops(T.key, /^t-apiserver-cp-1-key$/))], ["replace"], "the leaves take the new algorithm");
  });

  it("the offline cert diff reports dropping adopt as BLOCKED, with the path", async () => {
    const r = await offlineReport("t", cluster(adopting()), cluster());
    assert.match(
      renderText(r),
      /^BLOCKED: pulumi up refuses this config and changes nothing \(1 problem\(s\)\): clusters\[0\]\.adopt\.ca: /m,
    );
  });

  it("the offline cert diff reports a skipped rotation phase as BLOCKED", async () => {
    const r = await offlineReport("t", cluster(), cluster(rotating("drop")));
    assert.match(renderText(r), /^BLOCKED: .*clusters\[0\]\.rotation\.ca\.phase: a rotation starts with add, not drop/m);
  });
});

describe("a signing CA must outlive the leaves it signs", () => {
  const shortCa = opensslCa("kubernetes", { days: 30 });
  const adoptShort = { adopt: { ca: { certificate: shortCa.cert, keyConfig: KEY } } };
  const define = (raw: unknown[]) => evaluate(() => defineStack(planClusters(raw), env(undefined, { [KEY]: shortCa.key })), { stack: "t" });

  it("an adopted CA expiring before a leaf issued now would is refused, naming the rotation to declare", async () => {
    await assert.rejects(
      define(cluster(adoptShort)).then((ev) => ev.result),
      /clusters\[0\]\.adopt\.ca\.certificate: the ca CA \(generation 1\) expires on .* before the leaves it would sign now .*declare rotation\.ca: \{ generation: 2, phase: add \}/,
    );
  });

  it("the same CA is accepted once its rotation is declared (add: the new CA signs from switch on)", async () => {
    const ev = await define(cluster({ ...adoptShort, ...rotating("add") }));
    assert.deepEqual(ev.failures, []);
  });

  it("a made CA recorded as expiring is refused likewise, at its rotation's path", () => {
    const plan = trustPlan("ca", undefined, undefined);
    const soon = new Date(Date.now() + 100 * 86_400_000).toISOString();
    assert.match(
      signerExpiry("clusters[0]", plan, soon, 8760).problem ?? "",
      /^clusters\[0\]\.rotation\.ca: the ca CA \(generation 1\) expires on/,
    );
  });

  it("a CA expiring within twice the leaf validity is a warning, not a refusal", () => {
    const plan = trustPlan("ca", undefined, undefined);
    const r = signerExpiry("clusters[0]", plan, new Date(Date.now() + 500 * 86_400_000).toISOString(), 8760);
    assert.equal(r.problem, undefined);
    assert.match(r.warning ?? "", /leaves issued after \S+ would outlive it and will be refused: declare rotation\.ca/);
  });
});
