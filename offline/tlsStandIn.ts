/**
 * A faithful stand-in for the @pulumi/tls 5.6.1 provider under Pulumi's mock runtime.
 *
 * It makes REAL keys, CSRs and certificates, byte-compatible (where it matters) with what the Go provider
 * (hashicorp/terraform-provider-tls, bridged) produces. The specification is
 * docs/tls-provider.md; comments cite its sections as "§n". Where Go's stdlib decides the
 * encoding (crypto/x509, encoding/asn1, pkix.Name, net.ParseIP, x/crypto/ssh) the Go rule is named.
 *
 * Crypto: node:crypto generates keys (async, on the libuv pool) and signs (any curve, P-224 included).
 * Structures: the ASN.1 model of @peculiar/x509 — its own building blocks @peculiar/asn1-schema, asn1-x509 and
 * asn1-csr (installed with @peculiar/x509 2.2.0) — so no DER is written by hand. The high-level
 * X509CertificateGenerator / Pkcs10CertificateRequestGenerator were measured ~3x slower (they re-parse every
 * extension, name and the result) and cannot express Go's details (DER-sorted multi-valued RDNs, exact string
 * types), so the TBS structures are filled in directly, as those generators do internally.
 * Hand-written encodings: only the OpenSSH key formats (not ASN.1) and big.Int's INTEGER content bytes.
 */
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import * as asn1X509 from "@peculiar/asn1-x509";
import * as asn1Csr from "@peculiar/asn1-csr";
import * as nodeCrypto from "node:crypto";

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

