// The trust roots of a cluster (the three CAs and the service-account key), brought in from an existing cluster
// (adoption) or made by kube-pki, and rotated without a trust break in three declared phases (docs/kubeadm.md §11):
//   add     a new generation exists; every trust file, kubeconfig CA and sa.pub holds old + new; the old one signs;
//   switch  the new one signs (every leaf re-issued, sa.key replaced); trust still holds both;
//   drop    only the new one is left.
// One phase per `pulumi up`; skipping one is refused. Pure code: which generations exist, which signs, in which
// order the trust bundle lists them, how adopted material is checked.
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import type { KeyAlgorithm } from "./config";
import { TRUST_ROOT_KEYS } from "./names";

/** The trust roots: the CAs by their catalog name, and the service-account key pair. */
export const TRUST_ROOTS = ["ca", "front-proxy-ca", "etcd-ca", "sa"] as const;
export type TrustRoot = (typeof TRUST_ROOTS)[number];
export { TRUST_ROOT_KEYS };

export const ROTATION_PHASES = ["add", "switch", "drop"] as const;
export type RotationPhase = (typeof ROTATION_PHASES)[number];

export interface RotationSpec {
  /** The generation being rotated to (≥ 2); the one it replaces is `generation - 1`. */
  readonly generation: number;
  readonly phase: RotationPhase;
}

/** An existing root brought in: its certificate (CAs) or public key (sa), its private key in a secret config key. */
export interface AdoptedRoot {
  /** PEM certificate (a CA) or PKIX public key (the service-account key), as the node has it. */
  readonly pem: string;
  /** Name of the secret stack config key (`kube-pki:<name>`) holding the private key PEM. */
  readonly keyConfig: string;
}

/** What exists of one root: generations in trust-bundle order (the signer first), and which signs. */
export interface TrustPlan {
  readonly root: TrustRoot;
  /** Generations in the order trust bundles list them: the signing one first (a signer loads the first certificate). */
  readonly generations: readonly number[];
  readonly signer: number;
  /** Generation 1 is the adopted root (no resources: the given certificate and key). */
  readonly adopted?: AdoptedRoot;
  /** Generations that leave with the next phase: no longer protected (their deletion is declared). */
  readonly leaving: readonly number[];
  readonly rotation?: RotationSpec;
}

export function trustPlan(root: TrustRoot, rotation: RotationSpec | undefined, adopted: AdoptedRoot | undefined): TrustPlan {
  if (!rotation) return { root, generations: [1], signer: 1, adopted, leaving: [] };
  const { generation: g, phase } = rotation;
  const keepsAdopted = g - 1 === 1 && phase !== "drop" ? adopted : undefined;
  switch (phase) {
    case "add":
      return { root, generations: [g - 1, g], signer: g - 1, adopted: keepsAdopted, leaving: [], rotation };
    case "switch":
      return { root, generations: [g, g - 1], signer: g, adopted: keepsAdopted, leaving: [g - 1], rotation };
    case "drop":
      return { root, generations: [g], signer: g, leaving: [], rotation };
  }
}

/** The resource name of a root's generation: generation 1 keeps the name it always had. */
/**
 * The PEM blocks of one label in a text (a trust bundle holds one per generation), each as a file holds it: ending
 * in one newline.
 */
export function pemBlocks(text: string, label: "CERTIFICATE" | "PUBLIC KEY" = "CERTIFICATE"): string[] {
  return (text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, "g")) ?? []).map((b) => `${b}\n`);
}

/**
 * A rotation's state as the stack records it (an output), to check the next phase against; at *switch* also when the
 * switch was first recorded (RFC 3339; absent in stacks deployed before it was recorded), for rules that wait on it.
 */
export type RotationState = Partial<Record<TrustRoot, RotationSpec & { readonly switchedAt?: string }>>;

/**
 * The state to record: the configured phases, each *switch* with its time: kept from the previous record of the same
 * switch, else this update's time (a stack that recorded the switch without a time gets one now).
 */
