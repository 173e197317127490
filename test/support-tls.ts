// Helpers of the tls stand-in tests (test/tlsStandIn*.test.ts): openssl on real artefacts, and creating resources with
// the stand-in directly, without the Pulumi runtime.
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { unwrapSecrets } from "../emulator/secrets";
import { TLS_TYPES, TlsStandIn } from "../emulator/tlsStandIn";

const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-standin-test-"));
let tmpCounter = 0;

export function tmpFile(content: string, mode = 0o600): string {
  const file = path.join(tmpDir, `f${tmpCounter++}`);
  fs.writeFileSync(file, content, { mode });
  return file;
}

export function openssl(args: string[], input?: string): string {
  return execFileSync("openssl", args, { input, stdio: ["pipe", "pipe", "pipe"] }).toString();
}

export function opensslDer(args: string[], input?: string): Buffer {
  return execFileSync("openssl", args, { input, stdio: ["pipe", "pipe", "pipe"] });
}

/** openssl exit status + stdout and stderr (`verify` and `req -verify` report on different streams). */
export function opensslStatus(args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync("openssl", args, { input });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

export function plain<T = string>(v: unknown): T {
  return unwrapSecrets(v) as T;
}

export function certText(pem: string): string {
  return openssl(["x509", "-noout", "-text"], pem);
}

export function asn1parse(pem: string): string {
  return openssl(["asn1parse", "-i"], pem);
}

/** The text block that follows an extension's heading in `openssl x509 -text`. */
export function extensionValue(text: string, heading: string): string {
  const m = new RegExp(`${heading}:( critical)? ?\\n\\s+(.*)`).exec(text);
  assert.ok(m, `extension ${heading} missing`);
  return (m[2] as string).trim();
}

/** Names of the OBJECTs asn1parse shows, in DER order. */
export function objects(parsed: string): string[] {
  return [...parsed.matchAll(/OBJECT\s+:(.*)/g)].map((m) => (m[1] as string).trim());
}

export function spkiDer(publicKeyPem: string): Buffer {
  return opensslDer(["pkey", "-pubin", "-outform", "DER"], publicKeyPem);
}

/** Independent restatement of the id rule (§2): SHA-1 after trimming ASCII whitespace at the end. */
export function expectedId(der: Buffer): string {
  let end = der.length;
  while (end > 0 && [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20].includes(der[end - 1] as number)) end--;
  return crypto.createHash("sha1").update(der.subarray(0, end)).digest("hex");
}

export function derOfPem(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}

/** §2: Go pem.EncodeToMemory: given block type, 64-char lines, exactly one trailing newline. */
export function assertGoPem(pem: string, type: string): void {
  const lines = pem.split("\n");
  assert.equal(lines[0], `-----BEGIN ${type}-----`);
  assert.equal(lines.at(-1), "", "ends with a newline");
  assert.equal(lines.at(-2), `-----END ${type}-----`, "exactly one trailing newline");
  const body = lines.slice(1, -2);
  body.slice(0, -1).forEach((l) => assert.equal(l.length, 64));
  assert.ok((body.at(-1) as string).length <= 64 && (body.at(-1) as string).length > 0);
}

export const FIXED_NOW = new Date("2026-03-16T18:32:32.577Z");
/** `openssl verify` at a given instant (a minute after FIXED_NOW by default), so results do not depend on the date. */
export function verifyArgs(at: Date | null = FIXED_NOW): string[] {
  return at ? ["verify", "-attime", String(Math.floor(at.getTime() / 1000) + 60)] : ["verify"];
}
export const CA_USES = ["digital_signature", "key_encipherment", "cert_signing"];
export const SERVER_USES = ["digital_signature", "key_encipherment", "server_auth"];

export type State = Record<string, any>;
/** A resource the stand-in created: its id and state. */
export interface Created {
  id: string;
  state: State;
}
export async function create(s: TlsStandIn, type: string, inputs: Record<string, unknown>, name = "r"): Promise<Created> {
  return s.newResource({ type, name, inputs });
}

export async function key(s: TlsStandIn, inputs: Record<string, unknown>) {
  return create(s, TLS_TYPES.privateKey, inputs);
}

export async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.match(e.message, re);
    return true;
  });
}

process.on("exit", () => fs.rmSync(tmpDir, { recursive: true, force: true }));

// ----- PrivateKey ------------------------------------------------------------------------------------------

/** §7.1 DER order, O before CN, of the subject that starts an asn1parse dump (its OBJECTs before the key algorithm's). */
export function assertSubjectOrder(parsed: string, keyAlg: string): void {
  const all = objects(parsed);
  assert.deepEqual(all.slice(0, all.indexOf(keyAlg)), ["organizationName", "commonName"]);
}

/** A self-signed CA as kube-pki makes one (ten years, CA uses), with its key. */
export async function selfSignedCa(s: TlsStandIn, curve: string, subject: Record<string, unknown>) {
  const caKey = await key(s, { algorithm: "ECDSA", ecdsaCurve: curve });
  const ca = await create(s, TLS_TYPES.selfSignedCert, {
    privateKeyPem: caKey.state.privateKeyPem,
    isCaCertificate: true,
    validityPeriodHours: 87600,
    allowedUses: CA_USES,
    subject,
  });
  return { caKey, ca };
}