export const TLS_TYPES = {
  privateKey: "tls:index/privateKey:PrivateKey",
  certRequest: "tls:index/certRequest:CertRequest",
  selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
  locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

export const TLS_FUNCTIONS = {
  getPublicKey: "tls:index/getPublicKey:getPublicKey",
  getCertificate: "tls:index/getCertificate:getCertificate",
} as const;

export interface TlsStandInOptions {
  /** Mark the provider's secret outputs (privateKeyPem, privateKeyPemPkcs8, privateKeyOpenssh, ...) as secrets in
   * the returned state, as the real engine does via additionalSecretOutputs. Default true. Tests of the program's
   * own pulumi.secret wrapping set it false (the plain mock monitor does not apply additionalSecretOutputs). */
  readonly markSecretOutputs?: boolean;
  /** Clock, for renewal/time tests. Default () => new Date(). */
  readonly now?: () => Date;
  /** Behave like `pulumi preview` of a new resource: validate inputs, echo them with defaults and the planned
   * `readyForRenewal`, but omit every computed output (certPem, ids, ...) so the mock engine reports them
   * unknown. Default false. A resource whose inputs contain a Pulumi unknown is always planned this way. */
  readonly preview?: boolean;
}

export interface StandInWarning {
  readonly type: string;
  readonly name: string;
  readonly summary: string;
  readonly detail: string;
}

export interface NewResourceArgs {
  type: string;
  name: string;
  inputs: any;
  provider?: string;
  custom?: boolean;
  id?: string;
}

export class TlsStandIn {
  /** Provider warnings (the real provider shows them in the CLI), e.g. "Potentially Invalid Certificate Authority". */
  readonly warnings: StandInWarning[] = [];
  private readonly markSecrets: boolean;
  private readonly now: () => Date;
  private readonly preview: boolean;
  private readonly keyCache = new BoundedCache<string, KeyMaterial>(512);
  private readonly caCertCache = new BoundedCache<string, ParsedCaCert>(256);
  private readonly csrCache = new BoundedCache<string, ParsedCsr>(512);

  constructor(opts: TlsStandInOptions = {}) {
    this.markSecrets = opts.markSecretOutputs ?? true;
    this.now = opts.now ?? (() => new Date());
    this.preview = opts.preview ?? false;
  }

  /** True for the four tls:index/... resource type tokens it implements. */
  handles(type: string): boolean {
    return (Object.values(TLS_TYPES) as string[]).includes(type);
  }

  async newResource(args: NewResourceArgs): Promise<{ id: string; state: Record<string, unknown> }> {
    const inputs: Record<string, unknown> = isObject(args.inputs) ? args.inputs : {};
    if (args.id) {
      // `.get()`/read: every Read of this provider is a no-op on the given state (§1; §8 refresh aside).
      return { id: args.id, state: { ...inputs } };
    }
    const plain = unwrapSecrets(inputs) as Record<string, unknown>;
    const planOnly = this.preview || containsUnknown(plain);
    const ctx: ResourceCtx = { type: args.type, name: args.name, inputs, plain, planOnly };
    switch (args.type) {
      case TLS_TYPES.privateKey:
        return this.privateKey(ctx);
      case TLS_TYPES.certRequest:
        return this.certRequest(ctx);
      case TLS_TYPES.selfSignedCert:
        return this.selfSignedCert(ctx);
      case TLS_TYPES.locallySignedCert:
        return this.locallySignedCert(ctx);
      default:
        throw new Error(`TlsStandIn does not handle resource type ${args.type}`);
    }
  }

  /** getPublicKey / getCertificate(content) invokes (§10), for pulumi.runtime.Mocks.call. */
  async call(args: { token: string; inputs: any }): Promise<Record<string, unknown>> {
    const plain = (unwrapSecrets(isObject(args.inputs) ? args.inputs : {}) ?? {}) as Record<string, unknown>;
    switch (args.token) {
      case TLS_FUNCTIONS.getPublicKey:
        return this.getPublicKey(plain);
      case TLS_FUNCTIONS.getCertificate:
        return getCertificate(plain);
      default:
        throw new Error(`TlsStandIn does not implement function ${args.token}`);
    }
  }

  // ----- tls.PrivateKey (§3) -----------------------------------------------------------------------------

  private async privateKey(ctx: ResourceCtx) {
    const p = ctx.plain;
    const algorithm = requiredString(p, "algorithm");
    oneOf("algorithm", algorithm, ALGORITHMS);
    const ecdsaCurve = optionalString(p, "ecdsaCurve") ?? "P224"; // §3: the default is P224
    oneOf("ecdsa_curve", ecdsaCurve, Object.keys(CURVES));
    const rsaBits = optionalInt(p, "rsaBits") ?? 2048;
    // Defaults are echoed even when irrelevant (an RSA key reports ecdsaCurve "P224") (§3).
    const state: Record<string, unknown> = {
      ...ctx.inputs,
      rsaBits: ctx.inputs.rsaBits ?? 2048,
      ecdsaCurve: ctx.inputs.ecdsaCurve ?? "P224",
    };
    if (ctx.planOnly) return { id: "", state };

    const key = await generateKey(algorithm as KeyAlgorithm, rsaBits, ecdsaCurve as CurveName);
    const pems = privateKeyPems(key);
    this.keyCache.set(pems.privateKeyPem, key); // the CSR/cert that follows usually reads this very PEM
    const pub = publicKeyAttributes(key.publicKey);
    Object.assign(state, {
      privateKeyPem: this.secretOutput(pems.privateKeyPem),
      privateKeyPemPkcs8: this.secretOutput(pems.privateKeyPemPkcs8),
      privateKeyOpenssh: this.secretOutput(pems.privateKeyOpenssh),
      publicKeyPem: pub.publicKeyPem,
      publicKeyOpenssh: pub.publicKeyOpenssh,
      publicKeyFingerprintMd5: pub.publicKeyFingerprintMd5,
      publicKeyFingerprintSha256: pub.publicKeyFingerprintSha256,
    });
    return { id: pub.id, state };
  }

  // ----- tls.CertRequest (§4) ----------------------------------------------------------------------------

  private async certRequest(ctx: ResourceCtx) {
    const p = ctx.plain;
    const keyPem = exactlyOneKey(p, "privateKeyPem", "private_key_pem");
    validateNonEmptyItems(p, "ipAddresses", "ip_addresses");
    validateNonEmptyItems(p, "uris", "uris");
    const state = this.echoWithSecret(ctx.inputs, "privateKeyPem", "privateKeyPemWo");
    if (ctx.planOnly) return { id: "", state };

    const key = this.parseKey(keyPem, "Failed to parse private key PEM");
    const subject = subjectFromInput(p.subject);
    const sans = sansFromInputs(p);
    const san = sanExtension(sans, false, "Error creating certificate request"); // CSR SAN is never critical
    const subjectName = asnName(subject);
    const der = await createCertificateRequest(key, subjectName, san);
    const certRequestPem = pemEncode("CERTIFICATE REQUEST", der);
    // What Go's ParseCertificateRequest will read back from this CSR (the LocallySignedCert that usually
    // follows skips re-parsing it): the subject goes through the same FillFromRDNSequence as a parsed one.
    this.csrCache.set(certRequestPem, { subject: subjectFromAsnName(subjectName), sans, publicKey: key.publicKey });
    Object.assign(state, { keyAlgorithm: key.algorithm, certRequestPem });
    return { id: hashForState(der), state };
  }

  // ----- tls.SelfSignedCert (§5) -------------------------------------------------------------------------

  private async selfSignedCert(ctx: ResourceCtx) {
    const p = ctx.plain;
    const keyPem = exactlyOneKey(p, "privateKeyPem", "private_key_pem");
    const common = validateCertInputs(p);
    validateNonEmptyItems(p, "ipAddresses", "ip_addresses");
    validateNonEmptyItems(p, "uris", "uris");
    const state = this.echoWithSecret(ctx.inputs, "privateKeyPem", "privateKeyPemWo");
    Object.assign(state, certDefaults(ctx.inputs), { setAuthorityKeyId: ctx.inputs.setAuthorityKeyId ?? false });
    Object.assign(state, plannedRenewal(common));
    if (ctx.planOnly) return { id: "", state };

    const key = this.parseKey(keyPem, "Failed to parse private key PEM");
    const subject = subjectFromInput(p.subject);
    const sans = sansFromInputs(p); // "Invalid IP address" / "Invalid URI" (§5)
    const cert = await createCertificate({
      now: this.now(),
      inputs: common,
      setAuthorityKeyId: optionalBool(p, "setAuthorityKeyId") ?? false,
      subject,
      sans,
      publicKey: key.publicKey,
      signer: key,
      parent: "self", // issuer = subject, self-signed (§5)
    });
    Object.assign(state, { keyAlgorithm: key.algorithm }, cert.outputs);
    return { id: cert.id, state };
  }

  // ----- tls.LocallySignedCert (§6) ----------------------------------------------------------------------

  private async locallySignedCert(ctx: ResourceCtx) {
    const p = ctx.plain;
    const csrPem = requiredString(p, "certRequestPem");
    const caCertPem = requiredString(p, "caCertPem");
    const caKeyPem = exactlyOneKey(p, "caPrivateKeyPem", "ca_private_key_pem");
    const common = validateCertInputs(p);
    const state = this.echoWithSecret(ctx.inputs, "caPrivateKeyPem", "caPrivateKeyPemWo");
    Object.assign(state, certDefaults(ctx.inputs), plannedRenewal(common));
    if (ctx.planOnly) return { id: "", state };

    // §6 build order: CSR (signature NOT verified), CA key, CA cert.
    const csr = this.csrCache.get(csrPem) ?? parseCsrPem(csrPem);
    const caKey = this.parseKey(caKeyPem, "Failed to parse CA private key PEM");
    const ca = this.parseCaCert(caCertPem);
    if (!ca.isCA) {
      this.warnings.push({
        type: ctx.type,
        name: ctx.name,
        summary: "Potentially Invalid Certificate Authority",
        detail:
          "Certificate provided as Authority does not appear to be a valid Certificate Authority. " +
          "The resulting certificate might fail certificate validation.",
      });
    }
    const cert = await createCertificate({
      now: this.now(),
      inputs: common,
      setAuthorityKeyId: false, // not an input of LocallySignedCert
      subject: csr.subject, // only subject + DNS/IP/URI are copied from the CSR (§6.3)
      sans: csr.sans,
      publicKey: csr.publicKey,
      signer: caKey,
      parent: ca,
    });
    Object.assign(state, { caKeyAlgorithm: caKey.algorithm }, cert.outputs);
    return { id: cert.id, state };
  }

  // ----- getPublicKey (§10) ------------------------------------------------------------------------------

  private async getPublicKey(p: Record<string, unknown>): Promise<Record<string, unknown>> {
    const pem = optionalString(p, "privateKeyPem");
    const openssh = optionalString(p, "privateKeyOpenssh");
    if ((pem === undefined) === (openssh === undefined)) {
      throw providerError(
        "Invalid Attribute Combination",
        `${pem === undefined ? "No attribute" : "2 attributes"} specified when one (and only one) of ` +
          "[private_key_pem,private_key_openssh] is required",
      );
    }
    const key =
      pem !== undefined
        ? this.parseKey(pem, "Unable to parse private key")
        : keyMaterialFrom(parseOpenSshPrivateKey(openssh as string));
    const pub = publicKeyAttributes(key.publicKey);
    return { ...p, algorithm: key.algorithm, ...pub };
  }

  // ----- helpers bound to options/caches -----------------------------------------------------------------

  private parseKey(pem: string, summary: string): KeyMaterial {
    const cached = this.keyCache.get(pem);
    if (cached) return cached;
    let key: KeyMaterial;
    try {
      key = parsePrivateKeyPem(pem);
    } catch (e) {
      throw providerError(summary, errorMessage(e));
    }
    this.keyCache.set(pem, key);
    return key;
  }

  private parseCaCert(pem: string): ParsedCaCert {
    const cached = this.caCertCache.get(pem);
    if (cached) return cached;
    let ca: ParsedCaCert;
    try {
      ca = parseCaCertPem(pem);
    } catch (e) {
      throw providerError("Failed to parse CA certificate PEM", errorMessage(e));
    }
    this.caCertCache.set(pem, ca);
    return ca;
  }

  /** §9: additionalSecretOutputs, applied only when asked (the mock monitor does not apply them). */
  private secretOutput(value: string): unknown {
    return this.markSecrets ? wrapSecret(value) : value;
  }

  /** Echo inputs; the key input stays as given (secret-wrapped if it came wrapped), is wrapped when secret outputs
   * are marked, and the write-only input is never stored (SDK: "value never stored in state"). */
  private echoWithSecret(inputs: Record<string, unknown>, secretKey: string, writeOnlyKey: string) {
    const state: Record<string, unknown> = { ...inputs };
    delete state[writeOnlyKey];
    const v = state[secretKey];
    if (v !== undefined && v !== null && this.markSecrets && !isRpcSecret(v)) state[secretKey] = wrapSecret(v);
    return state;
  }
}

/** Pure replace rules of the real provider (§1, §8, §12.3), used to predict `pulumi preview`. */
export function tlsDiff(
  type: string,
  oldInputs: Record<string, unknown>,
  newInputs: Record<string, unknown>,
): { op: "same" | "update" | "replace"; changedKeys: string[]; replaceKeys: string[] } {
  const rules = DIFF_RULES[type];
  if (!rules) throw new Error(`tlsDiff: unknown resource type ${type}`);
  const changedKeys: string[] = [];
  const replaceKeys: string[] = [];
  for (const [key, rule] of Object.entries(rules)) {
    if (rule === "ignore") continue; // write-only values never reach state, so they cannot differ from it
    const defaultValue = DIFF_DEFAULTS[key];
    const before = normalizeForDiff(oldInputs[key] ?? defaultValue);
    const after = normalizeForDiff(newInputs[key] ?? defaultValue);
    if (deepEqual(before, after)) continue;
    changedKeys.push(key);
    // "replace if state holds a PEM" looks at the PRIOR value only (§1, CM requireReplaceIfStateContainsPEMString).
    if (rule === "replace" || (rule === "replaceIfPem" && isProviderStylePem(oldInputs[key]))) replaceKeys.push(key);
  }
  const isCert = type === TLS_TYPES.selfSignedCert || type === TLS_TYPES.locallySignedCert;
  if (isCert && alwaysDueForRenewal(newInputs)) replaceKeys.push("readyForRenewal"); // §8 perpetual replacement
  const op = replaceKeys.length > 0 ? "replace" : changedKeys.length > 0 ? "update" : "same";
  return { op, changedKeys, replaceKeys };
}

/** §8 (CC modifyPlanIfCertificateReadyForRenewal): due when now >= validityEndTime − earlyRenewalHours. */
export function dueForRenewal(validityEndTime: string, earlyRenewalHours: number, now: Date): boolean {
  const end = parseRfc3339(validityEndTime);
  return end - earlyRenewalHours * HOUR_MS - now.getTime() <= 0;
}

/** Provider id hash (§2 "ids", CM hashForState): hex SHA-1 of the bytes after Go's strings.TrimSpace. */
export function hashForState(bytes: Uint8Array): string {
  if (bytes.length === 0) return "";
  return nodeCrypto.createHash("sha1").update(goTrimSpace(Buffer.from(bytes))).digest("hex");
}

/**
 * Go `time.Time.MarshalText` in the process's local zone (§2 "Times"): RFC 3339 with nanoseconds, fraction trimmed
 * of trailing zeros. `subMillisecondNanos` (0–999999) supplies the digits a Date cannot hold.
 */
export function formatGoTime(date: Date, subMillisecondNanos = 0): string {
  const offsetMin = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMin * 60_000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const nanos = local.getUTCMilliseconds() * 1_000_000 + subMillisecondNanos;
  const frac = nanos ? "." + pad(nanos, 9).replace(/0+$/, "") : "";
  const zone =
    offsetMin === 0
      ? "Z"
      : `${offsetMin < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offsetMin) / 60))}:${pad(Math.abs(offsetMin) % 60)}`;
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${frac}${zone}`
  );
}

// ---------------------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------------------

const HOUR_MS = 3_600_000;
const ALGORITHMS = ["RSA", "ECDSA", "ED25519"];
type KeyAlgorithm = "RSA" | "ECDSA" | "ED25519";
type CurveName = "P224" | "P256" | "P384" | "P521";

/** ECDSA curves: provider name, node/OpenSSL name, WebCrypto-style name, SSH name, signature hash (§7.5). */
const CURVES: Record<CurveName, { node: string; web: string; ssh?: string; hash: string }> = {
  P224: { node: "secp224r1", web: "P-224", hash: "SHA-256" }, // no SSH form in x/crypto/ssh (§3)
  P256: { node: "prime256v1", web: "P-256", ssh: "nistp256", hash: "SHA-256" },
  P384: { node: "secp384r1", web: "P-384", ssh: "nistp384", hash: "SHA-384" },
  P521: { node: "secp521r1", web: "P-521", ssh: "nistp521", hash: "SHA-512" },
};
const CURVE_BY_NODE_NAME: Record<string, CurveName> = Object.fromEntries(
  Object.entries(CURVES).map(([name, c]) => [c.node, name as CurveName]),
);

/** §7.3 (CC keyUsages): Go x509.KeyUsage bit values. */
const KEY_USAGES: Record<string, number> = {
  digital_signature: 1 << 0,
  content_commitment: 1 << 1,
  key_encipherment: 1 << 2,
  data_encipherment: 1 << 3,
  key_agreement: 1 << 4,
  cert_signing: 1 << 5,
  crl_signing: 1 << 6,
  encipher_only: 1 << 7,
  decipher_only: 1 << 8,
};
/** §7.3 (CC extendedKeyUsages): Go x509.ExtKeyUsage OIDs. */
const EXT_KEY_USAGES: Record<string, string> = {
  any_extended: "2.5.29.37.0",
  server_auth: "1.3.6.1.5.5.7.3.1",
  client_auth: "1.3.6.1.5.5.7.3.2",
  code_signing: "1.3.6.1.5.5.7.3.3",
  email_protection: "1.3.6.1.5.5.7.3.4",
  ipsec_end_system: "1.3.6.1.5.5.7.3.5",
  ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
  ipsec_user: "1.3.6.1.5.5.7.3.7",
  timestamping: "1.3.6.1.5.5.7.3.8",
  ocsp_signing: "1.3.6.1.5.5.7.3.9",
  microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
  netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
  microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
  microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};
/** The validator's list is sorted (CC supportedKeyUsagesStr). */
const SUPPORTED_USES = [...Object.keys(KEY_USAGES), ...Object.keys(EXT_KEY_USAGES)].sort();

/** pkix.Name attribute OIDs, in Go's ToRDNSequence order (§7.1). */
const OID = {
  country: "2.5.4.6",
  province: "2.5.4.8",
  locality: "2.5.4.7",
  streetAddress: "2.5.4.9",
  postalCode: "2.5.4.17",
  organization: "2.5.4.10",
  organizationalUnit: "2.5.4.11",
  commonName: "2.5.4.3",
  serialNumber: "2.5.4.5",
  emailAddress: "1.2.840.113549.1.9.1",
} as const;
const SUBJECT_KEY_IDENTIFIER = "2.5.29.14";
const BASIC_CONSTRAINTS = "2.5.29.19";
const SUBJECT_ALT_NAME = "2.5.29.17";
const EXTENSION_REQUEST = "1.2.840.113549.1.9.14"; // PKCS#9

/** Pulumi's RPC secret envelope (= pulumi.runtime.specialSigKey / specialSecretSig). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

// ---------------------------------------------------------------------------------------------------------
// Small utilities: errors, secrets, caches, validation
// ---------------------------------------------------------------------------------------------------------

interface ResourceCtx {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  plain: Record<string, unknown>;
  planOnly: boolean;
}

/** Diagnostics are reported as "<summary>: <detail>", as the bridge prints them. */
function providerError(summary: string, detail: string): Error {
  return new Error(`${summary}: ${detail}`);
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function isRpcSecret(v: unknown): v is { value: unknown } {
  return isObject(v) && v[SECRET_SIG_KEY] === SECRET_SIG;
}

function wrapSecret(value: unknown): Record<string, unknown> {
  return { [SECRET_SIG_KEY]: SECRET_SIG, value };
}

/** Secret inputs arrive wrapped, possibly nested (e.g. one secret dnsNames item): unwrap recursively. */
function unwrapSecrets(v: unknown): unknown {
  if (isRpcSecret(v)) return unwrapSecrets(v.value);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  return v;
}

/** Pulumi's `unknown` (preview) carries the RTTI marker `__pulumiUnknown`. */
function isUnknown(v: unknown): boolean {
  return isObject(v) && v.__pulumiUnknown === true;
}

function containsUnknown(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (isObject(v)) return isUnknown(v) || Object.values(v).some(containsUnknown);
  return false;
}

class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(k: K): V | undefined {
    return this.map.get(k);
  }
  set(k: K, v: V): void {
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(k, v);
  }
}

function tfName(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/* Typed getters. A Pulumi unknown (preview) passes every check and reads as absent; `isSet` still sees it. */

function isSet(p: Record<string, unknown>, key: string): boolean {
  return p[key] !== undefined && p[key] !== null;
}

function required(p: Record<string, unknown>, key: string): void {
  if (!isSet(p, key)) {
    throw providerError("Missing required argument", `The argument "${tfName(key)}" is required, but no definition was found.`);
  }
}

function requiredString(p: Record<string, unknown>, key: string): string {
  required(p, key);
  return optionalString(p, key) ?? "";
}

function optionalString(p: Record<string, unknown>, key: string): string | undefined {
  const v = p[key];
  if (v === undefined || v === null || isUnknown(v)) return undefined;
  if (typeof v !== "string") throw providerError("Incorrect attribute value type", `${tfName(key)}: string required`);
  return v;
}

function optionalInt(p: Record<string, unknown>, key: string): number | undefined {
  const v = p[key];
  if (v === undefined || v === null || isUnknown(v)) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw providerError("Incorrect attribute value type", `${tfName(key)}: a whole number is required`);
  }
  return v;
}

function optionalBool(p: Record<string, unknown>, key: string): boolean | undefined {
  const v = p[key];
  if (v === undefined || v === null || isUnknown(v)) return undefined;
  if (typeof v !== "boolean") throw providerError("Incorrect attribute value type", `${tfName(key)}: bool required`);
  return v;
}

/** Unknown items are left out (they are only validated once known). */
function optionalStringList(p: Record<string, unknown>, key: string): string[] | undefined {
  const v = p[key];
  if (v === undefined || v === null || isUnknown(v)) return undefined;
  const known = Array.isArray(v) ? v.filter((x) => !isUnknown(x)) : undefined;
  if (!known || known.some((x) => typeof x !== "string")) {
    throw providerError("Incorrect attribute value type", `${tfName(key)}: list of string required`);
  }
  return known as string[];
}

/** terraform-plugin-framework-validators stringvalidator.OneOf message. */
function oneOf(attr: string, value: string, allowed: readonly string[]): void {
  if (!allowed.includes(value)) {
    throw providerError(
      "Invalid Attribute Value Match",
      `Attribute ${attr} value must be one of: [${allowed.map((a) => JSON.stringify(a)).join(" ")}], ` +
        `got: ${JSON.stringify(value)}`,
    );
  }
}

/** int64validator.AtLeast message. */
function atLeast(attr: string, value: number | undefined, min: number): void {
  if (value !== undefined && value < min) {
    throw providerError("Invalid Attribute Value", `Attribute ${attr} value must be at least ${min}, got: ${value}`);
  }
}

/** §4/§5: ip_addresses and uris items must be non-empty (stringvalidator.LengthAtLeast(1)). */
function validateNonEmptyItems(p: Record<string, unknown>, key: string, attr: string): void {
  (optionalStringList(p, key) ?? []).forEach((item, i) => {
    if (item.length === 0) {
      throw providerError("Invalid Attribute Value Length", `Attribute ${attr}[${i}] string length must be at least 1, got: 0`);
    }
  });
}

/** ConfigValidators: ExactlyOneOf(key, keyWo) and RequiredTogether(keyWo, keyWoVersion) (§2, 5.6.x write-only). */
function exactlyOneKey(p: Record<string, unknown>, key: string, attr: string): string {
  const hasPlain = isSet(p, key);
  const hasWo = isSet(p, `${key}Wo`);
  if (hasPlain === hasWo) {
    throw providerError(
      "Invalid Attribute Combination",
      `${hasPlain ? "2 attributes" : "No attribute"} specified when one (and only one) of [${attr},${attr}_wo] is required`,
    );
  }
  if (hasWo !== isSet(p, `${key}WoVersion`)) {
    throw providerError(
      "Invalid Attribute Combination",
      `These attributes must be configured together: [${attr}_wo,${attr}_wo_version]`,
    );
  }
  return (hasPlain ? optionalString(p, key) : optionalString(p, `${key}Wo`)) ?? "";
}

interface CertInputs {
  validityPeriodHours: number; // NaN while unknown (preview)
  earlyRenewalHours: number;
  allowedUses: string[];
  isCaCertificate: boolean;
  maxPathLength: number | undefined;
  setSubjectKeyId: boolean;
}

/** Schema validation shared by SelfSignedCert and LocallySignedCert (§5, §6, §7.3): runs at preview too. */
function validateCertInputs(p: Record<string, unknown>): CertInputs {
  required(p, "validityPeriodHours");
  const validityPeriodHours = optionalInt(p, "validityPeriodHours");
  atLeast("validity_period_hours", validityPeriodHours, 0);
  required(p, "allowedUses");
  const allowedUses = optionalStringList(p, "allowedUses");
  (allowedUses ?? []).forEach((use, i) => oneOf(`allowed_uses[${i}]`, use, SUPPORTED_USES));
  const earlyRenewalHours = optionalInt(p, "earlyRenewalHours") ?? 0;
  atLeast("early_renewal_hours", earlyRenewalHours, 0);
  const maxPathLength = optionalInt(p, "maxPathLength");
  atLeast("max_path_length", maxPathLength, -1);
  return {
    validityPeriodHours: validityPeriodHours ?? NaN,
    earlyRenewalHours: isUnknown(p.earlyRenewalHours) ? NaN : earlyRenewalHours,
    allowedUses: allowedUses ?? [],
    isCaCertificate: optionalBool(p, "isCaCertificate") ?? false,
    maxPathLength,
    setSubjectKeyId: optionalBool(p, "setSubjectKeyId") ?? false,
  };
}

/** §12.2: defaults echoed into state; maxPathLength stays absent when unset (§5: null since upstream 4.2.1). */
function certDefaults(inputs: Record<string, unknown>): Record<string, unknown> {
  return {
    earlyRenewalHours: inputs.earlyRenewalHours ?? 0,
    isCaCertificate: inputs.isCaCertificate ?? false,
    setSubjectKeyId: inputs.setSubjectKeyId ?? false,
  };
}

/** §8 (RFR): planned readyForRenewal is true iff validity 0 or early >= validity (unknown while they are). */
function plannedRenewal(c: CertInputs): { readyForRenewal?: boolean } {
  if (Number.isNaN(c.validityPeriodHours) || Number.isNaN(c.earlyRenewalHours)) return {};
  return { readyForRenewal: c.validityPeriodHours === 0 || c.earlyRenewalHours >= c.validityPeriodHours };
}

// ---------------------------------------------------------------------------------------------------------
// Encodings: PEM, hashForState, times
// ---------------------------------------------------------------------------------------------------------

/** Go pem.EncodeToMemory: 64-char base64 lines, exactly one trailing newline (§2). */
function pemEncode(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.map((l) => l + "\n").join("")}-----END ${type}-----\n`;
}

/** Go pem.Decode, simplified: the first well-formed block; headers (e.g. Proc-Type) skipped; CRLF tolerated. */
function pemDecode(text: string): { type: string; der: Buffer } | undefined {
  const begin = /(?:^|\n)-----BEGIN ([^\r\n]*?)-----[ \t\r]*\n/g;
  for (let m = begin.exec(text); m; m = begin.exec(text)) {
    const type = m[1] ?? "";
    const bodyStart = m.index + m[0].length;
    const endMarker = `-----END ${type}-----`;
    const endAt = text.indexOf("\n" + endMarker, bodyStart - 1);
    if (endAt < 0) continue;
    let body = text.slice(bodyStart, endAt + 1);
    const blank = body.search(/\r?\n\r?\n/);
    if (/^[^\r\n]*:/.test(body) && blank >= 0) body = body.slice(blank); // RFC 1421 headers
    const compact = body.replace(/[\s]/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) continue;
    return { type, der: Buffer.from(compact, "base64") };
  }
  return undefined;
}

/** Go strings.TrimSpace on raw bytes (§2 "Quirk"): ASCII whitespace, plus the UTF-8 encodings of Unicode
 * White_Space runes when the bytes happen to form them (U+0085, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029,
 * U+202F, U+205F, U+3000). DER never starts with whitespace, so only the end really matters. */
function goTrimSpace(b: Buffer): Buffer {
  const ascii = (c: number | undefined) => c === 0x20 || (c !== undefined && c >= 0x09 && c <= 0x0d);
  let start = 0;
  let end = b.length;
  while (start < end && ascii(b[start])) start++;
  for (;;) {
    if (end > start && ascii(b[end - 1])) {
      end--;
      continue;
    }
    const n = unicodeSpaceSuffixLength(b, start, end);
    if (n === 0) break;
    end -= n;
  }
  return b.subarray(start, end);
}

function unicodeSpaceSuffixLength(b: Buffer, start: number, end: number): number {
  if (end - start >= 2 && b[end - 2] === 0xc2 && (b[end - 1] === 0x85 || b[end - 1] === 0xa0)) return 2;
  if (end - start < 3) return 0;
  const [x, y, z] = [b[end - 3], b[end - 2], b[end - 1]] as [number, number, number];
  const cp = ((x & 0x0f) << 12) | ((y & 0x3f) << 6) | (z & 0x3f);
  const wellFormed = (x & 0xf0) === 0xe0 && (y & 0xc0) === 0x80 && (z & 0xc0) === 0x80;
  const space = cp === 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || [0x2028, 0x2029, 0x202f, 0x205f, 0x3000].includes(cp);
  return wellFormed && space ? 3 : 0;
}

/** RFC 3339 with up to nanoseconds (§2); JS keeps milliseconds. */
function parseRfc3339(s: string): number {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.exec(s);
  if (!m) throw new Error(`Failed to parse data from string: ${s}`);
  const frac = m[2] ? m[2].slice(0, 4).padEnd(4, "0") : "";
  return Date.parse(`${m[1]}${frac}${m[3]!.toUpperCase()}`);
}

// ---------------------------------------------------------------------------------------------------------
// Keys: generation, parsing, PEM forms, SSH forms, fingerprints, SKI
// ---------------------------------------------------------------------------------------------------------

interface PublicInfo {
  readonly keyObject: nodeCrypto.KeyObject;
  readonly algorithm: KeyAlgorithm;
  readonly curve?: CurveName;
  /** DER SubjectPublicKeyInfo as Go's MarshalPKIXPublicKey writes it. */
  readonly spki: Buffer;
}

interface KeyMaterial {
  readonly algorithm: KeyAlgorithm;
  readonly curve?: CurveName;
  readonly privateKey: nodeCrypto.KeyObject;
  readonly publicKey: PublicInfo;
}

type KeyPairCallback = (err: Error | null, publicKey: nodeCrypto.KeyObject, privateKey: nodeCrypto.KeyObject) => void;

/** Async generation runs on the libuv thread pool, so thousands of keys can be made concurrently. */
function generateKeyPair(type: "rsa" | "ec" | "ed25519", options: object): Promise<nodeCrypto.KeyPairKeyObjectResult> {
  const generate = nodeCrypto.generateKeyPair as unknown as (type: string, options: object, cb: KeyPairCallback) => void;
  return new Promise((resolve, reject) =>
    generate(type, options, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey }))),
  );
}

