// Everything the offline evaluator (emulator/evaluate.ts) and the tests take from @pulumi/pulumi beyond its public
// API, in one place. Each internal is named in SDK_INTERNALS with the shape relied on; test/sdkInternals.test.ts checks
// them against the pinned SDK (package.json), so that an SDK upgrade that moves one fails there, by name, instead of
// deep inside an evaluation. Nothing else imports from @pulumi/pulumi/runtime/* or @pulumi/pulumi/proto/*.
import * as pulumi from "@pulumi/pulumi";
import type { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import type { RegisterResourceRequest, RegisterResourceResponse } from "@pulumi/pulumi/proto/resource_pb";

/** An internal: `<module>.<name>` under @pulumi/pulumi, a function (or class) of `arity` parameters, with `methods`
 * (name → arity) on its prototype, or a `string` constant. */
export interface SdkInternal {
  readonly module: string;
  readonly name: string;
  readonly kind: "function" | "string";
  readonly arity?: number;
  readonly methods?: Readonly<Record<string, number>>;
}

const REGISTER_REQUEST_GETTERS = [
  "getType",
  "getName",
  "getParent",
  "getCustom",
  "getDependenciesList",
  "getPropertydependenciesMap",
  "getProtect",
  "getRetainondelete",
  "getAdditionalsecretoutputsList",
  "getDeletebeforereplace",
  "getReplaceonchangesList",
] as const;

/** What this module relies on, by group (one smoke test each). */
export const SDK_INTERNALS: Readonly<Record<string, readonly SdkInternal[]>> = {
  // @internal (stripped from the typings): waitForRPCs resolves once every outstanding registration has completed;
  // evaluate() returns only then, since a program's registrations outlive its own promise.
  "RPC queue": [{ module: "runtime/settings", name: "waitForRPCs", kind: "function", arity: 0 }],
  // The mock monitor that setMocks installs (getMonitor returns it): mocks.newResource does not receive a resource's
  // URN, parent, dependencies or options, so evaluate() reads them off each RegisterResourceRequest by wrapping
  // registerResource; newUrn is how the monitor names it; `resources` is what it stores per URN (checked on an instance).
  "mock monitor": [
    { module: "runtime/mocks", name: "MockMonitor", kind: "function", arity: 1, methods: { registerResource: 2, newUrn: 3 } },
  ],
  // The generated protobuf messages of the registration and its answer, read by the getters below.
  "registration messages": [
    {
      module: "proto/resource_pb",
      name: "RegisterResourceRequest",
      kind: "function",
      // getPropertydependenciesMap(opt_noLazyCreate) is the one jspb getter with a parameter.
      methods: Object.fromEntries(REGISTER_REQUEST_GETTERS.map((g) => [g, g === "getPropertydependenciesMap" ? 1 : 0])),
    },
    { module: "proto/resource_pb", name: "RegisterResourceRequest.PropertyDependencies", kind: "function", methods: { getUrnsList: 0 } },
    { module: "proto/resource_pb", name: "RegisterResourceResponse", kind: "function", methods: { getUrn: 0 } },
  ],
  // The engine's side of the provider gRPC interface, to drive a provider plugin as the engine does
  // (test/commandPlugin.test.ts drives emulator/commandPlugin.ts).
  "provider gRPC client": [
    // grpc-js's generated client methods take (...args): arity 0.
    { module: "proto/provider_grpc_pb", name: "ResourceProviderClient", kind: "function", methods: { create: 0 } },
    { module: "proto/provider_pb", name: "CreateRequest", kind: "function", methods: { setUrn: 1, setProperties: 1 } },
    { module: "proto/provider_pb", name: "CreateResponse", kind: "function", methods: { getProperties: 0 } },
  ],
  // Public (pulumi.runtime), listed because emulator/secrets.ts builds the secret envelope from them.
  "secret envelope": [
    { module: "runtime", name: "specialSigKey", kind: "string" },
    { module: "runtime", name: "specialSecretSig", kind: "string" },
    { module: "runtime", name: "isRpcSecret", kind: "function", arity: 1 },
  ],
};

/** `<module>.<name>` (dots walk nested exports) of the installed SDK; undefined when it is gone. */
export function sdkExport(module: string, name: string): unknown {
  return name.split(".").reduce<any>((o, key) => o?.[key], require(`@pulumi/pulumi/${module}`));
}

/** runtime/settings.waitForRPCs ("RPC queue"): resolves when every outstanding registration has completed. */
export const waitForRPCs = sdkExport("runtime/settings", "waitForRPCs") as () => Promise<void>;

/** proto/provider_grpc_pb and provider_pb ("provider gRPC client"): a provider plugin's client and its Create request. */
export const providerRpc = {
  ResourceProviderClient: sdkExport("proto/provider_grpc_pb", "ResourceProviderClient") as new (
    address: string,
    credentials: unknown,
  ) => any,
  CreateRequest: sdkExport("proto/provider_pb", "CreateRequest") as new () => any,
};

const MockMonitorClass = sdkExport("runtime/mocks", "MockMonitor") as typeof MockMonitor;

type RegisterCallback = (err: unknown, resp: RegisterResourceResponse) => void;
/** What observeRegistrations uses of a MockMonitor (its typings make newUrn private and take `any` requests). */
interface Monitor {
  readonly resources: MockMonitor["resources"];
  newUrn(parent: string, type: string, name: string): string;
  registerResource(req: RegisterResourceRequest, callback: RegisterCallback): Promise<void>;
}

/** A resource registration as the monitor receives it: what mocks.newResource is not told. */
export interface Registration {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  /** Parent URN, "" for top-level resources. */
  readonly parent: string;
  readonly dependencies: readonly string[];
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly additionalSecretOutputs: readonly string[];
  readonly deleteBeforeReplace: boolean;
  readonly replaceOnChanges: readonly string[];
}

export interface RegistrationObserver {
  /** Called just before the monitor calls mocks.newResource for this registration: MockMonitor.registerResource calls
   * it before its first await, so the next newResource call (not a read) belongs to exactly this registration. */
  registering(registration: Registration): void;
  /** Called when the monitor has answered: the id and state it stored (serialized: secrets stay in the envelope).
   * Afterwards the monitor forgets a custom resource (a thousand-node cluster kept ~9,000 of them alive); a
   * component's entry stays, for its registerOutputs. */
  registered(urn: string, stored: { id: string; state: Record<string, unknown> } | undefined): void;
}

/** Observes every registration of the mock monitor that pulumi.runtime.setMocks has just installed, by replacing its
 * registerResource ("mock monitor", "registration messages"). */
export function observeRegistrations(observer: RegistrationObserver): void {
  const monitor = pulumi.runtime.getMonitor() as unknown;
  if (!(monitor instanceof MockMonitorClass)) throw new Error("observeRegistrations: call pulumi.runtime.setMocks first");
  const mock = monitor as unknown as Monitor;
  const register = mock.registerResource.bind(mock);
  mock.registerResource = (req, callback) => {
    observer.registering(decode(req, mock.newUrn(req.getParent(), req.getType(), req.getName())));
    return register(req, (err, resp) => {
      if (!err) {
        const urn = resp.getUrn();
        const stored = mock.resources.get(urn);
        observer.registered(urn, stored && { id: stored.id ?? "", state: (stored.state ?? {}) as Record<string, unknown> });
        if (req.getCustom()) mock.resources.delete(urn);
      }
      callback(err, resp);
    });
  };
}

function decode(req: RegisterResourceRequest, urn: string): Registration {
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((v, k) => {
    propertyDependencies[k] = v.getUrnsList();
  });
  return {
    urn,
    type: req.getType(),
    name: req.getName(),
    custom: req.getCustom(),
    parent: req.getParent(),
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    protect: !!req.getProtect(),
    retainOnDelete: !!req.getRetainondelete(),
    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
    deleteBeforeReplace: !!req.getDeletebeforereplace(),
    replaceOnChanges: req.getReplaceonchangesList(),
  };
}
