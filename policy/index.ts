// kube-pki's CrossGuard policy pack (README, "Policy pack"). Every threshold is policy config with kubeadm's value as
// its default; every policy's enforcement level can be set per stack in the same config file.
import { PolicyPack, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { buildName, TRUST_ROOT_KEYS } from "../components/model/names";
import { isSecretEnvelope } from "../offline/pulumiSecret";
import { TRUST_ROOTS, trustPlan } from "../components/model/trust";

const TYPES = {
  privateKey: "tls:index/privateKey:PrivateKey",
  selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
  locallySigned: "tls:index/locallySignedCert:LocallySignedCert",
  certRequest: "tls:index/certRequest:CertRequest",
  groupsCertRequest: "pulumi-nodejs:dynamic/kube-pki:GroupsCertRequest",
  ca: "kube-pki:pki:CertificateAuthority",
  serviceAccountKey: "kube-pki:pki:ServiceAccountKey",
};
const CERTS = [TYPES.selfSigned, TYPES.locallySigned];

/** The stack of a URN (`urn:pulumi:<stack>::<project>::<types>::<name>`). */
const stackOf = (urn: string) => urn.split("::")[0]!.slice("urn:pulumi:".length);
/** The type chain of a URN: its parents' types, then its own. */
const typeChain = (urn: string) => (urn.split("::")[2] ?? "").split("$");

// ---- Private keys only as secrets ----
// The policy SDK hands policies every value with its secrets unwrapped, so whether a value was a secret can only be
// read off the wire: the (pinned) SDK's deserializer is wrapped to note, on each property bag it makes, the paths of
// the strings that hold a PEM private key outside a secret. Non-enumerable, read-only: invisible to other policies.
const PLAINTEXT_KEYS = Symbol("plaintextPrivateKeys");
function plaintextKeyPaths(value: unknown, path: string, out: string[]): string[] {
  if (typeof value === "string") {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) out.push(path);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => plaintextKeyPaths(v, `${path}[${i}]`, out));
  } else if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (isSecretEnvelope(o)) return out;
    for (const [k, v] of Object.entries(o)) plaintextKeyPaths(v, path ? `${path}.${k}` : k, out);
  }
  return out;
}
const deserialize = require("@pulumi/policy/deserialize") as { deserializeProperties: (s: any, proxySecrets: boolean) => any };
const deserializeProperties = deserialize.deserializeProperties;
deserialize.deserializeProperties = (struct: any, proxySecrets: boolean) => {
  const props = deserializeProperties(struct, proxySecrets);
  if (!proxySecrets) Object.defineProperty(props, PLAINTEXT_KEYS, { value: plaintextKeyPaths(struct.toJavaScript(), "", []) });
  return props;
};
const plaintextKeys = (props: Record<string, any>): string[] => props[PLAINTEXT_KEYS as any] ?? [];

// ---- Rules ----

interface KeyStrength {
  minRsaBits: number;
  allowedAlgorithms: string[];
  allowedEcdsaCurves: string[];
}
const keyStrength: ResourceValidationPolicy = {
  name: "key-strength",
  description: "Private keys are RSA of at least minRsaBits bits or ECDSA on an allowed curve (kubeadm: RSA-2048+, P-256, P-384).",
  configSchema: {
    properties: {
      minRsaBits: { type: "integer", default: 2048 },
      allowedAlgorithms: { type: "array", items: { type: "string" }, default: ["RSA", "ECDSA"] },
      allowedEcdsaCurves: { type: "array", items: { type: "string" }, default: ["P256", "P384"] },
    },
  },
  validateResource: (args, report) => {
    if (args.type !== TYPES.privateKey) return;
    const c = args.getConfig<KeyStrength>();
    const algorithm = String(args.props.algorithm);
    // The tls provider's own defaults when the input is left out.
    const bits = Number(args.props.rsaBits ?? 2048);
    const curve = String(args.props.ecdsaCurve ?? "P224");
    if (!c.allowedAlgorithms.includes(algorithm)) {
      report(`${args.name}: algorithm ${algorithm} is not allowed (allowedAlgorithms: ${c.allowedAlgorithms.join(", ")})`);
    } else if (algorithm === "RSA" && bits < c.minRsaBits) {
      report(`${args.name}: RSA key of ${bits} bits, below minRsaBits ${c.minRsaBits}`);
    } else if (algorithm === "ECDSA" && !c.allowedEcdsaCurves.includes(curve)) {
      report(`${args.name}: ECDSA curve ${curve} is not allowed (allowedEcdsaCurves: ${c.allowedEcdsaCurves.join(", ")})`);
    }
  },
};

const isCaCert = (args: { type: string; props: Record<string, any> }) => CERTS.includes(args.type) && args.props.isCaCertificate === true;
const maxValidity = (name: string, ca: boolean, hours: number): ResourceValidationPolicy => ({
  name,
  description: `${ca ? "CA" : "Leaf"} certificates are valid for at most maxHours hours (kubeadm: ${hours}).`,
  configSchema: { properties: { maxHours: { type: "integer", minimum: 1, default: hours } } },
  validateResource: (args, report) => {
    if (!CERTS.includes(args.type) || isCaCert(args) !== ca) return;
    const { maxHours } = args.getConfig<{ maxHours: number }>();
    const valid = Number(args.props.validityPeriodHours);
    if (valid > maxHours) report(`${args.name}: valid for ${valid} h, above maxHours ${maxHours} for ${ca ? "a CA" : "a leaf"}`);
  },
});

