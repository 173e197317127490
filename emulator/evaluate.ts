// Evaluates a Pulumi program offline, under Pulumi's mock runtime, with stand-ins for the providers that make real
// keys and certificates. Every registration is recorded with its inputs, outputs, dependencies and options (read off
// the resource monitor, since mocks do not receive them), and, given the evaluation of a previous configuration as
// "state", each resource gets the operation `pulumi preview` would plan for it: a resource whose inputs are
// unchanged keeps its previous outputs, as in the real engine, so changes propagate to exactly the resources fed by
// a replaced one. Used by the tests, the offline render, the cert diff and the benchmarks.
import * as pulumi from "@pulumi/pulumi";
import { isDeepStrictEqual } from "node:util";
import { certificateRequestPem } from "../components/pki/csr";
import { withoutStackTraces } from "../components/stackTraces";
import { observeRegistrations, Registration, waitForRPCs } from "./sdkInternals";
import { unwrapSecrets } from "./secrets";
import { dueForRenewal, TLS_TYPES, TlsStandIn, TlsStandInOptions, tlsDiff } from "./tlsStandIn";

/** kube-pki's own dynamic resource (components/pki/groupsCertRequest.ts): a CSR with several O values. */
export const GROUPS_CSR_TYPE = "pulumi-nodejs:dynamic/kube-pki:GroupsCertRequest";
const GROUPS_CSR_REPLACE = ["privateKeyPem", "commonName", "organizations"];

const CERT_TYPES: readonly string[] = [TLS_TYPES.selfSignedCert, TLS_TYPES.locallySignedCert];

// An evaluation's inputs and states hold secrets in the envelope: its readers (tests, scripts) unwrap them with these.
export { isWrappedSecret, unwrapSecrets } from "./secrets";

export type Operation = "create" | "same" | "update" | "replace";

export interface RegisteredResource extends Registration {
  /** Inputs as the provider receives them: secret values stay wrapped (emulator/secrets.ts). */
  readonly inputs: Record<string, unknown>;
  /** Outputs (the stand-in's state, or the previous state when unchanged). */
  state: Record<string, unknown>;
  readonly id: string;
  /** What `pulumi preview` would do to it, against the prior evaluation (create when there is none). */
  readonly op: Operation;
  /** Input keys that differ from the prior evaluation; replaceKeys: those that force replacement. */
  readonly changedKeys: readonly string[];
  readonly replaceKeys: readonly string[];
}

export interface Evaluation<T> {
  readonly result: T;
  /** Resources whose create/update failed (the provider returned an error), with the error. */
  readonly failures: readonly { readonly name: string; readonly type: string; readonly error: string }[];
  /**
   * Resources not touched because something they depend on failed, or because an earlier step failed: the engine
   * (without --continue-on-error) starts no new step after a failure. They keep their previous state.
   */
  readonly skipped: readonly { readonly name: string; readonly type: string }[];
  /** Protected resources the change would replace or delete: the engine refuses each (`pulumi preview` lists all). */
  readonly protectViolations: readonly { readonly name: string; readonly type: string; readonly op: "replace" | "delete" }[];
  readonly resources: readonly RegisteredResource[];
  /** Resources of the prior evaluation that this one no longer registers (`pulumi preview` deletes them). */
  readonly deleted: readonly RegisteredResource[];
}

/** Handles resource types other than tls:* (e.g. the command stand-in); returns undefined to decline. */
export interface ExtraMocks {
  /** Called for create, update and replace (never for unchanged resources, which keep their state). */
  newResource?(
    args: pulumi.runtime.MockResourceArgs,
    op: Operation,
    prior?: RegisteredResource,
  ): Promise<{ id: string; state: Record<string, unknown> } | undefined> | undefined;
  /** Called, after the program, for every resource of the prior evaluation that is gone (last registered first). */
  delete?(resource: RegisteredResource): Promise<void>;
  /** `Resource.get(...)` reads of existing resources (e.g. a ConfigMap the cluster already has). Default: echo. */
  read?(args: pulumi.runtime.MockResourceArgs): Promise<Record<string, unknown> | undefined> | undefined;
  /** Operation rule for the types it handles (default: any input change is an update). */
  diff?(
    type: string,
    oldInputs: Record<string, unknown>,
    newInputs: Record<string, unknown>,
  ): { op: "same" | "update" | "replace"; changedKeys: string[]; replaceKeys: string[] } | undefined;
}

export interface EvaluateOptions {
  readonly project?: string;
  readonly stack?: string;
  /** The evaluation that stands for the current state (a previous `pulumi up`). */
  readonly prior?: Evaluation<unknown>;
  readonly tls?: TlsStandInOptions;
  readonly extra?: ExtraMocks;
  /** Pulumi config values (`<project>:<key>` → string), set before the program runs. */
  readonly config?: Record<string, string>;
  /** Which of `config`'s keys are secrets. */
  readonly secretKeys?: readonly string[];
  /** Keep starting steps after a failure, as `pulumi up --continue-on-error` does (default false, as the engine). */
  readonly continueOnError?: boolean;
}