async function generateKey(algorithm: KeyAlgorithm, rsaBits: number, curve: CurveName): Promise<KeyMaterial> {
  let pair: nodeCrypto.KeyPairKeyObjectResult;
  switch (algorithm) {
    case "RSA":
      // Go >= 1.24 crypto/rsa refuses < 1024 bits (§3); the provider itself has no validator.
      if (rsaBits < 1024) {
        throw providerError(
          "Unable to generate Key from configuration",
          `crypto/rsa: ${rsaBits}-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)`,
        );
      }
      pair = await generateKeyPair("rsa", { modulusLength: rsaBits, publicExponent: 0x10001 });
      break;
    case "ECDSA":
      pair = await generateKeyPair("ec", { namedCurve: CURVES[curve].node });
      break;
    case "ED25519":
      pair = await generateKeyPair("ed25519", {});
      break;
  }
  return keyMaterialFrom(pair.privateKey, pair.publicKey);
}

/** Classify a node private key the way Go's privateKeyToAlgorithm does (§2 accepted inputs). */
function keyMaterialFrom(privateKey: nodeCrypto.KeyObject, publicKeyObject?: nodeCrypto.KeyObject): KeyMaterial {
  const publicKey = publicInfoFrom(publicKeyObject ?? nodeCrypto.createPublicKey(privateKey));
  return { algorithm: publicKey.algorithm, curve: publicKey.curve, privateKey, publicKey };
}

