// The trust roots of a cluster (the three CAs and the service-account key), brought in from an existing cluster
// (adoption) or made by kube-pki, and rotated without a trust break in three declared phases (docs/kubeadm.md §11):
//   add     a new generation exists; every trust file, kubeconfig CA and sa.pub holds old + new; the old one signs;
//   switch  the new one signs (every leaf re-issued, sa.key replaced); trust still holds both;
//   drop    only the new one is left.
// One phase per `pulumi up`; skipping one is refused. Pure code: which generations exist, which signs, in which
// order the trust bundle lists them, how adopted material is checked.
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";

/** The trust roots: the CAs by their catalog name, and the service-account key pair. */
export const TRUST_ROOTS = ["ca", "front-proxy-ca", "etcd-ca", "sa"] as const;
export type TrustRoot = (typeof TRUST_ROOTS)[number];
/** How each root is spelt in the config (`adopt.<key>`, `rotation.<key>`). */
export const TRUST_ROOT_KEYS: Readonly<Record<TrustRoot, string>> = { ca: "ca", "front-proxy-ca": "frontProxyCa", "etcd-ca": "etcdCa", sa: "serviceAccount" };

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
    case "add": return { root, generations: [g - 1, g], signer: g - 1, adopted: keepsAdopted, leaving: [], rotation };
    case "switch": return { root, generations: [g, g - 1], signer: g, adopted: keepsAdopted, leaving: [g - 1], rotation };
    case "drop": return { root, generations: [g], signer: g, leaving: [], rotation };
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

export const generationName = (base: string, generation: number) => (generation === 1 ? base : `${base}-g${generation}`);

/** A rotation's state as the stack records it (an output), to check the next phase against. */
export type RotationState = Partial<Record<TrustRoot, RotationSpec>>;

/**
 * Problems with moving from the recorded rotation state to the configured one: one phase per `pulumi up`, in order
 * (none → add → switch → drop), a new rotation only from a finished one (`drop`, or none), the generation one above.
 */
export function rotationProblems(path: string, previous: RotationSpec | undefined, next: RotationSpec | undefined): string[] {
  const prevGen = previous ? (previous.phase === "drop" ? previous.generation : previous.generation - 1) : 1;
  if (!next) {
    return previous && previous.phase !== "drop"
      ? [`${path}: the rotation to generation ${previous.generation} is at phase ${previous.phase}; finish it (switch, then drop) before removing it`]
      : previous ? [`${path}: removing a finished rotation would bring generation ${previous.generation - 1} back; keep { generation: ${previous.generation}, phase: drop }`] : [];
  }
  if (previous && previous.generation === next.generation) {
    const order = ROTATION_PHASES.indexOf(next.phase) - ROTATION_PHASES.indexOf(previous.phase);
    if (order === 0 || order === 1) return [];
    return [`${path}.phase: ${previous.phase} → ${next.phase} ${order < 0 ? "goes back" : `skips ${ROTATION_PHASES.slice(ROTATION_PHASES.indexOf(previous.phase) + 1, ROTATION_PHASES.indexOf(next.phase)).join(", ")}`}: ` +
      `one phase per pulumi up (add, switch, drop)`];
  }
  if (next.generation !== prevGen + 1) {
    return [`${path}.generation: ${next.generation} does not follow the current generation ${prevGen}${previous && previous.phase !== "drop" ? ` (the rotation to ${previous.generation} is at phase ${previous.phase})` : ""}`];
  }
  if (previous && previous.phase !== "drop") return [`${path}: the rotation to generation ${previous.generation} is at phase ${previous.phase}; finish it first`];
  return next.phase === "add" ? [] : [`${path}.phase: a rotation starts with add, not ${next.phase}`];
}

const daysLeft = (c: X509Certificate, now: Date) => (Date.parse(c.validTo) - now.getTime()) / 86_400_000;

/**
 * Problems with adopted material, named by config path: a key that does not match its certificate (or public key),
 * a certificate that is not a CA, an expired CA, an RSA key shorter than 2048 bits.
 */
export function adoptionProblems(path: string, root: TrustRoot, adopted: AdoptedRoot, keyPem: string | undefined, now = new Date(),
  where?: { readonly pem: string; readonly key: string }): string[] {
  const problems: string[] = [];
  const field = root === "sa" ? "publicKey" : "certificate";
  // Messages name config paths, or (for the adopt command) the files read.
  const at = (s: string) => (where
    ? s.replace(`${path}.${field}`, where.pem).replace(`${path}.keyConfig`, where.key).replace(` in kube-pki:${adopted.keyConfig}`, "").replace(`kube-pki:${adopted.keyConfig} is`, "it is")
    : s);
  let publicDer: Buffer | undefined;
  try {
    if (root === "sa") publicDer = createPublicKey(adopted.pem).export({ type: "spki", format: "der" });
    else {
      const cert = new X509Certificate(adopted.pem);
      if (!cert.ca) problems.push(`${path}.${field}: is not a CA certificate (basicConstraints CA:FALSE); adopt the cluster's CA, not a leaf`);
      if (daysLeft(cert, now) <= 0) problems.push(`${path}.${field}: the CA expired on ${new Date(cert.validTo).toISOString()}; it cannot sign (rotate to a new CA instead)`);
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
      problems.push(`${path}.keyConfig: the RSA key in kube-pki:${adopted.keyConfig} has ${key.asymmetricKeyDetails?.modulusLength} bits; at least 2048 are required`);
    }
    if (publicDer && !createPublicKey(key).export({ type: "spki", format: "der" }).equals(publicDer)) {
      problems.push(`${path}.keyConfig: the key in kube-pki:${adopted.keyConfig} does not match the ${root === "sa" ? "public key" : "certificate"}`);
    }
  } catch (e) {
    problems.push(`${path}.keyConfig: kube-pki:${adopted.keyConfig} is not a PEM private key (${(e as Error).message.split("\n")[0]})`);
  }
  return problems.map(at);
}