function genericDiff(oldInputs: Record<string, unknown>, newInputs: Record<string, unknown>, replaceOnChanges: readonly string[]) {
  const keys = [...new Set([...Object.keys(oldInputs), ...Object.keys(newInputs)])].sort();
  const changedKeys = keys.filter((k) => !isDeepStrictEqual(oldInputs[k], newInputs[k]));
  // replaceOnChanges paths like "triggers[*]" name their top-level key first.
  const replaceKeys = changedKeys.filter((k) => replaceOnChanges.some((p) => p === "*" || p.split(/[.[]/)[0] === k));
  const op: "same" | "update" | "replace" = replaceKeys.length > 0 ? "replace" : changedKeys.length > 0 ? "update" : "same";
  return { op, changedKeys, replaceKeys };
}

/** Resolves an Output to its value (mock runtime: never unknown outside preview). */
export function valueOf<T>(output: pulumi.Input<T>): Promise<T> {
  return new Promise<T>((resolve) =>
    pulumi.output(output).apply((v) => {
      resolve(v as T);
      return v;
    }),
  );
}

/** Runs `program` under mocks and returns what it registered, once every registration has completed. */
export async function evaluate<T>(program: () => T | Promise<T>, opts: EvaluateOptions = {}): Promise<Evaluation<T>> {
  const standIn = new TlsStandIn(opts.tls);
  const renewalClock = opts.tls?.now ?? (() => new Date());
  const prior = new Map((opts.prior?.resources ?? []).map((r) => [r.urn, r]));
  const resources: RegisteredResource[] = [];
  let current: Registration | undefined;
  const pending = new Map<string, Omit<RegisteredResource, "id" | "state">>();
  const failures: { name: string; type: string; error: string }[] = [];
  const protectViolations: { name: string; type: string; op: "replace" | "delete" }[] = [];
  /** Set by the first failure: from then on no step starts (unless continueOnError). */
  let stopped = false;
  const fail = (name: string, type: string, error: string) => {
    failures.push({ name, type, error });
    if (!opts.continueOnError) stopped = true;
  };
  const skipped: { name: string; type: string }[] = [];
  /** URNs that failed or were skipped: what depends on them is skipped too. */
  const blocked = new Set<string>();
  const carriedOver: RegisteredResource[] = [];

  const mocks: pulumi.runtime.Mocks = {
    newResource: async (args) => {
      if (!current) {
        // A read (`.get`): the mock monitor's readResource, not our registerResource. Reads are recorded nowhere.
        // A StackReference (index.ts reads its own stack) finds no outputs unless a test supplies them.
        const state =
          (await opts.extra?.read?.(args)) ??
          (args.type === "pulumi:pulumi:StackReference" ? { ...args.inputs, outputs: {}, secretOutputNames: [] } : args.inputs);
        return { id: args.id ?? `${args.name}-id`, state };
      }
      const meta = current;
      current = undefined;
      const base = { ...meta, inputs: args.inputs as Record<string, unknown> };
      const before = prior.get(meta.urn);
      let diff = { op: "create" as Operation, changedKeys: [] as string[], replaceKeys: [] as string[] };
      if (before) {
        const oldIn = unwrapSecrets(before.inputs) as Record<string, unknown>;
        const newIn = unwrapSecrets(args.inputs) as Record<string, unknown>;
        diff = !args.custom
          ? { op: "same", changedKeys: [], replaceKeys: [] }
          : standIn.handles(args.type)
            ? tlsDiff(args.type, oldIn, newIn)
            : // Its provider replaces on any change of what the CSR is made from; `__provider` is its serialized code.
              args.type === GROUPS_CSR_TYPE
              ? genericDiff({ ...oldIn, __provider: undefined }, { ...newIn, __provider: undefined }, GROUPS_CSR_REPLACE)
              : (opts.extra?.diff?.(args.type, oldIn, newIn) ?? genericDiff(oldIn, newIn, base.replaceOnChanges));
        // The provider's time-based renewal (docs/tls-provider.md §8): a certificate inside its renewal window (with the
        // new earlyRenewalHours) is replaced, keyed on readyForRenewal.
        const end = (unwrapSecrets(before.state) as Record<string, unknown>).validityEndTime;
        if (
          CERT_TYPES.includes(args.type) &&
          typeof end === "string" &&
          dueForRenewal(end, Number(newIn.earlyRenewalHours ?? 0), renewalClock()) &&
          !diff.replaceKeys.includes("readyForRenewal")
        ) {
          diff = {
            op: "replace",
            changedKeys: [...diff.changedKeys, "readyForRenewal"],
            replaceKeys: [...diff.replaceKeys, "readyForRenewal"],
          };
        }
      }
      pending.set(meta.urn, { ...base, ...diff });
      // The engine refuses to replace a protected resource (the protect flag of the state it has).
      // With continueOnError (a plan of everything, as `pulumi preview` lists it) the replace is still planned.
      if (before?.protect && diff.op === "replace") {
        protectViolations.push({ name: args.name, type: args.type, op: "replace" });
        fail(args.name, args.type, `unable to replace resource "${meta.urn}"\nas it is currently marked for protection`);
        if (!opts.continueOnError) {
          blocked.add(meta.urn);
          carriedOver.push(before);
          return { id: before.id, state: before.state };
        }
      }
      // As the engine does: a resource that depends on a failed (or skipped) one is not touched this time, and after
      // a failure no new step starts at all; it keeps its state, and the next evaluation plans it again.
      const dependsOn = [...base.dependencies, ...Object.values(base.propertyDependencies).flat()];
      if (dependsOn.some((u) => blocked.has(u)) || (stopped && diff.op !== "same")) {
        blocked.add(meta.urn);
        skipped.push({ name: args.name, type: args.type });
        if (before) carriedOver.push(before);
        return before ? { id: before.id, state: before.state } : { id: "", state: args.inputs };
      }
      // Unchanged resources keep their state, as the engine keeps it; an update (tls: a copy of the inputs, no new
      // certificate) keeps the computed outputs and echoes the new inputs.
      if (before && diff.op === "same") return { id: before.id, state: before.state };
      if (before && diff.op === "update" && standIn.handles(args.type)) {
        return { id: before.id, state: { ...before.state, ...args.inputs } };
      }
      try {
        if (standIn.handles(args.type)) return await standIn.newResource(args);
        if (args.type === GROUPS_CSR_TYPE) {
          // What its dynamic provider's create does, with the same pure function (the engine runs the real one).
          const p = unwrapSecrets(args.inputs) as { privateKeyPem: string; commonName: string; organizations: string[] };
          return {
            id: `${args.name}-id`,
            state: { ...args.inputs, certRequestPem: certificateRequestPem(p.privateKeyPem, p.commonName, p.organizations) },
          };
        }
        const extra = await opts.extra?.newResource?.(args, diff.op, before);
        if (extra) return extra;
      } catch (e) {
        // A failed create leaves nothing in state, a failed update keeps the old state. The registration itself
        // succeeds (with the old state, or the inputs), so that dependents are skipped above instead of waiting
        // forever on a URN that never resolves.
        fail(args.name, args.type, e instanceof Error ? e.message : String(e));
        blocked.add(meta.urn);
        if (before) carriedOver.push(before);
        return before ? { id: before.id, state: before.state } : { id: "", state: args.inputs };
      }
      // Components and resources nobody stands in for echo their inputs.
      return { id: args.custom ? `${args.name}-id` : "", state: args.inputs };
    },
    call: async (args) => {
      throw new Error(`no mock for function ${args.token}`); // the program invokes no provider function
    },
  };

  await pulumi.runtime.setMocks(mocks, opts.project ?? "kube-pki", opts.stack ?? "offline", false, "organization");
  if (opts.config) pulumi.runtime.setAllConfig(opts.config, opts.secretKeys ? [...opts.secretKeys] : undefined);
  observeRegistrations({
    registering: (registration) => {
      current = registration;
    },
    registered: (urn, stored) => {
      const recorded = pending.get(urn);
      if (recorded && stored && !blocked.has(urn)) resources.push({ ...recorded, ...stored });
      // Recorded once: not read again (a thousand-node cluster keeps ~9,000 of them alive otherwise).
      pending.delete(urn);
    },
  });

  // The SDK records `new Error().stack` for every promise and resource it makes, and ts-node source-maps each one:
  // about 70 % of an evaluation's time and most of its memory at a thousand nodes (docs/benchmarks-render.md). No
  // stacks while the program registers; errors keep their messages.
  const result = await withoutStackTraces(async () => {
    // An asynchronous program (index.ts reads its own stack's outputs first) registers after its awaits.
    const r = await program();
    await waitForRPCs();
    return r;
  });
  const seen = new Set([...resources, ...carriedOver].map((r) => r.urn));
  const gone = [...prior.values()].filter((r) => !seen.has(r.urn));
  // Deleting a protected resource fails. With protectCAs a guard that depends on everything is deleted first, so
  // nothing else is deleted either (components/destroyGuard.ts): model exactly that.
  for (const r of gone.filter((x) => x.protect)) {
    protectViolations.push({ name: r.name, type: r.type, op: "delete" });
    fail(r.name, r.type, `resource "${r.urn}" cannot be deleted\nbecause it is protected`);
  }
  const deleted = stopped ? [] : gone;
  if (opts.extra?.delete) {
    for (const r of [...deleted].reverse()) await opts.extra.delete(r);
  }
  const kept = gone.filter((r) => !deleted.includes(r));
  return { result, failures, skipped, protectViolations, resources: [...resources, ...carriedOver, ...kept], deleted };
}

/** Changes an evaluation implies, for tests and reports: every resource whose op is not `same`, plus deletions. */
export function changes(
  evaluation: Evaluation<unknown>,
): { op: Operation | "delete"; type: string; name: string; keys: readonly string[] }[] {
  return [
    ...evaluation.resources
      .filter((r) => r.op !== "same")
      .map((r) => ({ op: r.op, type: r.type, name: r.name, keys: r.op === "replace" ? r.replaceKeys : r.changedKeys })),
    ...evaluation.deleted.map((r) => ({ op: "delete" as const, type: r.type, name: r.name, keys: [] })),
  ];
}