function publicInfoFrom(keyObject: nodeCrypto.KeyObject): PublicInfo {
  const spki = keyObject.export({ type: "spki", format: "der" });
  switch (keyObject.asymmetricKeyType) {
    case "rsa":
      return { keyObject, algorithm: "RSA", spki };
    case "ec": {
      const curve = CURVE_BY_NODE_NAME[keyObject.asymmetricKeyDetails?.namedCurve ?? ""];
      if (!curve) throw new Error("x509: unknown elliptic curve");
      return { keyObject, algorithm: "ECDSA", curve, spki };
    }
    case "ed25519":
      return { keyObject, algorithm: "ED25519", spki };
    default:
      throw new Error(`unsupported key type: ${keyObject.asymmetricKeyType}`);
  }
}

/** CK parsePrivateKeyPEM: first PEM block; RSA PRIVATE KEY (PKCS#1), EC PRIVATE KEY (SEC1), PRIVATE KEY (PKCS#8). */
function parsePrivateKeyPem(pem: string): KeyMaterial {
  const block = pemDecode(pem);
  if (!block) {
    const n = Buffer.byteLength(pem);
    throw new Error(`failed to decode PEM block: decoded bytes 0, undecoded ${n}`);
  }
  const formats: Record<string, "pkcs1" | "sec1" | "pkcs8"> = {
    "RSA PRIVATE KEY": "pkcs1",
    "EC PRIVATE KEY": "sec1",
    "PRIVATE KEY": "pkcs8",
  };
  const format = formats[block.type];
  if (!format) {
    if (["PUBLIC KEY", "CERTIFICATE", "CERTIFICATE REQUEST"].includes(block.type)) {
      throw new Error(`unable to determine parser for PEM preamble: ${block.type}`);
    }
    throw new Error(`unsupported PEM preamble/type: ${block.type}`); // e.g. OPENSSH PRIVATE KEY (§2)
  }
  let privateKey: nodeCrypto.KeyObject;
  try {
    privateKey = nodeCrypto.createPrivateKey({ key: block.der, format: "der", type: format });
  } catch (e) {
    throw new Error(`failed to parse private key given PEM preamble '${block.type}': x509: ${errorMessage(e)}`);
  }
  const kind = privateKey.asymmetricKeyType;
  if (format === "pkcs1" && kind !== "rsa") throw new Error(`failed to parse private key given PEM preamble '${block.type}'`);
  if (kind !== "rsa" && kind !== "ec" && kind !== "ed25519") {
    throw new Error(
      `failed to parse private key given PEM preamble '${block.type}': ` +
        "x509: PKCS#8 wrapping contained private key with unknown algorithm",
    );
  }
  try {
    return keyMaterialFrom(privateKey);
  } catch (e) {
    throw new Error(`failed to parse private key given PEM preamble '${block.type}': ${errorMessage(e)}`);
  }
}

/** §3 private key outputs: PEM per algorithm, PKCS#8, OpenSSH ("" for P224). */
function privateKeyPems(key: KeyMaterial) {
  const k = key.privateKey;
  const privateKeyPemPkcs8 = pemEncode("PRIVATE KEY", k.export({ type: "pkcs8", format: "der" }));
  const privateKeyPem =
    key.algorithm === "RSA"
      ? pemEncode("RSA PRIVATE KEY", k.export({ type: "pkcs1", format: "der" }))
      : key.algorithm === "ECDSA"
        ? pemEncode("EC PRIVATE KEY", k.export({ type: "sec1", format: "der" })) // named curve, with public key
        : privateKeyPemPkcs8; // Ed25519: PKCS#8 is the only form
  const privateKeyOpenssh = key.curve === "P224" ? "" : pemEncode("OPENSSH PRIVATE KEY", openSshPrivateKey(key));
  return { privateKeyPem, privateKeyPemPkcs8, privateKeyOpenssh };
}

/** CK setPublicKeyAttributes: id, PUBLIC KEY PEM, authorized_keys line and fingerprints ("" for P224). */
function publicKeyAttributes(pub: PublicInfo) {
  const wire = sshPublicWire(pub);
  return {
    id: hashForState(pub.spki),
    publicKeyPem: pemEncode("PUBLIC KEY", pub.spki),
    publicKeyOpenssh: wire ? `${sshKeyType(pub)} ${wire.toString("base64")}\n` : "",
    publicKeyFingerprintMd5: wire ? (nodeCrypto.createHash("md5").update(wire).digest("hex").match(/../g) ?? []).join(":") : "",
    publicKeyFingerprintSha256: wire
      ? "SHA256:" + nodeCrypto.createHash("sha256").update(wire).digest("base64").replace(/=+$/, "")
      : "",
  };
}

function jwkBytes(v: string | undefined): Buffer {
  return Buffer.from(v ?? "", "base64url");
}

const rawPublicKeys = new WeakMap<PublicInfo, Buffer>();

/** The raw public key (the SPKI subjectPublicKey): uncompressed EC point 04‖X‖Y, or the 32-byte Ed25519 key.
 * JWK export is the fast path; node cannot export P-224 as JWK, so that curve reads the SPKI. */
function rawPublicKey(pub: PublicInfo): Buffer {
  let raw = rawPublicKeys.get(pub);
  if (!raw) {
    if (pub.curve === "P224") raw = Buffer.from(AsnConvert.parse(pub.spki, asn1X509.SubjectPublicKeyInfo).subjectPublicKey);
    else {
      const jwk = pub.keyObject.export({ format: "jwk" });
      raw = pub.algorithm === "ED25519" ? jwkBytes(jwk.x) : Buffer.concat([Buffer.from([4]), jwkBytes(jwk.x), jwkBytes(jwk.y)]);
    }
    rawPublicKeys.set(pub, raw);
  }
  return raw;
}

function sshKeyType(pub: PublicInfo): string {
  if (pub.algorithm === "RSA") return "ssh-rsa";
  if (pub.algorithm === "ED25519") return "ssh-ed25519";
  return `ecdsa-sha2-${CURVES[pub.curve as CurveName].ssh}`;
}

function sshUint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function sshString(b: Buffer | string): Buffer {
  const buf = typeof b === "string" ? Buffer.from(b) : b;
  return Buffer.concat([sshUint32(buf.length), buf]);
}