export function recordedRotation(
  configured: Partial<Record<TrustRoot, RotationSpec>>,
  previous: RotationState | undefined,
  now: Date,
): RotationState {
  return Object.fromEntries(
    Object.entries(configured).map(([root, r]) => {
      if (r!.phase !== "switch") return [root, { ...r }];
      const before = previous?.[root as TrustRoot];
      const kept = before?.phase === "switch" && before.generation === r!.generation ? before.switchedAt : undefined;
      return [root, { ...r, switchedAt: kept ?? now.toISOString() }];
    }),
  );
}

/**
 * Problems with moving from the recorded rotation state to the configured one: one phase per `pulumi up`, in order
 * (none → add → switch → drop), a new rotation only from a finished one (`drop`, or none), the generation one above.
 */
export function rotationProblems(path: string, previous: RotationSpec | undefined, next: RotationSpec | undefined): string[] {
  const prevGen = previous ? (previous.phase === "drop" ? previous.generation : previous.generation - 1) : 1;
  if (!next) {
    return previous && previous.phase !== "drop"
      ? [
          `${path}: the rotation to generation ${previous.generation} is at phase ${previous.phase}; finish it (switch, then drop) before removing it`,
        ]
      : previous
        ? [
            `${path}: removing a finished rotation would bring generation ${previous.generation - 1} back; keep { generation: ${previous.generation}, phase: drop }`,
          ]
        : [];
  }
  if (previous && previous.generation === next.generation) {
    const order = ROTATION_PHASES.indexOf(next.phase) - ROTATION_PHASES.indexOf(previous.phase);
    if (order === 0 || order === 1) return [];
    return [
      `${path}.phase: ${previous.phase} → ${next.phase} ${order < 0 ? "goes back" : `skips ${ROTATION_PHASES.slice(ROTATION_PHASES.indexOf(previous.phase) + 1, ROTATION_PHASES.indexOf(next.phase)).join(", ")}`}: ` +
        `one phase per pulumi up (add, switch, drop)`,
    ];
  }
  if (next.generation !== prevGen + 1) {
    return [
      `${path}.generation: ${next.generation} does not follow the current generation ${prevGen}${previous && previous.phase !== "drop" ? ` (the rotation to ${previous.generation} is at phase ${previous.phase})` : ""}`,
    ];
  }
  if (previous && previous.phase !== "drop")
    return [`${path}: the rotation to generation ${previous.generation} is at phase ${previous.phase}; finish it first`];
  return next.phase === "add" ? [] : [`${path}.phase: a rotation starts with add, not ${next.phase}`];
}

const daysLeft = (c: X509Certificate, now: Date) => (Date.parse(c.validTo) - now.getTime()) / 86_400_000;

/**
 * Problems with adopted material, named by config path: a key that does not match its certificate (or public key),
 * a certificate that is not a CA, an expired CA, an RSA key shorter than 2048 bits.
 */
