// Pulumi's RPC secret envelope, `{ [specialSigKey]: specialSecretSig, value }`: how the mock runtime hands secret
// inputs to its mocks and how a provider receives and returns secrets. The constants and the test are the SDK's own
// public exports (pulumi.runtime), never copies, so the stand-ins cannot drift from the SDK they run under.
import * as pulumi from "@pulumi/pulumi";

const { specialSigKey, specialSecretSig, isRpcSecret } = pulumi.runtime;

/** `value` in the secret envelope, as a provider returns a secret output. */
export function wrapSecret(value: unknown): Record<string, unknown> {
  return { [specialSigKey]: specialSecretSig, value };
}

/** True when the value arrived in the secret envelope (only the outer level: a nested secret does not count). */
export function isWrappedSecret(value: unknown): value is { value: unknown } {
  return Boolean(isRpcSecret(value));
}

/** Removes the secret envelopes at any depth (e.g. one secret item of a dnsNames list). */
export function unwrapSecrets(value: unknown): unknown {
  if (isWrappedSecret(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object" && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}