/** SSH mpint (RFC 4251): minimal two's complement, positive values get a leading zero when the top bit is set. */
function sshMpint(unsignedBigEndian: Buffer): Buffer {
  let i = 0;
  while (i < unsignedBigEndian.length && unsignedBigEndian[i] === 0) i++;
  const v = unsignedBigEndian.subarray(i);
  return sshString(v.length && (v[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

/** §3 SSH wire blob; undefined for P-224 (x/crypto/ssh cannot represent it). */
function sshPublicWire(pub: PublicInfo): Buffer | undefined {
  switch (pub.algorithm) {
    case "RSA": {
      const jwk = pub.keyObject.export({ format: "jwk" });
      return Buffer.concat([sshString("ssh-rsa"), sshMpint(jwkBytes(jwk.e)), sshMpint(jwkBytes(jwk.n))]);
    }
    case "ED25519":
      return Buffer.concat([sshString("ssh-ed25519"), sshString(rawPublicKey(pub))]);
    case "ECDSA": {
      const ssh = CURVES[pub.curve as CurveName].ssh;
      if (!ssh) return undefined;
      return Buffer.concat([sshString(`ecdsa-sha2-${ssh}`), sshString(ssh), sshString(rawPublicKey(pub))]);
    }
  }
}

/** x/crypto/ssh MarshalPrivateKey(key, ""): openssh-key-v1, cipher/kdf "none", empty comment, pad to 8. */
function openSshPrivateKey(key: KeyMaterial): Buffer {
  const jwk = key.privateKey.export({ format: "jwk" });
  const wire = sshPublicWire(key.publicKey) as Buffer;
  let fields: Buffer[];
  switch (key.algorithm) {
    case "RSA": // N, E, D, Iqmp, P, Q
      fields = [jwk.n, jwk.e, jwk.d, jwk.qi, jwk.p, jwk.q].map((x) => sshMpint(jwkBytes(x)));
      break;
    case "ECDSA": {
      const ssh = CURVES[key.curve as CurveName].ssh as string;
      fields = [sshString(ssh), sshString(rawPublicKey(key.publicKey)), sshMpint(jwkBytes(jwk.d))];
      break;
    }
    case "ED25519": {
      const pub = jwkBytes(jwk.x);
      fields = [sshString(pub), sshString(Buffer.concat([jwkBytes(jwk.d), pub]))]; // Priv = seed‖pub (64 bytes)
      break;
    }
  }
  const check = nodeCrypto.randomBytes(4);
  let block = Buffer.concat([check, check, sshString(sshKeyType(key.publicKey)), ...fields, sshString("")]);
  const pad: number[] = [];
  for (let i = 0; (block.length + i) % 8 !== 0; i++) pad.push(i + 1);
  block = Buffer.concat([block, Buffer.from(pad)]);
  return Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    sshUint32(1),
    sshString(wire),
    sshString(block),
  ]);
}

/** Reads an unencrypted openssh-key-v1 key (for getPublicKey with privateKeyOpenssh, §10). */
function parseOpenSshPrivateKey(text: string): nodeCrypto.KeyObject {
  const fail = (detail: string) =>
    providerError("Unable to parse private key", `failed to parse openssh private key: ssh: ${detail}`);
  const block = pemDecode(text);
  if (!block || block.type !== "OPENSSH PRIVATE KEY") throw fail("no key found");
  const r = new SshReader(block.der, fail);
  if (r.take(15).toString("latin1") !== "openssh-key-v1\0") throw fail("invalid openssh private key format");
  const cipher = r.string().toString();
  r.string(); // kdf name
  r.string(); // kdf options
  if (cipher !== "none") throw fail("this private key is passphrase protected");
  if (r.uint32() !== 1) throw fail("multi-key files are not supported");
  r.string(); // public key
  const p = new SshReader(r.string(), fail);
  if (p.uint32() !== p.uint32()) throw fail("malformed OpenSSH key");
  const type = p.string().toString();
  if (type === "ssh-rsa") return rsaKeyFromSsh(p);
  if (type === "ssh-ed25519") {
    const x = p.string();
    const d = p.string().subarray(0, 32); // Priv = seed‖pub
    return nodeCrypto.createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", x: b64url(x), d: b64url(d) }, format: "jwk" });
  }
  const curve = Object.values(CURVES).find((c) => c.ssh && type === `ecdsa-sha2-${c.ssh}`);
  if (!curve) throw fail(`unhandled key type ${type}`);
  p.string(); // curve name
  const point = p.string();
  const size = (point.length - 1) / 2;
  const d = unsignedBytes(p.string());
  const jwk = {
    kty: "EC",
    crv: curve.web,
    x: b64url(point.subarray(1, 1 + size)),
    y: b64url(point.subarray(1 + size)),
    d: b64url(Buffer.concat([Buffer.alloc(Math.max(0, size - d.length)), d])),
  };
  return nodeCrypto.createPrivateKey({ key: jwk, format: "jwk" });
}

/** OpenSSH RSA fields N, E, D, Iqmp, P, Q; JWK also wants D mod (P−1) and D mod (Q−1). */
function rsaKeyFromSsh(p: SshReader): nodeCrypto.KeyObject {
  type Six = [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  const [n, e, d, qi, prime1, prime2] = Array.from({ length: 6 }, () => unsignedBytes(p.string())) as Six;
  const big = (b: Buffer) => BigInt("0x" + (b.toString("hex") || "0"));
  const bytes = (v: bigint) => {
    const hex = v.toString(16);
    return Buffer.from(hex.length % 2 ? "0" + hex : hex, "hex");
  };
  const dp = bytes(big(d) % (big(prime1) - 1n));
  const dq = bytes(big(d) % (big(prime2) - 1n));
  const jwk = { kty: "RSA", n, e, d, p: prime1, q: prime2, dp, dq, qi };
  const encoded = Object.fromEntries(Object.entries(jwk).map(([k, v]) => [k, typeof v === "string" ? v : b64url(v)]));
  return nodeCrypto.createPrivateKey({ key: encoded as nodeCrypto.JsonWebKey, format: "jwk" });
}

function b64url(b: Buffer): string {
  return b.toString("base64url");
}

/** An SSH mpint's magnitude (drop the sign byte). */
function unsignedBytes(b: Buffer): Buffer {
  return b[0] === 0 ? b.subarray(1) : b;
}

class SshReader {
  private offset = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly fail: (detail: string) => Error,
  ) {}
  take(n: number): Buffer {
    if (this.offset + n > this.buf.length) throw this.fail("short read");
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  uint32(): number {
    return this.take(4).readUInt32BE(0);
  }
  string(): Buffer {
    return this.take(this.uint32());
  }
}

/** §7.4 (CC generateSubjectKeyID): SHA-1 of PKCS#1 RSAPublicKey / uncompressed point / OCTET STRING(ed25519). */
function subjectKeyId(pub: PublicInfo): Buffer {
  let bytes: Buffer;
  if (pub.algorithm === "RSA") bytes = pub.keyObject.export({ type: "pkcs1", format: "der" });
  else if (pub.algorithm === "ECDSA") bytes = rawPublicKey(pub);
  else bytes = Buffer.from(AsnConvert.serialize(new OctetString(rawPublicKey(pub)))); // asn1.Marshal([]byte): 04 20‖key
  return nodeCrypto.createHash("sha1").update(bytes).digest();
}

// ---------------------------------------------------------------------------------------------------------
// Signing: @peculiar/x509 structures, node:crypto signatures
// ---------------------------------------------------------------------------------------------------------

function signAsync(hash: string | null, data: Buffer, key: nodeCrypto.KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => nodeCrypto.sign(hash, data, key, (err, sig) => (err ? reject(err) : resolve(sig))));
}

const ECDSA_WITH: Record<string, string> = {
  "SHA-256": "1.2.840.10045.4.3.2",
  "SHA-384": "1.2.840.10045.4.3.3",
  "SHA-512": "1.2.840.10045.4.3.4",
};

/** §7.5: the signature algorithm follows the signing key. RSA: sha256WithRSAEncryption (NULL parameters, as Go
 * writes it); ECDSA: by curve, no parameters; Ed25519: id-Ed25519. */
function signatureAlgorithm(key: KeyMaterial): { id: asn1X509.AlgorithmIdentifier; hash: string | null } {
  if (key.algorithm === "RSA") {
    return { id: new asn1X509.AlgorithmIdentifier({ algorithm: "1.2.840.113549.1.1.11", parameters: null }), hash: "sha256" };
  }
  if (key.algorithm === "ED25519") return { id: new asn1X509.AlgorithmIdentifier({ algorithm: "1.3.101.112" }), hash: null };
  const hash = CURVES[key.curve as CurveName].hash;
  const id = new asn1X509.AlgorithmIdentifier({ algorithm: ECDSA_WITH[hash] as string });
  return { id, hash: hash.replace("-", "").toLowerCase() };
}

/** Signature over DER `tbs`; ECDSA signatures are ASN.1 (r, s), as Go's crypto/ecdsa produces them. EC/Ed25519
 * take tens of µs and are signed inline; RSA (~1 ms and up) goes to the thread pool. */
async function sign(key: KeyMaterial, hash: string | null, tbs: ArrayBuffer): Promise<ArrayBuffer> {
  const data = Buffer.from(tbs);
  const sig = key.algorithm === "RSA" ? await signAsync(hash, data, key.privateKey) : nodeCrypto.sign(hash, data, key.privateKey);
  return toArrayBuffer(sig);
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

const parsedSpkis = new WeakMap<PublicInfo, asn1X509.SubjectPublicKeyInfo>();

/** The key's SPKI as an ASN.1 object (parsed once per key: a leaf key appears in its CSR and its certificate). */
function subjectPublicKeyInfo(pub: PublicInfo): asn1X509.SubjectPublicKeyInfo {
  let spki = parsedSpkis.get(pub);
  if (!spki) parsedSpkis.set(pub, (spki = AsnConvert.parse(pub.spki, asn1X509.SubjectPublicKeyInfo)));
  return spki;
}

function extension(extnID: string, critical: boolean, value: object): asn1X509.Extension {
  return new asn1X509.Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

/** Go x509.CreateCertificateRequest: PKCS#10 v1, attributes `[0]` always present, extensionRequest only with SANs. */
async function createCertificateRequest(
  key: KeyMaterial,
  subject: asn1X509.Name,
  san: asn1X509.Extension | undefined,
): Promise<Buffer> {
  const attributes = new asn1Csr.Attributes();
  if (san) {
    const extensions = new asn1X509.Extensions([san]);
    attributes.push(new asn1X509.Attribute({ type: EXTENSION_REQUEST, values: [AsnConvert.serialize(extensions)] }));
  }
  const info = new asn1Csr.CertificationRequestInfo({
    version: 0,
    subject,
    subjectPKInfo: subjectPublicKeyInfo(key.publicKey),
    attributes,
  });
  const alg = signatureAlgorithm(key);
  const signature = await sign(key, alg.hash, AsnConvert.serialize(info));
  const csr = new asn1Csr.CertificationRequest({ certificationRequestInfo: info, signatureAlgorithm: alg.id, signature });
  return Buffer.from(AsnConvert.serialize(csr));
}

/** big.Int serial as DER INTEGER content: minimal, with a leading zero when the top bit is set (positive). */
function positiveIntegerBytes(unsigned: Buffer): ArrayBuffer {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  const v = unsigned.subarray(i);
  return toArrayBuffer((v[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : Buffer.from(v));
}

// ---------------------------------------------------------------------------------------------------------
// Subjects (§7.1): Go pkix.Name semantics
// ---------------------------------------------------------------------------------------------------------

/** The fields of Go's pkix.Name that matter. Slices are null when nil (Go distinguishes nil and empty). */
interface GoName {
  country: string[] | null;
  province: string[] | null;
  locality: string[] | null;
  streetAddress: string[] | null;
  postalCode: string[] | null;
  organization: string[] | null;
  organizationalUnit: string[] | null;
  commonName: string;
  serialNumber: string;
  /** ExtraNames: only subject.emailAddress (IA5String) is ever added (CC createSubjectDistinguishedNames). */
  emailAddress: string | null;
  /** pkix.Name.Names from parsing (LocallySignedCert): non-nil when the CSR subject had any attribute. */
  parsedAttributes: boolean;
}

const SLICE_FIELDS = [
  "country",
  "province",
  "locality",
  "streetAddress",
  "postalCode",
  "organization",
  "organizationalUnit",
] as const;

function emptyName(): GoName {
  return {
    country: null,
    province: null,
    locality: null,
    streetAddress: null,
    postalCode: null,
    organization: null,
    organizationalUnit: null,
    commonName: "",
    serialNumber: "",
    emailAddress: null,
    parsedAttributes: false,
  };
}

/** `cmp.Equal(template.Subject, pkix.Name{})` (CC createCertificate, §7.2 step 4). */
function isZeroName(n: GoName): boolean {
  return (
    SLICE_FIELDS.every((f) => n[f] === null) &&
    n.commonName === "" &&
    n.serialNumber === "" &&
    n.emailAddress === null &&
    !n.parsedAttributes
  );
}

/** CC createSubjectDistinguishedNames: every field but streetAddresses is ONE string; "" still counts (§7.1). */
function subjectFromInput(subject: unknown): GoName {
  const n = emptyName();
  if (subject === undefined || subject === null) return n;
  if (!isObject(subject)) throw providerError("Incorrect attribute value type", "subject: object required");
  const one = (key: string) => optionalString(subject, key);
  const single: [keyof GoName, string][] = [
    ["organization", "organization"],
    ["organizationalUnit", "organizationalUnit"],
    ["locality", "locality"],
    ["province", "province"],
    ["country", "country"],
    ["postalCode", "postalCode"],
  ];
  for (const [field, key] of single) {
    const v = one(key);
    if (v !== undefined) (n as any)[field] = [v];
  }
  n.commonName = one("commonName") ?? "";
  n.serialNumber = one("serialNumber") ?? "";
  const street = optionalStringList(subject, "streetAddresses");
  if (street !== undefined) n.streetAddress = street; // framework ElementsAs: [] is a non-nil empty slice
  const email = one("emailAddress");
  if (email !== undefined) n.emailAddress = email;
  return n;
}

/** pkix.Name.FillFromRDNSequence on a parsed CSR subject (§6.3): known types only, last CN/SERIALNUMBER wins. */
function subjectFromAsnName(name: asn1X509.Name): GoName {
  const n = emptyName();
  const byOid: Record<string, (typeof SLICE_FIELDS)[number]> = {};
  for (const f of SLICE_FIELDS) byOid[OID[f]] = f;
  for (const rdn of name) {
    for (const atv of rdn) {
      n.parsedAttributes = true;
      const value = attributeString(atv.value);
      if (atv.type === OID.commonName) n.commonName = value;
      else if (atv.type === OID.serialNumber) n.serialNumber = value;
      else {
        const field = byOid[atv.type];
        if (field) n[field] = [...(n[field] ?? []), value];
      }
    }
  }
  return n;
}

/** Go's parser accepts only string-typed attribute values (x509 parseASN1String). */
function attributeString(v: asn1X509.AttributeValue): string {
  if (v.anyValue) throw new Error("x509: invalid RDNSequence: invalid attribute value: unsupported string type");
  return v.toString();
}

/** encoding/asn1 marshals a Go string as PrintableString when every byte is printable, else UTF8String. */
function isGoPrintable(s: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);
}

function goStringValue(s: string): asn1X509.AttributeValue {
  return new asn1X509.AttributeValue(isGoPrintable(s) ? { printableString: s } : { utf8String: s });
}

/** Go DER: the members of a SET OF (a multi-valued RDN) are sorted by their encodings. */
function derSortedRdn(atvs: asn1X509.AttributeTypeAndValue[]): asn1X509.RelativeDistinguishedName {
  if (atvs.length > 1) {
    const enc = new Map(atvs.map((a) => [a, Buffer.from(AsnConvert.serialize(a))]));
    atvs.sort((a, b) => Buffer.compare(enc.get(a) as Buffer, enc.get(b) as Buffer));
  }
  return new asn1X509.RelativeDistinguishedName(atvs);
}

/** pkix.Name.ToRDNSequence: C, ST, L, STREET, postalCode, O, OU, CN, SERIALNUMBER (CN/SERIALNUMBER only when
 * non-empty; all values of one type in one RDN), then ExtraNames (emailAddress as IA5String) (§7.1). */
function asnName(n: GoName): asn1X509.Name {
  const rdns: asn1X509.RelativeDistinguishedName[] = [];
  const add = (oid: string, values: string[] | null) => {
    if (!values || values.length === 0) return;
    rdns.push(derSortedRdn(values.map((v) => new asn1X509.AttributeTypeAndValue({ type: oid, value: goStringValue(v) }))));
  };
  add(OID.country, n.country);
  add(OID.province, n.province);
  add(OID.locality, n.locality);
  add(OID.streetAddress, n.streetAddress);
  add(OID.postalCode, n.postalCode);
  add(OID.organization, n.organization);
  add(OID.organizationalUnit, n.organizationalUnit);
  if (n.commonName) add(OID.commonName, [n.commonName]);
  if (n.serialNumber) add(OID.serialNumber, [n.serialNumber]);
  if (n.emailAddress !== null) {
    const value = new asn1X509.AttributeValue({ ia5String: n.emailAddress });
    rdns.push(new asn1X509.RelativeDistinguishedName([new asn1X509.AttributeTypeAndValue({ type: OID.emailAddress, value })]));
  }
  return new asn1X509.Name(rdns);
}

// ---------------------------------------------------------------------------------------------------------
// Subject alternative names (§4, §7.6): Go net.ParseIP, url.Parse, marshalSANs
// ---------------------------------------------------------------------------------------------------------

interface Sans {
  dns: string[];
  ips: Buffer[]; // 16-byte form, as net.ParseIP returns
  uris: string[];
}

/** Go net.ParseIP: dotted quad without leading zeros, or IPv6 (optionally ending in a dotted quad), no zone. */
function parseGoIP(s: string): Buffer | undefined {
  const v4 = parseIPv4(s);
  if (v4) return Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), v4]);
  return s.includes(":") ? parseIPv6(s) : undefined;
}

function parseIPv4(s: string): Buffer | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    bytes.push(Number(p));
  }
  return Buffer.from(bytes);
}