export function adoptionProblems(
  path: string,
  root: TrustRoot,
  adopted: AdoptedRoot,
  keyPem: string | undefined,
  now = new Date(),
  where?: { readonly pem: string; readonly key: string },
): string[] {
  const problems: string[] = [];
  const field = root === "sa" ? "publicKey" : "certificate";
  // Messages name config paths, or (for the adopt command) the files read.
  const at = (s: string) =>
    where
      ? // Functions as replacements: a `$&` in a file's path is text, not a pattern.
        s
          .replace(`${path}.${field}`, () => where.pem)
          .replace(`${path}.keyConfig`, () => where.key)
          .replace(` in kube-pki:${adopted.keyConfig}`, "")
          .replace(`kube-pki:${adopted.keyConfig} is`, "it is")
      : s;
  let publicDer: Buffer | undefined;
  try {
    if (root === "sa") publicDer = createPublicKey(adopted.pem).export({ type: "spki", format: "der" });
    else {
      const cert = new X509Certificate(adopted.pem);
      if (!cert.ca)
        problems.push(`${path}.${field}: is not a CA certificate (basicConstraints CA:FALSE); adopt the cluster's CA, not a leaf`);
      if (daysLeft(cert, now) <= 0)
        problems.push(
          `${path}.${field}: the CA expired on ${new Date(cert.validTo).toISOString()}; it cannot sign (rotate to a new CA instead)`,
        );
      publicDer = cert.publicKey.export({ type: "spki", format: "der" });
    }
  } catch (e) {
    problems.push(`${path}.${field}: not a PEM ${root === "sa" ? "public key" : "certificate"} (${(e as Error).message})`);
  }
  if (keyPem === undefined) {
    problems.push(`${path}.keyConfig: the secret stack config "kube-pki:${adopted.keyConfig}" is not set (npm run adopt sets it)`);
    return problems.map(at);
  }
  try {
    const key = createPrivateKey(keyPem);
    if (key.asymmetricKeyType === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      problems.push(
        `${path}.keyConfig: the RSA key in kube-pki:${adopted.keyConfig} has ${key.asymmetricKeyDetails?.modulusLength} bits; at least 2048 are required`,
      );
    }
    if (publicDer && !createPublicKey(key).export({ type: "spki", format: "der" }).equals(publicDer)) {
      problems.push(
        `${path}.keyConfig: the key in kube-pki:${adopted.keyConfig} does not match the ${root === "sa" ? "public key" : "certificate"}`,
      );
    }
  } catch (e) {
    problems.push(`${path}.keyConfig: kube-pki:${adopted.keyConfig} is not a PEM private key (${(e as Error).message.split("\n")[0]})`);
  }
  return problems.map(at);
}

// ---- identity: a trust root never changes unless a declared rotation says so -----------------------------------------

/** One generation of a trust root as the stack records it after each update (output `trustRoots`). */
export interface RootGeneration {
  readonly generation: number;
  /** Brought in by `adopt` (no resource) rather than made by kube-pki. */
  readonly adopted: boolean;
  /** SHA-256 (hex) of the certificate (a CA) or of the public key's SPKI (sa); "" where not known (offline). */
  readonly sha256: string;
  /** How a made generation was made: a later config change applies to generations made after it, never to this one. */
  readonly keyAlgorithm?: KeyAlgorithm;
  readonly validityHours?: number;
  /** A CA's expiry (RFC 3339); "" where not known. */
  readonly notAfter?: string;
}

/** Per trust root, its generations as recorded. */
export type RecordedRoots = Partial<Record<TrustRoot, readonly RootGeneration[]>>;

/** The identity hash of a root's PEM: the certificate's DER for a CA, the public key's SPKI DER for `sa`. */
export function rootSha256(root: TrustRoot, pem: string): string {
  const der = root === "sa" ? createPublicKey(pem).export({ type: "spki", format: "der" }) : new X509Certificate(pem).raw;
  return createHash("sha256").update(der).digest("hex");
}

const rootNoun = (root: TrustRoot) => (root === "sa" ? "service-account key" : "CA");

/**
 * Problems with a configured root whose recorded generations the config would give another identity (`path` is the
 * cluster's, `clusters[0]`): dropping `adopt` (kube-pki would make a new root in its place), adopting over a root
 * kube-pki made, or adopting a different one. Generations a declared rotation drops are not checked (they leave).
 */
