// Smoke test of emulator/sdkInternals.ts against the pinned @pulumi/pulumi: every internal the adapter takes is still
// there with the shape it relies on, and one evaluation through it works. An SDK upgrade that moves an internal fails
// here, naming it, instead of deep inside an evaluation.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { evaluate, valueOf } from "../emulator/evaluate";
import { SDK_INTERNALS, SdkInternal, sdkExport } from "../emulator/sdkInternals";
import { isWrappedSecret, wrapSecret } from "../emulator/secrets";

const SDK_VERSION = (require("@pulumi/pulumi/package.json") as { version: string }).version;

/** What is wrong with `internal` in the installed SDK, "" when nothing. */
function mismatch(internal: SdkInternal): string {
  const where = `@pulumi/pulumi@${SDK_VERSION} ${internal.module}.${internal.name}`;
  const value = sdkExport(internal.module, internal.name) as any;
  if (typeof value !== internal.kind) return `${where} is ${typeof value}, expected a ${internal.kind}`;
  if (internal.arity !== undefined && value.length !== internal.arity)
    return `${where} takes ${value.length} parameters, expected ${internal.arity}`;
  return Object.entries(internal.methods ?? {})
    .map(([method, arity]) => {
      const f = value.prototype?.[method];
      return typeof f !== "function"
        ? `${where}.prototype.${method} is ${typeof f}, expected a function`
        : f.length !== arity
          ? `${where}.prototype.${method} takes ${f.length} parameters, expected ${arity}`
          : "";
    })
    .filter(Boolean)
    .join("\n");
}

describe("sdkInternals: the SDK internals emulator/sdkInternals.ts takes exist with the expected shape", () => {
  for (const [group, internals] of Object.entries(SDK_INTERNALS)) {
    it(group, () => {
      assert.equal(internals.map(mismatch).filter(Boolean).join("\n"), "");
    });
  }

  it("mock monitor: an instance keeps its registrations in a Map named resources", () => {
    const MockMonitor = sdkExport("runtime/mocks", "MockMonitor") as new (mocks: unknown) => { resources: unknown };
    assert.ok(new MockMonitor({}).resources instanceof Map, `@pulumi/pulumi@${SDK_VERSION} MockMonitor#resources is not a Map`);
  });
});

describe("sdkInternals: one evaluation through the adapter", () => {
  const TYPE = "smoke:index:Thing";
  class Box extends pulumi.ComponentResource {}
  class Thing extends pulumi.CustomResource {
    declare readonly secretOut: pulumi.Output<string>;
  }
  /** A component and one custom resource in it, with a secret input; the mock returns a secret output. */
  const run = () =>
    evaluate(
      () => {
        const box = new Box("smoke:index:Box", "box", {});
        const thing = new Thing(
          TYPE,
          "one",
          { secretIn: pulumi.secret("in-secret"), plainIn: "x", secretOut: undefined },
          { parent: box, protect: true, replaceOnChanges: ["plainIn"] },
        );
        return { secretOut: thing.secretOut };
      },
      {
        extra: {
          newResource: async (args) =>
            args.type === TYPE ? { id: "one-id", state: { ...args.inputs, secretOut: wrapSecret("out-secret") } } : undefined,
        },
      },
    );

  it("records the resource with the URN, parent and options the monitor received", async () => {
    const ev = await run();
    const r = ev.resources.find((x) => x.type === TYPE);
    assert.deepEqual(r && { urn: r.urn, parent: r.parent, id: r.id, protect: r.protect, replaceOnChanges: r.replaceOnChanges, op: r.op }, {
      urn: "urn:pulumi:offline::kube-pki::smoke:index:Box$smoke:index:Thing::one",
      parent: "urn:pulumi:offline::kube-pki::smoke:index:Box::box",
      id: "one-id",
      protect: true,
      replaceOnChanges: ["plainIn"],
      op: "create",
    });
  });

  it("a secret input reaches the mock in the envelope", async () => {
    const r = (await run()).resources.find((x) => x.type === TYPE)!;
    assert.ok(isWrappedSecret(r.inputs.secretIn), `secretIn arrived as ${JSON.stringify(r.inputs.secretIn)}`);
    assert.equal(isWrappedSecret(r.inputs.plainIn), false);
  });

  it("a secret output in the envelope reaches the program as a secret Output", async () => {
    const { result } = await run();
    assert.equal(await pulumi.isSecret(result.secretOut), true);
    assert.equal(await valueOf(result.secretOut), "out-secret");
  });
});