function parseIPv6(s: string): Buffer | undefined {
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string): string[] | undefined => (part === "" ? [] : part.split(":"));
  const left = groups(halves[0] ?? "");
  const right = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (!left || !right) return undefined;
  const all = [...left, ...right];
  const words: number[] = [];
  for (let i = 0; i < all.length; i++) {
    const g = all[i] as string;
    if (i === all.length - 1 && g.includes(".")) {
      const v4 = parseIPv4(g);
      if (!v4) return undefined;
      words.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) {
      words.push(parseInt(g, 16));
    } else return undefined;
  }
  if (halves.length === 2 ? words.length > 7 : words.length !== 8) return undefined; // "::" stands for >= 1 group
  const leftWords = halves.length === 2 ? words.slice(0, left.length) : words;
  const rightWords = halves.length === 2 ? words.slice(left.length) : [];
  const full = [...leftWords, ...new Array(8 - words.length).fill(0), ...rightWords];
  const out = Buffer.alloc(16);
  full.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}

/** Go marshalSANs: `ip.To4()` ⇒ IPv4 (and IPv4-mapped IPv6) as 4 bytes, else 16. */
function sanIpBytes(ip16: Buffer): Buffer {
  const mapped = ip16.length === 16 && ip16.subarray(0, 10).every((b) => b === 0) && ip16[10] === 0xff && ip16[11] === 0xff;
  return mapped ? ip16.subarray(12) : ip16;
}

function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join(".");
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(bytes.readUInt16BE(i).toString(16));
  return words.join(":"); // uncompressed: the converter maps it to exactly these 16 bytes
}

