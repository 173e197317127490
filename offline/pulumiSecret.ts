// Pulumi's secret envelope, as the engine writes it in a checkpoint, a stack export and on the wire (the pinned SDK's
// sdk/go/common/resource/sig: Key and Secret): `{ "<Key>": "<Secret>", ciphertext | plaintext | value }`. One copy of
// the two constants: a mistyped key reads every secret as an ordinary object, silently.
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Whether `value` is a secret's envelope. */
export const isSecretEnvelope = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