export function identityProblems(path: string, plan: TrustPlan, recorded: readonly RootGeneration[] | undefined): string[] {
  const key = TRUST_ROOT_KEYS[plan.root];
  const at = `${path}.adopt.${key}`;
  const noun = rootNoun(plan.root);
  const next = Math.max(...plan.generations, ...(recorded ?? []).map((r) => r.generation)) + 1;
  const rotate =
    `a trust root changes only by a declared rotation (rotation.${key}: { generation: ${next}, phase: add }, then ` +
    `switch, then drop; README "Rotating a CA")`;
  return plan.generations.flatMap((g) => {
    const was = recorded?.find((r) => r.generation === g);
    if (!was) return [];
    const adoptedNow = g === 1 && plan.adopted !== undefined;
    const short = (h: string) => h.slice(0, 16);
    if (was.adopted && !adoptedNow) {
      return [
        `${at}: generation ${g} of ${plan.root} is the adopted ${noun} (sha256 ${short(was.sha256)}…); without adopt.${key} ` +
          `kube-pki would make a new one in its place and re-issue everything it signs: keep adopt.${key} until the drop phase of a rotation; ${rotate}`,
      ];
    }
    if (!was.adopted && adoptedNow) {
      return [
        `${at}: generation ${g} of ${plan.root} is a ${noun} kube-pki made${was.sha256 ? ` (sha256 ${short(was.sha256)}…)` : ""}; ` +
          `adopting another would replace it and re-issue everything it signs: remove adopt.${key}; ${rotate}`,
      ];
    }
    const now = adoptedNow ? rootSha256(plan.root, plan.adopted!.pem) : "";
    if (adoptedNow && was.sha256 && now !== was.sha256) {
      return [
        `${at}.${plan.root === "sa" ? "publicKey" : "certificate"}: is not the ${noun} this stack adopted (sha256 ` +
          `${short(was.sha256)}…, now ${short(now)}…): ${rotate}`,
      ];
    }
    return [];
  });
}

/** How a made generation must be made: as recorded (its identity), else from the config. */
export function madeAs<T extends { keyAlgorithm: KeyAlgorithm; validityHours?: number }>(spec: T, recorded: RootGeneration | undefined): T {
  if (!recorded || recorded.adopted || !recorded.keyAlgorithm) return spec;
  return {
    ...spec,
    keyAlgorithm: recorded.keyAlgorithm,
    ...(spec.validityHours !== undefined && recorded.validityHours ? { validityHours: recorded.validityHours } : {}),
  };
}

/**
 * A CA that signs must outlive the leaves it signs now: the signing generation's expiry against `leafHours` from now.
 * A problem when it expires first (unless a rotation away from it is under way: its leaves are re-issued at switch),
 * a warning when it expires within twice that. `path` is the cluster's.
 */
export function signerExpiry(
  path: string,
  plan: TrustPlan,
  notAfter: string | undefined,
  leafHours: number,
  now = new Date(),
): { problem?: string; warning?: string } {
  if (plan.root === "sa" || !notAfter) return {};
  const end = Date.parse(notAfter);
  if (Number.isNaN(end)) return {};
  const key = TRUST_ROOT_KEYS[plan.root];
  const leafEnd = now.getTime() + leafHours * 3_600_000;
  const leaving = plan.rotation?.phase === "add" && plan.signer === plan.rotation.generation - 1;
  const declare = `declare rotation.${key}: { generation: ${plan.signer + 1}, phase: add } (then switch, then drop; README "Rotating a CA")`;
  const where = plan.adopted && plan.signer === 1 ? `${path}.adopt.${key}.certificate` : `${path}.rotation.${key}`;
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  if (end < leafEnd && !leaving) {
    const hoursLeft = Math.max(0, Math.floor((end - now.getTime()) / 3_600_000));
    return {
      problem:
        `${where}: the ${plan.root} CA (generation ${plan.signer}) expires on ${day(end)}, before the leaves it would sign now ` +
        `(validity.leafHours ${leafHours} h, until ${day(leafEnd)}): ${declare}, or lower validity.leafHours below ${hoursLeft}`,
    };
  }
  if (end < now.getTime() + 2 * leafHours * 3_600_000 && !leaving) {
    return {
      warning:
        `${where}: the ${plan.root} CA (generation ${plan.signer}) expires on ${day(end)}; leaves issued after ` +
        `${day(end - leafHours * 3_600_000)} would outlive it and will be refused: ${declare} before then`,
    };
  }
  return {};
}