/** Go url.Parse errors that matter in practice; url.String() lower-cases the scheme. */
function parseGoUri(s: string): string {
  const bad = /[\x00-\x1f\x7f]/.exec(s);
  if (bad) throw new Error(`parse ${JSON.stringify(s)}: net/url: invalid control character in URL`);
  if (s.startsWith(":")) throw new Error(`parse ${JSON.stringify(s)}: missing protocol scheme`);
  const esc = /%(?![0-9a-fA-F]{2})(.{0,2})/.exec(s);
  if (esc) throw new Error(`parse ${JSON.stringify(s)}: invalid URL escape ${JSON.stringify("%" + (esc[1] ?? ""))}`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(s);
  return scheme ? (scheme[1] as string).toLowerCase() + s.slice((scheme[1] as string).length) : s;
}

/** §4/§5: SAN inputs, with the provider's "Invalid IP address" / "Invalid URI" diagnostics. */
function sansFromInputs(p: Record<string, unknown>): Sans {
  const dns = optionalStringList(p, "dnsNames") ?? [];
  const ips = (optionalStringList(p, "ipAddresses") ?? []).map((s) => {
    const ip = parseGoIP(s);
    if (!ip) throw providerError("Invalid IP address", `Failed to parse ${JSON.stringify(s)}`);
    return ip;
  });
  const uris = (optionalStringList(p, "uris") ?? []).map((s) => {
    try {
      return parseGoUri(s);
    } catch (e) {
      throw providerError("Invalid URI", `Failed to parse ${JSON.stringify(s)}: ${errorMessage(e)}`);
    }
  });
  return { dns, ips, uris };
}

/** Go marshalSANs: order DNS, (email), IP, URI; names must be IA5 (ASCII). Undefined when there are none. */
function sanExtension(s: Sans, critical: boolean, errorSummary: string): asn1X509.Extension | undefined {
  if (s.dns.length + s.ips.length + s.uris.length === 0) return undefined;
  for (const name of [...s.dns, ...s.uris]) {
    if (/[^\x00-\x7f]/.test(name)) {
      throw providerError(errorSummary, `x509: ${JSON.stringify(name)} cannot be encoded as an IA5String`);
    }
  }
  const names = new asn1X509.SubjectAlternativeName([
    ...s.dns.map((dNSName) => new asn1X509.GeneralName({ dNSName })),
    ...s.ips.map((ip) => new asn1X509.GeneralName({ iPAddress: ipText(sanIpBytes(ip)) })),
    ...s.uris.map((uniformResourceIdentifier) => new asn1X509.GeneralName({ uniformResourceIdentifier })),
  ]);
  return extension(SUBJECT_ALT_NAME, critical, names);
}

// ---------------------------------------------------------------------------------------------------------
// Parsing CSRs and CA certificates (§6)
// ---------------------------------------------------------------------------------------------------------

/** LSC decodePEM: the first block must carry exactly the expected type. */
function decodeTypedPem(pem: string, expected: string): Buffer {
  const block = pemDecode(pem);
  if (!block) throw new Error(`failed to decode PEM of expected type ${JSON.stringify(expected)} from bytes`);
  if (block.type !== expected) {
    throw new Error(`invalid PEM type - expected ${JSON.stringify(expected)}, got ${JSON.stringify(block.type)}`);
  }
  return block.der;
}

interface ParsedCsr {
  subject: GoName;
  sans: Sans;
  publicKey: PublicInfo;
}

/** §6 steps 1 and 3: the CSR's signature is NOT verified; only subject, DNS/IP/URI SANs and the key are used. */
function parseCsrPem(pem: string): ParsedCsr {
  try {
    const der = decodeTypedPem(pem, "CERTIFICATE REQUEST");
    let info: asn1Csr.CertificationRequestInfo;
    try {
      info = AsnConvert.parse(der, asn1Csr.CertificationRequest).certificationRequestInfo;
    } catch (e) {
      throw new Error(`failed to parse certificate request: asn1: structure error (${errorMessage(e)})`);
    }
    const subject = subjectFromAsnName(info.subject);
    const sans: Sans = { dns: [], ips: [], uris: [] };
    for (const attr of info.attributes ?? []) {
      if (attr.type !== EXTENSION_REQUEST) continue;
      for (const value of attr.values) {
        for (const ext of AsnConvert.parse(value, asn1X509.Extensions)) {
          if (ext.extnID === SUBJECT_ALT_NAME) addSans(sans, AsnConvert.parse(ext.extnValue, asn1X509.SubjectAlternativeName));
        }
      }
    }
    let publicKey: PublicInfo;
    try {
      const spki = Buffer.from(AsnConvert.serialize(info.subjectPKInfo));
      publicKey = publicInfoFrom(nodeCrypto.createPublicKey({ key: spki, format: "der", type: "spki" }));
    } catch (e) {
      throw new Error(`x509: unsupported public key type (${errorMessage(e)})`);
    }
    return { subject, sans, publicKey };
  } catch (e) {
    throw providerError("Failed to parse certificate request PEM", errorMessage(e));
  }
}

/** Go parseSANExtension: DNS, IP (4 or 16 bytes), URI kept; email and other name types dropped (§6.3). */
function addSans(sans: Sans, names: asn1X509.SubjectAlternativeName): void {
  for (const gn of names) {
    if (gn.dNSName !== undefined) sans.dns.push(gn.dNSName);
    else if (gn.uniformResourceIdentifier !== undefined) sans.uris.push(gn.uniformResourceIdentifier);
    else if (gn.iPAddress !== undefined) {
      const ip = parseGoIP(gn.iPAddress);
      if (!ip) throw new Error("x509: cannot parse IP address");
      sans.ips.push(ip);
    }
  }
}

interface ParsedCaCert {
  subject: asn1X509.Name; // issuer of what it signs (Go copies parent.RawSubject)
  subjectDer: Buffer;
  spki: Buffer;
  subjectKeyId?: Buffer;
  isCA: boolean;
}

function parseCaCertPem(pem: string): ParsedCaCert {
  const der = decodeTypedPem(pem, "CERTIFICATE");
  let cert: asn1X509.Certificate;
  try {
    cert = AsnConvert.parse(der, asn1X509.Certificate);
  } catch (e) {
    throw new Error(`failed to parse certificate: x509: malformed certificate (${errorMessage(e)})`);
  }
  const tbs = cert.tbsCertificate;
  const ext = (oid: string) => (tbs.extensions ?? []).find((e) => e.extnID === oid);
  const skiExt = ext(SUBJECT_KEY_IDENTIFIER);
  const bcExt = ext(BASIC_CONSTRAINTS);
  return {
    subject: tbs.subject,
    subjectDer: Buffer.from(AsnConvert.serialize(tbs.subject)),
    spki: Buffer.from(AsnConvert.serialize(tbs.subjectPublicKeyInfo)),
    subjectKeyId: skiExt ? Buffer.from(AsnConvert.parse(skiExt.extnValue, asn1X509.SubjectKeyIdentifier).buffer) : undefined,
    isCA: bcExt ? AsnConvert.parse(bcExt.extnValue, asn1X509.BasicConstraints).cA === true : false,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Certificate construction (§7, CC createCertificate + Go x509.CreateCertificate)
// ---------------------------------------------------------------------------------------------------------

interface CertTemplate {
  now: Date;
  inputs: CertInputs;
  setAuthorityKeyId: boolean;
  subject: GoName;
  sans: Sans;
  publicKey: PublicInfo;
  signer: KeyMaterial;
  parent: "self" | ParsedCaCert;
}

/** CC createCertificate (§7.2 steps 1–8), then Go x509.CreateCertificate (checks, extensions, signature). */
async function createCertificate(t: CertTemplate) {
  const { inputs } = t;
  // 1. NotBefore = now (no backdating); NotAfter = NotBefore + h. The DER keeps whole seconds (Time truncates).
  const notBefore = t.now;
  const subMillisecondNanos = Number(process.hrtime.bigint() % 1_000_000n);
  const notAfter = new Date(notBefore.getTime() + inputs.validityPeriodHours * HOUR_MS);
  // 2. Serial: uniform in [0, 2^128).
  const serial = nodeCrypto.randomBytes(16);
  // 3. allowedUses: KU bits OR-ed, EKUs appended in list order (duplicates kept).
  const { keyUsage, extKeyUsages } = usagesFrom(inputs.allowedUses);
  // 4. A CA needs a subject, and always gets an SKI.
  let ski: Buffer | undefined;
  if (inputs.isCaCertificate) {
    if (isZeroName(t.subject)) {
      throw providerError(
        "Invalid Certificate Subject",
        "Must contain at least one Distinguished Name when creating Certificate Authority (CA)",
      );
    }
    ski = subjectKeyId(t.publicKey);
  }
  // 5. maxPathLength applies only when >= 0 (Go's template.MaxPathLen stays 0 otherwise).
  const maxPathLen = inputs.maxPathLength !== undefined && inputs.maxPathLength >= 0 ? inputs.maxPathLength : 0;
  // 6. setSubjectKeyId: SKI even on a non-CA.
  if (inputs.setSubjectKeyId) ski = subjectKeyId(t.publicKey);
  // 7. setAuthorityKeyId (SelfSignedCert): the parent is the template itself.
  let aki: Buffer | undefined;
  if (t.setAuthorityKeyId) {
    if (!ski) throw providerError("Invalid Certificate Authority", "Could not determine Authority Key Identifier");
    aki = ski;
  }
  // 8. Go x509.CreateCertificate, in its order of checks.
  const fail = (detail: string) => providerError("Failed to create certificate", detail);
  if (!inputs.isCaCertificate && maxPathLen > 0) throw fail("x509: only CAs are allowed to specify MaxPathLen");
  const subjectName = asnName(t.subject);
  const subjectDer = Buffer.from(AsnConvert.serialize(subjectName));
  const parent = t.parent === "self" ? undefined : t.parent;
  const issuerDer = parent ? parent.subjectDer : subjectDer;
  // Go: AKI := parent.SubjectKeyId whenever issuer and subject DNs differ (§7.4).
  if (parent?.subjectKeyId && !issuerDer.equals(subjectDer)) aki = parent.subjectKeyId;
  if (parent && !parent.spki.equals(t.signer.publicKey.spki)) {
    throw fail("x509: provided PrivateKey doesn't match parent's PublicKey");
  }
  const subjectIsEmpty = subjectDer.length === 2; // `30 00`: SAN becomes critical (§7.6)
  const san = sanExtension(t.sans, subjectIsEmpty, "Failed to create certificate");
  const pathLen = inputs.isCaCertificate && maxPathLen >= 1 ? maxPathLen : undefined; // maxPathLength 0 ⇒ none
  const extensions = certificateExtensions({ keyUsage, extKeyUsages, isCA: inputs.isCaCertificate, pathLen, ski, aki, san });

  const alg = signatureAlgorithm(t.signer);
  const tbs = new asn1X509.TBSCertificate({
    version: asn1X509.Version.v3,
    serialNumber: positiveIntegerBytes(serial),
    signature: alg.id,
    issuer: parent ? parent.subject : subjectName,
    validity: new asn1X509.Validity({ notBefore, notAfter }), // UTCTime < 2050 <= GeneralizedTime, whole seconds
    subject: subjectName,
    subjectPublicKeyInfo: subjectPublicKeyInfo(t.publicKey),
    extensions,
  });
  const signatureValue = await sign(t.signer, alg.hash, AsnConvert.serialize(tbs));
  const certificate = new asn1X509.Certificate({ tbsCertificate: tbs, signatureAlgorithm: alg.id, signatureValue });
  return {
    id: BigInt("0x" + serial.toString("hex")).toString(10), // decimal serial (§2 ids)
    outputs: {
      certPem: pemEncode("CERTIFICATE", new Uint8Array(AsnConvert.serialize(certificate))),
      // NotAfter = NotBefore + validity in Go, so both carry the same sub-millisecond digits of the clock.
      validityStartTime: formatGoTime(notBefore, subMillisecondNanos),
      validityEndTime: formatGoTime(notAfter, subMillisecondNanos),
    },
  };
}

/** §7.3 (CC createCertificate): key-usage bits OR-ed, extended key usages in list order, duplicates kept. */
function usagesFrom(allowedUses: string[]): { keyUsage: number; extKeyUsages: string[] } {
  let keyUsage = 0;
  const extKeyUsages: string[] = [];
  for (const use of allowedUses) {
    keyUsage |= KEY_USAGES[use] ?? 0;
    const eku = EXT_KEY_USAGES[use];
    if (eku) extKeyUsages.push(eku);
  }
  return { keyUsage, extKeyUsages };
}

/** §7.6 / Go buildCertExtensions: order KU (critical, only with bits), EKU, BC (always, critical), SKI, AKI, SAN. */
function certificateExtensions(x: {
  keyUsage: number;
  extKeyUsages: string[];
  isCA: boolean;
  pathLen: number | undefined;
  ski: Buffer | undefined;
  aki: Buffer | undefined;
  san: asn1X509.Extension | undefined;
}): asn1X509.Extensions {
  const extensions = new asn1X509.Extensions();
  if (x.keyUsage) extensions.push(extension(asn1X509.id_ce_keyUsage, true, new asn1X509.KeyUsage(x.keyUsage)));
  if (x.extKeyUsages.length) {
    extensions.push(extension(asn1X509.id_ce_extKeyUsage, false, new asn1X509.ExtendedKeyUsage(x.extKeyUsages)));
  }
  // CA:FALSE encodes as an empty SEQUENCE (`30 00`), as Go's asn1 omits the default.
  const basicConstraints = new asn1X509.BasicConstraints({ cA: x.isCA, pathLenConstraint: x.pathLen });
  extensions.push(extension(BASIC_CONSTRAINTS, true, basicConstraints));
  if (x.ski) extensions.push(extension(SUBJECT_KEY_IDENTIFIER, false, new asn1X509.SubjectKeyIdentifier(x.ski)));
  if (x.aki) {
    const aki = new asn1X509.AuthorityKeyIdentifier({ keyIdentifier: new asn1X509.KeyIdentifier(x.aki) });
    extensions.push(extension(asn1X509.id_ce_authorityKeyIdentifier, false, aki));
  }
  if (x.san) extensions.push(x.san);
  return extensions;
}

/** §8: with validity 0 or earlyRenewalHours >= validity a certificate is due on every plan after creation. */
function alwaysDueForRenewal(inputs: Record<string, unknown>): boolean {
  const validity = inputs.validityPeriodHours;
  const early = (inputs.earlyRenewalHours as number | undefined) ?? 0;
  return typeof validity === "number" && (validity === 0 || early >= validity);
}

// ---------------------------------------------------------------------------------------------------------
// tlsDiff rules (§1, §3–§6)
// ---------------------------------------------------------------------------------------------------------

type DiffRule = "replace" | "update" | "replaceIfPem" | "ignore";

const DIFF_RULES: Record<string, Record<string, DiffRule>> = {
  [TLS_TYPES.privateKey]: { algorithm: "replace", rsaBits: "replace", ecdsaCurve: "replace" },
  [TLS_TYPES.certRequest]: {
    privateKeyPem: "replaceIfPem",
    privateKeyPemWo: "ignore",
    privateKeyPemWoVersion: "replace",
    subject: "replace",
    dnsNames: "replace",
    ipAddresses: "replace",
    uris: "replace",
  },
  [TLS_TYPES.selfSignedCert]: {
    privateKeyPem: "replaceIfPem",
    privateKeyPemWo: "ignore",
    privateKeyPemWoVersion: "replace",
    validityPeriodHours: "replace",
    allowedUses: "replace",
    subject: "replace",
    dnsNames: "replace",
    ipAddresses: "replace",
    uris: "replace",
    earlyRenewalHours: "update",
    isCaCertificate: "replace",
    maxPathLength: "replace",
    setSubjectKeyId: "replace",
    setAuthorityKeyId: "replace",
  },
  [TLS_TYPES.locallySignedCert]: {
    certRequestPem: "replaceIfPem",
    caCertPem: "replaceIfPem",
    caPrivateKeyPem: "replaceIfPem",
    caPrivateKeyPemWo: "ignore",
    caPrivateKeyPemWoVersion: "replace",
    validityPeriodHours: "replace",
    allowedUses: "replace",
    earlyRenewalHours: "update",
    isCaCertificate: "replace",
    maxPathLength: "replace",
    setSubjectKeyId: "replace",
  },
};

/** Defaults the provider plans for omitted inputs, so "omitted" and "default" do not differ (§12.2). */
const DIFF_DEFAULTS: Record<string, unknown> = {
  rsaBits: 2048,
  ecdsaCurve: "P224",
  earlyRenewalHours: 0,
  isCaCertificate: false,
  setSubjectKeyId: false,
  setAuthorityKeyId: false,
};

/** CM: `^-----BEGIN [[:alpha:] ]+-----\n(.|\s)+\n-----END [[:alpha:] ]+-----\n?$` on the prior value. */
function isProviderStylePem(v: unknown): boolean {
  return typeof v === "string" && /^-----BEGIN [A-Za-z ]+-----\n[\s\S]+\n-----END [A-Za-z ]+-----\n?$/.test(v);
}

/** null/undefined fields, empty lists and empty subject objects are treated as absent (unconfirmed for the bridge). */
function normalizeForDiff(v: unknown): unknown {
  v = unwrapSecrets(v);
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.length ? v.map(normalizeForDiff) : undefined;
  if (isObject(v)) {
    const entries = Object.entries(v)
      .map(([k, x]) => [k, normalizeForDiff(x)] as const)
      .filter(([, x]) => x !== undefined);
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  return v;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------
// getCertificate(content) (§10, data_source_certificate.go certificateToStruct)
// ---------------------------------------------------------------------------------------------------------

const SIGNATURE_ALGORITHM_NAMES: Record<string, string> = {
  "1.2.840.113549.1.1.4": "MD5-RSA",
  "1.2.840.113549.1.1.5": "SHA1-RSA",
  "1.2.840.113549.1.1.11": "SHA256-RSA",
  "1.2.840.113549.1.1.12": "SHA384-RSA",
  "1.2.840.113549.1.1.13": "SHA512-RSA",
  "1.2.840.10045.4.1": "ECDSA-SHA1",
  "1.2.840.10045.4.3.2": "ECDSA-SHA256",
  "1.2.840.10045.4.3.3": "ECDSA-SHA384",
  "1.2.840.10045.4.3.4": "ECDSA-SHA512",
  "1.3.101.112": "Ed25519",
};
const PUBLIC_KEY_ALGORITHM_NAMES: Record<string, string> = {
  "1.2.840.113549.1.1.1": "RSA",
  "1.2.840.10040.4.1": "DSA",
  "1.2.840.10045.2.1": "ECDSA",
  "1.3.101.112": "Ed25519",
};
/** pkix attributeTypeNames, used by Name.String(). */
const ATTRIBUTE_TYPE_NAMES: Record<string, string> = {
  "2.5.4.6": "C",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.3": "CN",
  "2.5.4.5": "SERIALNUMBER",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "STREET",
  "2.5.4.17": "POSTALCODE",
};

function getCertificate(p: Record<string, unknown>): Record<string, unknown> {
  const content = optionalString(p, "content");
  const url = optionalString(p, "url");
  if ((content === undefined) === (url === undefined)) {
    throw providerError("Invalid Attribute Combination", "Exactly one of these attributes must be configured: [content,url]");
  }
  if (url !== undefined) throw new Error("TlsStandIn: getCertificate with `url` needs the network; use `content`");
  if (p.verifyChain !== undefined && p.verifyChain !== null) {
    throw providerError(
      "Invalid Attribute Combination",
      'Attribute "verify_chain" cannot be specified when "content" is specified',
    );
  }
  const block = pemDecode(content as string);
  if (!block) throw providerError("Failed to decode pem content", "no PEM block found");
  if (block.type !== "CERTIFICATE") {
    throw providerError("Unexpected PEM preamble", `PEM must be of type 'CERTIFICATE', got ${block.type}`);
  }
  const certificates = [certificateToStruct(block.der)];
  return { ...p, certificates, id: hashForState(Buffer.from(JSON.stringify(certificates))) };
}

function certificateToStruct(der: Buffer): Record<string, unknown> {
  const cert = AsnConvert.parse(der, asn1X509.Certificate);
  const tbs = cert.tbsCertificate;
  const bcExt = (tbs.extensions ?? []).find((e) => e.extnID === BASIC_CONSTRAINTS);
  const bc = bcExt ? AsnConvert.parse(bcExt.extnValue, asn1X509.BasicConstraints) : undefined;
  const time = (t: asn1X509.Time) => t.getTime().toISOString().replace(/\.\d{3}Z$/, "Z");
  const serial = Buffer.from(tbs.serialNumber);
  return {
    certPem: pemEncode("CERTIFICATE", der),
    isCa: bc?.cA === true,
    issuer: goNameString(tbs.issuer),
    subject: goNameString(tbs.subject),
    maxPathLength: bc ? (bc.pathLenConstraint ?? -1) : 0, // Go: -1 when BC has no pathlen, 0 without BC
    notBefore: time(tbs.validity.notBefore),
    notAfter: time(tbs.validity.notAfter),
    publicKeyAlgorithm: PUBLIC_KEY_ALGORITHM_NAMES[tbs.subjectPublicKeyInfo.algorithm.algorithm] ?? "0",
    serialNumber: BigInt("0x" + (serial.toString("hex") || "0")).toString(10),
    sha1Fingerprint: nodeCrypto.createHash("sha1").update(der).digest("hex"),
    signatureAlgorithm: SIGNATURE_ALGORITHM_NAMES[cert.signatureAlgorithm.algorithm] ?? "0",
    version: tbs.version + 1,
  };
}

/** Go pkix.Name.String() of a parsed name: non-standard attributes first (so they print last), then the
 * ToRDNSequence of the parsed fields, printed in reverse with RFC 2253 escaping. */
function goNameString(name: asn1X509.Name): string {
  const rdns: asn1X509.AttributeTypeAndValue[][] = [];
  for (const rdn of name) for (const atv of rdn) if (!ATTRIBUTE_TYPE_NAMES[atv.type]) rdns.push([atv]);
  const filled = subjectFromAsnName(name);
  for (const rdn of asnName({ ...filled, emailAddress: null })) rdns.push([...rdn]);
  return rdns
    .reverse()
    .map((rdn) =>
      rdn
        .map((atv) => {
          const typeName = ATTRIBUTE_TYPE_NAMES[atv.type];
          const value = attributeString(atv.value);
          if (!typeName) return `${atv.type}=#${Buffer.from(AsnConvert.serialize(goStringValue(value))).toString("hex")}`;
          const escaped = Array.from(value)
            .map((c, k, all) =>
              ',+"\\<>;'.includes(c) || (c === " " && (k === 0 || k === all.length - 1)) || (c === "#" && k === 0) ? "\\" + c : c,
            )
            .join("");
          return `${typeName}=${escaped}`;
        })
        .join("+"),
    )
    .join(",");
}