const earlyRenewal: ResourceValidationPolicy = {
  name: "early-renewal",
  description:
    "Leaf certificates are re-issued by a pulumi up at least minHours before they expire, so the scheduled update renews them in time.",
  configSchema: { properties: { minHours: { type: "integer", minimum: 0, default: 168 } } },
  validateResource: (args, report) => {
    if (!CERTS.includes(args.type) || isCaCert(args)) return;
    const { minHours } = args.getConfig<{ minHours: number }>();
    const early = Number(args.props.earlyRenewalHours ?? 0);
    if (early < minHours) report(`${args.name}: early renewal window of ${early} h, below minHours ${minHours}`);
  },
};

/** A CA (its component, certificate or key) or the service-account signing key, which kube-pki protects like one. */
const isTrustRoot = (args: ResourceValidationArgs) =>
  isCaCert(args) || typeChain(args.urn).some((t) => t === TYPES.ca || t === TYPES.serviceAccountKey);
/**
 * The trust-root resources kube-pki unprotects on purpose: the old generation in a declared rotation's switch phase,
 * which its drop phase deletes (README, "Rotating a CA"). Read from the stack's kube-pki config, which the engine
 * hands the pack; none for a stack of another program.
 */
let leaving: Set<string> | undefined;
function leavingNames(): Set<string> {
  leaving ??= new Set(
    (new pulumi.Config("kube-pki").getObject<any[]>("clusters") ?? []).flatMap((cluster) =>
      TRUST_ROOTS.flatMap((root) =>
        trustPlan(root, cluster?.rotation?.[TRUST_ROOT_KEYS[root]], undefined).leaving.flatMap((generation) =>
          root === "sa"
            ? [undefined, "key" as const].map((part) => buildName({ kind: "service-account", cluster: cluster.name, generation, part }))
            : [undefined, "key" as const, "cert" as const].map((part) =>
                buildName({ kind: "ca", cluster: cluster.name, ca: root, generation, part }),
              ),
        ),
      ),
    ),
  );
  return leaving;
}
const protectCas: ResourceValidationPolicy = {
  name: "protect-cas-in-production",
  description: "In production stacks (productionStacks, a regular expression on the stack name) every CA resource has `protect` set.",
  configSchema: { properties: { productionStacks: { type: "string", default: "^prod(-|$)" } } },
  validateResource: (args, report) => {
    const { productionStacks } = args.getConfig<{ productionStacks: string }>();
    if (!new RegExp(productionStacks).test(stackOf(args.urn)) || !isTrustRoot(args) || args.opts.protect) return;
    if (leavingNames().has(args.name)) return;
    report(`${args.name}: a CA resource without protect in production stack ${stackOf(args.urn)} (kube-pki: protectCAs: true)`);
  },
};

interface BreakGlass {
  privilegedGroups: string[];
  breakGlassIdentities: string[];
}
const systemMasters: ResourceValidationPolicy = {
  name: "system-masters-break-glass",
  description:
    "A certificate subject in a privileged group (system:masters bypasses RBAC and cannot be revoked) is a break-glass identity listed in breakGlassIdentities.",
  configSchema: {
    properties: {
      privilegedGroups: { type: "array", items: { type: "string" }, default: ["system:masters"] },
      // kubeadm's own break-glass credential: super-admin.conf.
      breakGlassIdentities: { type: "array", items: { type: "string" }, default: ["kubernetes-super-admin"] },
    },
  },
  validateResource: (args, report) => {
    const subject: { commonName?: string; organizations: string[] } | undefined =
      args.type === TYPES.groupsCertRequest
        ? { commonName: args.props.commonName, organizations: args.props.organizations ?? [] }
        : args.type === TYPES.certRequest || args.type === TYPES.selfSigned
          ? { commonName: args.props.subject?.commonName, organizations: [args.props.subject?.organization].filter(Boolean) }
          : undefined;
    if (!subject) return;
    const c = args.getConfig<BreakGlass>();
    // Kubernetes takes users and groups from CN and O exactly as written: compared as such.
    const privileged = subject.organizations.filter((o) => c.privilegedGroups.includes(o));
    if (privileged.length === 0 || c.breakGlassIdentities.includes(subject.commonName ?? "")) return;
    report(
      `${args.name}: CN=${subject.commonName} is in ${privileged.join(", ")} and is not a break-glass identity (breakGlassIdentities: ` +
        `${c.breakGlassIdentities.join(", ")}); list it there and declare it with breakGlass: true, or use kubeadm:cluster-admins`,
    );
  },
};

const reportPlaintext = (name: string, what: string, props: Record<string, any>, report: ReportViolation, urn?: string) => {
  for (const path of plaintextKeys(props)) report(`${name}: ${what} ${path} holds a private key and is not a secret`, urn);
};
const privateKeyInputs: ResourceValidationPolicy = {
  name: "private-key-inputs-secret",
  description: "No resource input holds a PEM private key unless it is a secret (the state would keep it in clear text).",
  validateResource: (args, report) => reportPlaintext(args.name, "input", args.props, report),
};
const privateKeyOutputs: StackValidationPolicy = {
  name: "private-key-outputs-secret",
  description: "No stack output or resource output holds a PEM private key unless it is a secret.",
  validateStack: (args, report) => {
    for (const r of args.resources) {
      reportPlaintext(r.name, r.type === "pulumi:pulumi:Stack" ? "stack output" : "output", r.props, report, r.urn);
    }
  },
};

new PolicyPack("kube-pki", {
  enforcementLevel: "mandatory",
  policies: [
    keyStrength,
    maxValidity("leaf-validity", false, 8760),
    maxValidity("ca-validity", true, 87600),
    earlyRenewal,
    protectCas,
    systemMasters,
    privateKeyInputs,
    privateKeyOutputs,
  ],
});
