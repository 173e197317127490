/**
 * A stand-in for the @pulumi/tls 5.6.1 provider under Pulumi's mock runtime, for what kube-pki's program sends it
 * (components/*.ts): RSA and ECDSA P-256/P-384 keys; CertRequests and SelfSignedCerts with a CN, at most one O, DNS
 * and IP SANs; LocallySignedCerts of those CSRs (and of GroupsCertRequest's) by kube-pki's or adopted CAs. Any other
 * input is refused as "not emulated" rather than emulated loosely: the engine tests run the real provider.
 *
 * It makes REAL keys, CSRs and certificates, byte-compatible (where it matters) with what the Go provider
 * (hashicorp/terraform-provider-tls, bridged) produces. The specification is docs/tls-provider.md; comments cite its
 * sections as "§n". Where Go's stdlib decides the encoding (crypto/x509, encoding/asn1, pkix.Name) the Go rule is named.
 * node:crypto makes keys (async, on the libuv pool) and signatures; the TBS structures are filled in directly in the
 * ASN.1 model of @peculiar/asn1-x509 and asn1-csr (its high-level generators were ~3x slower and cannot express Go's
 * details: DER-sorted multi-valued RDNs, exact string types).
 */
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import * as asn1X509 from "@peculiar/asn1-x509";
import * as asn1Csr from "@peculiar/asn1-csr";
import * as nodeCrypto from "node:crypto";
import { isIP } from "node:net";
import { isDeepStrictEqual, promisify } from "node:util";
import { unwrapSecrets, wrapSecret } from "./secrets";

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

export const TLS_TYPES = {
  privateKey: "tls:index/privateKey:PrivateKey",
  certRequest: "tls:index/certRequest:CertRequest",
  selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
  locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
} as const;

export interface TlsStandInOptions {
  /** Mark the provider's secret output privateKeyPem as secret, as the real engine does via additionalSecretOutputs.
   * Default true. Tests of the program's own pulumi.secret wrapping set it false (the plain mock monitor does not
   * apply additionalSecretOutputs). */
  readonly markSecretOutputs?: boolean;
  /** Clock, for renewal/time tests. Default () => new Date(). */
  readonly now?: () => Date;
}

type Props = Record<string, unknown>;

export class TlsStandIn {
  private readonly markSecrets: boolean;
  private readonly now: () => Date;
  // Caches by PEM: the CSR or certificate that follows a key (or CSR) usually reads that very PEM; a CA signs many.
  private readonly keyCache = new Map<string, KeyMaterial>();
  private readonly csrCache = new Map<string, CertSubject>();
  private readonly caCertCache = new Map<string, ParsedCaCert>();

  constructor(opts: TlsStandInOptions = {}) {
    this.markSecrets = opts.markSecretOutputs ?? true;
    this.now = opts.now ?? (() => new Date());
  }

  /** True for the four tls:index/... resource type tokens it implements. */
  handles(type: string): boolean {
    return (Object.values(TLS_TYPES) as string[]).includes(type);
  }

  /** A create (the mock runtime's newResource). Reads never reach it: emulator/evaluate.ts answers them. The state
   * echoes the inputs as given: the SDK hands the key inputs over as secrets already (§9). */
  async newResource(args: { type: string; name: string; inputs: unknown }): Promise<{ id: string; state: Props }> {
    if (!this.handles(args.type)) throw new Error(`TlsStandIn does not handle resource type ${args.type}`);
    const inputs: Props = isObject(args.inputs) ? args.inputs : {};
    const plain = unwrapSecrets(inputs) as Props;
    const others = Object.keys(plain).filter((k) => isSet(plain[k]) && !Object.hasOwn(INPUTS[args.type] ?? {}, k));
    if (others.length) throw notEmulated(`${args.type.split(":").pop()} input ${others.join(", ")}`);
    if (args.type === TLS_TYPES.privateKey) return this.privateKey(inputs, plain);
    if (args.type === TLS_TYPES.certRequest) return this.certRequest(inputs, plain);
    if (args.type === TLS_TYPES.selfSignedCert) return this.selfSignedCert(inputs, plain);
    return this.locallySignedCert(inputs, plain);
  }

  // ----- tls.PrivateKey (§3) -----------------------------------------------------------------------------

  private async privateKey(inputs: Props, p: Props) {
    const algorithm = p.algorithm as string;
    const curveName = (p.ecdsaCurve as string | undefined) ?? "P224"; // §3: the default is P224
    const curve = algorithm === "ECDSA" ? CURVES[curveName] : undefined;
    if (algorithm !== "RSA" && !curve) {
      throw notEmulated(algorithm === "ECDSA" ? `ecdsaCurve ${curveName}` : `algorithm ${algorithm}`);
    }
    const key = keyMaterial(
      curve
        ? await generateKeyPair("ec", { namedCurve: curve.node })
        : await generateKeyPair("rsa", { modulusLength: (p.rsaBits as number | undefined) ?? 2048, publicExponent: 0x10001 }),
    );
    const privateKeyPem = curve
      ? pemEncode("EC PRIVATE KEY", key.privateKey.export({ type: "sec1", format: "der" })) // named curve, with public key
      : pemEncode("RSA PRIVATE KEY", key.privateKey.export({ type: "pkcs1", format: "der" }));
    remember(this.keyCache, privateKeyPem, key);
    const state = {
      ...inputs,
      // Defaults are echoed even when irrelevant (an RSA key reports ecdsaCurve "P224") (§3).
      rsaBits: inputs.rsaBits ?? 2048,
      ecdsaCurve: inputs.ecdsaCurve ?? "P224",
      privateKeyPem: this.markSecrets ? wrapSecret(privateKeyPem) : privateKeyPem, // §9 additionalSecretOutputs
      publicKeyPem: pemEncode("PUBLIC KEY", key.publicKey.der),
    };
    return { id: hashForState(key.publicKey.der), state };
  }

  // ----- tls.CertRequest (§4) ----------------------------------------------------------------------------

  private async certRequest(inputs: Props, p: Props) {
    const key = this.parseKey(p.privateKeyPem as string, "Failed to parse private key PEM");
    const subject: CertSubject = { name: subjectFromInput(p.subject), sans: sansFromInputs(p), publicKey: key.publicKey };
    const der = await createCertificateRequest(key, subject);
    const certRequestPem = pemEncode("CERTIFICATE REQUEST", der);
    remember(this.csrCache, certRequestPem, subject); // what Go's ParseCertificateRequest reads back from it (§6.3)
    return { id: hashForState(der), state: { ...inputs, keyAlgorithm: key.algorithm, certRequestPem } };
  }

  // ----- tls.SelfSignedCert (§5) -------------------------------------------------------------------------

  private async selfSignedCert(inputs: Props, p: Props) {
    const key = this.parseKey(p.privateKeyPem as string, "Failed to parse private key PEM");
    const subject = { name: subjectFromInput(p.subject), sans: sansFromInputs(p), publicKey: key.publicKey };
    const cert = await createCertificate(this.now(), p, subject, key); // no parent: issuer = subject (§5)
    const state = { ...inputs, ...certDefaults(inputs, p), keyAlgorithm: key.algorithm };
    return { id: cert.id, state: { ...state, ...cert.outputs } };
  }

  // ----- tls.LocallySignedCert (§6) ----------------------------------------------------------------------

  private async locallySignedCert(inputs: Props, p: Props) {
    // §6 build order: CSR (signature NOT verified; only its subject, DNS/IP SANs and key are used), CA key, CA cert.
    const [csrPem, caCertPem] = [p.certRequestPem as string, p.caCertPem as string];
    const subject = this.csrCache.get(csrPem) ?? remember(this.csrCache, csrPem, parseCsrPem(csrPem));
    const caKey = this.parseKey(p.caPrivateKeyPem as string, "Failed to parse CA private key PEM");
    const ca = this.caCertCache.get(caCertPem) ?? remember(this.caCertCache, caCertPem, parseCaCertPem(caCertPem));
    const cert = await createCertificate(this.now(), p, subject, caKey, ca);
    const state = { ...inputs, ...certDefaults(inputs, p), caKeyAlgorithm: caKey.algorithm };
    return { id: cert.id, state: { ...state, ...cert.outputs } };
  }

  // ----- helpers bound to options/caches -----------------------------------------------------------------

  /** CK parsePrivateKeyPEM: RSA PRIVATE KEY (PKCS#1), EC PRIVATE KEY (SEC1) or PRIVATE KEY (PKCS#8), as node reads them. */
  private parseKey(pem: string, summary: string): KeyMaterial {
    const cached = this.keyCache.get(pem);
    if (cached) return cached;
    const privateKey = reported(summary, () => nodeCrypto.createPrivateKey(pem));
    return remember(this.keyCache, pem, keyMaterial({ privateKey, publicKey: nodeCrypto.createPublicKey(privateKey) }));
  }
}

/** Pure replace rules of the real provider (§1, §8, §12.3), used to predict `pulumi preview`. */
export function tlsDiff(type: string, oldInputs: Props, newInputs: Props) {
  const rules = INPUTS[type];
  if (!rules) throw new Error(`tlsDiff: unknown resource type ${type}`);
  const changedKeys: string[] = [];
  const replaceKeys: string[] = [];
  for (const [key, rule] of Object.entries(rules)) {
    const [before, after] = [oldInputs[key], newInputs[key]].map((v) => normalizeForDiff(v ?? DIFF_DEFAULTS[key]));
    if (isDeepStrictEqual(before, after)) continue;
    changedKeys.push(key);
    // "replace if state holds a PEM" looks at the PRIOR value only (§1, CM requireReplaceIfStateContainsPEMString).
    if (rule === "replace" || (rule === "replaceIfPem" && isProviderStylePem(oldInputs[key]))) replaceKeys.push(key);
  }
  const isCert = type === TLS_TYPES.selfSignedCert || type === TLS_TYPES.locallySignedCert;
  if (isCert && alwaysDueForRenewal(newInputs)) replaceKeys.push("readyForRenewal"); // §8 perpetual replacement
  const op: "same" | "update" | "replace" = replaceKeys.length > 0 ? "replace" : changedKeys.length > 0 ? "update" : "same";
  return { op, changedKeys, replaceKeys };
}

/** §8 (CC modifyPlanIfCertificateReadyForRenewal): due when now >= validityEndTime − earlyRenewalHours. */
export function dueForRenewal(validityEndTime: string, earlyRenewalHours: number, now: Date): boolean {
  // RFC 3339 with up to nanoseconds (§2); a Date keeps milliseconds.
  const end = Date.parse(validityEndTime.replace(/\.(\d+)/, (_, f: string) => "." + f.slice(0, 3).padEnd(3, "0")));
  if (Number.isNaN(end)) throw new Error(`Failed to parse data from string: ${validityEndTime}`);
  return end - earlyRenewalHours * HOUR_MS - now.getTime() <= 0;
}

/** Provider id hash (§2 "ids", CM hashForState): hex SHA-1 of the bytes after Go's strings.TrimSpace. */
export function hashForState(bytes: Uint8Array): string {
  if (bytes.length === 0) return "";
  const trimmed = Buffer.from(Buffer.from(bytes).toString("latin1").replace(GO_SPACE_SUFFIX, ""), "latin1");
  return nodeCrypto.createHash("sha1").update(trimmed).digest("hex");
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
  const abs = Math.abs(offsetMin);
  const zone = offsetMin === 0 ? "Z" : `${offsetMin < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${frac}${zone}`
  );
}

// ---------------------------------------------------------------------------------------------------------
// Inputs and their replace rules (§1, §3–§6), constants
// ---------------------------------------------------------------------------------------------------------

type DiffRule = "replace" | "update" | "replaceIfPem";

/** Every input kube-pki sends, per resource type, with how a change of it is planned. What is not listed (write-only
 * keys, URIs, maxPathLength, setSubjectKeyId, setAuthorityKeyId) is not emulated, nor are subject fields but CN and O. */
const INPUTS: Record<string, Record<string, DiffRule>> = {
  [TLS_TYPES.privateKey]: { algorithm: "replace", rsaBits: "replace", ecdsaCurve: "replace" },
  [TLS_TYPES.certRequest]: { privateKeyPem: "replaceIfPem", subject: "replace", dnsNames: "replace", ipAddresses: "replace" },
  [TLS_TYPES.selfSignedCert]: {
    privateKeyPem: "replaceIfPem",
    subject: "replace",
    dnsNames: "replace",
    ipAddresses: "replace",
    validityPeriodHours: "replace",
    allowedUses: "replace",
    earlyRenewalHours: "update",
    isCaCertificate: "replace",
  },
  [TLS_TYPES.locallySignedCert]: {
    certRequestPem: "replaceIfPem",
    caCertPem: "replaceIfPem",
    caPrivateKeyPem: "replaceIfPem",
    validityPeriodHours: "replace",
    allowedUses: "replace",
    earlyRenewalHours: "update",
    isCaCertificate: "replace",
  },
};

/** Defaults the provider plans for omitted inputs, so "omitted" and "default" do not differ (§12.2). */
const DIFF_DEFAULTS: Props = { rsaBits: 2048, ecdsaCurve: "P224", earlyRenewalHours: 0, isCaCertificate: false };

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

/** §12.2: defaults echoed into state, and the planned readyForRenewal (§8, RFR). */
function certDefaults(inputs: Props, p: Props): Props {
  const readyForRenewal = alwaysDueForRenewal(p);
  return { earlyRenewalHours: inputs.earlyRenewalHours ?? 0, isCaCertificate: inputs.isCaCertificate ?? false, readyForRenewal };
}

/** §8: with validity 0 or earlyRenewalHours >= validity a certificate is due on every plan after creation. */
function alwaysDueForRenewal(p: Props): boolean {
  const validity = p.validityPeriodHours;
  return typeof validity === "number" && (validity === 0 || ((p.earlyRenewalHours as number | undefined) ?? 0) >= validity);
}

const HOUR_MS = 3_600_000;

/** ECDSA curves kube-pki uses (components/model/keyAlgorithm.ts): node/OpenSSL name, signature hash and OID (§7.5). */
const CURVES: Record<string, { node: string; hash: string; signature: string }> = {
  P256: { node: "prime256v1", hash: "sha256", signature: "1.2.840.10045.4.3.2" },
  P384: { node: "secp384r1", hash: "sha384", signature: "1.2.840.10045.4.3.3" },
};

/** §7.3 (CC keyUsages / extendedKeyUsages), for the uses kube-pki's catalog asks for (components/model/catalog.ts USES):
 * Go x509.KeyUsage bit values and x509.ExtKeyUsage OIDs. */
const KEY_USAGES: Record<string, number> = { digital_signature: 1 << 0, key_encipherment: 1 << 2, cert_signing: 1 << 5 };
const EXT_KEY_USAGES: Record<string, string> = { server_auth: "1.3.6.1.5.5.7.3.1", client_auth: "1.3.6.1.5.5.7.3.2" };

/** pkix.Name attribute OIDs (§7.1). */
const OID = { organization: "2.5.4.10", commonName: "2.5.4.3" } as const;
const EXTENSION_REQUEST = "1.2.840.113549.1.9.14"; // PKCS#9

/** Go strings.TrimSpace at the end of raw bytes read as latin1 (§2 "Quirk"): ASCII whitespace, plus the UTF-8
 * encodings of Unicode White_Space runes when the bytes happen to form them (U+0085, U+00A0, U+1680, U+2000–U+200A,
 * U+2028, U+2029, U+202F, U+205F, U+3000). DER never starts with whitespace, so only the end matters. */
const GO_SPACE_SUFFIX = /(?:[\t\n\v\f\r ]|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f|\xe3\x80\x80)+$/;

// ---------------------------------------------------------------------------------------------------------
// Small utilities: errors, caches, PEM
// ---------------------------------------------------------------------------------------------------------

/** Diagnostics are reported as "<summary>: <detail>", as the bridge prints them. */
function providerError(summary: string, detail: string): Error {
  return new Error(`${summary}: ${detail}`);
}

/** What the real provider does with it, the stand-in does not know: it refuses rather than guess. */
function notEmulated(what: string): Error {
  return new Error(`TlsStandIn: ${what} is not emulated: kube-pki does not send it (the provider: docs/tls-provider.md)`);
}

/** `f()`, its error reported as the provider's diagnostic `summary`. */
function reported<T>(summary: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw providerError(summary, e instanceof Error ? e.message : String(e));
  }
}

function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function isObject(v: unknown): v is Props {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Adds to a cache, which forgets its oldest entry when full (a Map keeps insertion order). */
function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= 512) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
  return value;
}

/** Go pem.EncodeToMemory: 64-char base64 lines, exactly one trailing newline (§2). */
function pemEncode(type: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.map((l) => l + "\n").join("")}-----END ${type}-----\n`;
}

/** The DER of the first PEM block of `type` (LSC decodePEM; the PEMs kube-pki passes carry no headers). */
function pemDecode(pem: string, type: string): Buffer {
  const m = new RegExp(`-----BEGIN ${type}-----\\r?\\n([A-Za-z0-9+/=\\s]*?)-----END ${type}-----`).exec(pem);
  if (!m) throw new Error(`failed to decode PEM of expected type ${JSON.stringify(type)} from bytes`);
  return Buffer.from((m[1] as string).replace(/\s+/g, ""), "base64");
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

// ---------------------------------------------------------------------------------------------------------
// Keys, signatures, subjects (§7.1) and subject alternative names (§4, §7.6)
// ---------------------------------------------------------------------------------------------------------

/** A SubjectPublicKeyInfo: DER as Go's MarshalPKIXPublicKey writes it, and parsed once (a leaf key appears in its
 * CSR and its certificate). */
interface PublicKey {
  readonly der: Buffer;
  readonly asn: asn1X509.SubjectPublicKeyInfo;
}

interface KeyMaterial {
  readonly algorithm: "RSA" | "ECDSA";
  readonly curve?: (typeof CURVES)[string];
  readonly privateKey: nodeCrypto.KeyObject;
  readonly publicKey: PublicKey;
}

/** Async generation runs on the libuv thread pool, so thousands of keys can be made concurrently. */
const generateKeyPair = promisify(nodeCrypto.generateKeyPair);

/** Classify a key as Go's privateKeyToAlgorithm does (§2 accepted inputs), for the algorithms kube-pki uses. */
function keyMaterial({ privateKey, publicKey }: nodeCrypto.KeyPairKeyObjectResult): KeyMaterial {
  const type = privateKey.asymmetricKeyType;
  const curveName = privateKey.asymmetricKeyDetails?.namedCurve ?? "";
  const curve = Object.values(CURVES).find((c) => type === "ec" && c.node === curveName);
  if (type !== "rsa" && !curve) throw notEmulated(`a ${type}${curveName && ` ${curveName}`} key`);
  const der = publicKey.export({ type: "spki", format: "der" });
  const asn = AsnConvert.parse(der, asn1X509.SubjectPublicKeyInfo);
  return { algorithm: curve ? "ECDSA" : "RSA", curve, privateKey, publicKey: { der, asn } };
}

/** §7.5: the signature algorithm follows the signing key. RSA: sha256WithRSAEncryption (NULL parameters, as Go
 * writes it); ECDSA: by curve, no parameters. */
function signatureAlgorithm(key: KeyMaterial): asn1X509.AlgorithmIdentifier {
  if (key.curve) return new asn1X509.AlgorithmIdentifier({ algorithm: key.curve.signature });
  return new asn1X509.AlgorithmIdentifier({ algorithm: "1.2.840.113549.1.1.11", parameters: null });
}

/** The signature over a DER structure; ECDSA signatures are ASN.1 (r, s), as Go's crypto/ecdsa makes them. EC takes
 * tens of µs and is signed inline; RSA (~1 ms and up) goes to the thread pool. */
async function sign(key: KeyMaterial, tbs: object): Promise<ArrayBuffer> {
  const data = Buffer.from(AsnConvert.serialize(tbs));
  if (key.curve) return toArrayBuffer(nodeCrypto.sign(key.curve.hash, data, key.privateKey));
  return new Promise((resolve, reject) =>
    nodeCrypto.sign("sha256", data, key.privateKey, (err, sig) => (err ? reject(err) : resolve(toArrayBuffer(sig)))),
  );
}

/** big.Int serial as DER INTEGER content: minimal, with a leading zero when the top bit is set (positive). */
function positiveIntegerBytes(unsigned: Buffer): ArrayBuffer {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  const v = unsigned.subarray(i);
  return toArrayBuffer((v[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : Buffer.from(v));
}

/** The fields of Go's pkix.Name kube-pki's subjects use: the O values (in one RDN) and the CN. */
interface GoName {
  organization: string[];
  commonName: string;
}

/** CC createSubjectDistinguishedNames: `organization` is ONE string, and "" still counts (§7.1). */
function subjectFromInput(subject: unknown): GoName {
  const s = isObject(subject) ? subject : {};
  const others = Object.keys(s).filter((k) => isSet(s[k]) && k !== "commonName" && k !== "organization");
  if (others.length) throw notEmulated(`subject field ${others.join(", ")}`);
  return { organization: typeof s.organization === "string" ? [s.organization] : [], commonName: (s.commonName as string) ?? "" };
}

/** pkix.Name.FillFromRDNSequence on a parsed CSR subject (§6.3): the O values in order, the last CN. */
function subjectFromAsnName(name: asn1X509.Name): GoName {
  const n: GoName = { organization: [], commonName: "" };
  for (const rdn of name) {
    for (const atv of rdn) {
      if (atv.type === OID.commonName) n.commonName = atv.value.toString();
      else if (atv.type === OID.organization) n.organization.push(atv.value.toString());
      else throw notEmulated(`a CSR subject attribute ${atv.type}`);
    }
  }
  return n;
}

/** pkix.Name.ToRDNSequence: O (all values in one RDN), then CN when non-empty. A Go string is a PrintableString when
 * every byte allows it ('*' does not), else a UTF8String; the members of a SET OF are sorted by their DER. */
function asnName(n: GoName): asn1X509.Name {
  const rdn = (type: string, values: string[]) => {
    const atvs = values.map((v) => {
      const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(v);
      const value = new asn1X509.AttributeValue(printable ? { printableString: v } : { utf8String: v });
      const atv = new asn1X509.AttributeTypeAndValue({ type, value });
      return { atv, der: Buffer.from(AsnConvert.serialize(atv)) };
    });
    return new asn1X509.RelativeDistinguishedName(atvs.sort((a, b) => Buffer.compare(a.der, b.der)).map((a) => a.atv));
  };
  const rdns: asn1X509.RelativeDistinguishedName[] = [];
  if (n.organization.length) rdns.push(rdn(OID.organization, n.organization));
  if (n.commonName) rdns.push(rdn(OID.commonName, [n.commonName]));
  return new asn1X509.Name(rdns);
}

interface Sans {
  dns: string[];
  ips: string[]; // as sanIp gives them
}

/** An IP SAN as Go writes it (net.ParseIP, then marshalSANs: `ip.To4()`, so an IPv4-mapped IPv6 too, gives 4 bytes,
 * anything else 16), in the text form the IP converter takes. */
function sanIp(s: string): string {
  if (isIP(s) === 4) return s;
  if (isIP(s) !== 6 || s.includes("%")) throw providerError("Invalid IP address", `Failed to parse ${JSON.stringify(s)}`);
  const v6 = new URL(`http://[${s}]/`).hostname.slice(1, -1); // canonical: hex groups, a dotted quad folded in
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!mapped) return v6;
  const [hi, lo] = [parseInt(mapped[1] as string, 16), parseInt(mapped[2] as string, 16)];
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join(".");
}

/** §4/§5: SAN inputs, with the provider's "Invalid IP address" diagnostic. */
function sansFromInputs(p: Props): Sans {
  return { dns: (p.dnsNames as string[] | undefined) ?? [], ips: ((p.ipAddresses as string[] | undefined) ?? []).map(sanIp) };
}

/** Go marshalSANs: order DNS, IP. Undefined when there are none. */
function sanExtension(s: Sans, critical: boolean): asn1X509.Extension | undefined {
  if (s.dns.length + s.ips.length === 0) return undefined;
  const names = new asn1X509.SubjectAlternativeName([
    ...s.dns.map((dNSName) => new asn1X509.GeneralName({ dNSName })),
    ...s.ips.map((iPAddress) => new asn1X509.GeneralName({ iPAddress })),
  ]);
  return extension(asn1X509.id_ce_subjectAltName, critical, names);
}

function extension(extnID: string, critical: boolean, value: object): asn1X509.Extension {
  return new asn1X509.Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

// ---------------------------------------------------------------------------------------------------------
// CSRs (§4, §6) and certificates (§7, CC createCertificate + Go x509.CreateCertificate)
// ---------------------------------------------------------------------------------------------------------

/** What a certificate takes from its CSR (§6.3), or a SelfSignedCert from its inputs. */
interface CertSubject {
  name: GoName;
  sans: Sans;
  publicKey: PublicKey;
}

/** Go x509.CreateCertificateRequest: PKCS#10 v1, attributes `[0]` always present, extensionRequest only with SANs. */
async function createCertificateRequest(key: KeyMaterial, subject: CertSubject): Promise<Buffer> {
  const attributes = new asn1Csr.Attributes();
  const san = sanExtension(subject.sans, false); // a CSR's SAN is never critical
  if (san) {
    const values = [AsnConvert.serialize(new asn1X509.Extensions([san]))];
    attributes.push(new asn1X509.Attribute({ type: EXTENSION_REQUEST, values }));
  }
  const name = asnName(subject.name);
  const info = new asn1Csr.CertificationRequestInfo({ version: 0, subject: name, subjectPKInfo: key.publicKey.asn, attributes });
  const [algorithm, signature] = [signatureAlgorithm(key), await sign(key, info)];
  const csr = new asn1Csr.CertificationRequest({ certificationRequestInfo: info, signatureAlgorithm: algorithm, signature });
  return Buffer.from(AsnConvert.serialize(csr));
}

/** §6 steps 1 and 3 (Go ParseCertificateRequest; the signature is not checked). */
function parseCsrPem(pem: string): CertSubject {
  return reported("Failed to parse certificate request PEM", () => {
    const info = AsnConvert.parse(pemDecode(pem, "CERTIFICATE REQUEST"), asn1Csr.CertificationRequest).certificationRequestInfo;
    const sans: Sans = { dns: [], ips: [] };
    const requested = [...(info.attributes ?? [])].filter((a) => a.type === EXTENSION_REQUEST).flatMap((a) => a.values);
    for (const extensions of requested) {
      for (const ext of AsnConvert.parse(extensions, asn1X509.Extensions)) {
        if (ext.extnID !== asn1X509.id_ce_subjectAltName) continue;
        for (const name of AsnConvert.parse(ext.extnValue, asn1X509.SubjectAlternativeName)) {
          if (name.dNSName !== undefined) sans.dns.push(name.dNSName);
          else if (name.iPAddress !== undefined) sans.ips.push(sanIp(name.iPAddress));
          else throw notEmulated("a CSR SAN other than DNS and IP");
        }
      }
    }
    const publicKey = { der: Buffer.from(AsnConvert.serialize(info.subjectPKInfo)), asn: info.subjectPKInfo };
    return { name: subjectFromAsnName(info.subject), sans, publicKey };
  });
}

interface ParsedCaCert {
  subject: asn1X509.Name; // issuer of what it signs (Go copies parent.RawSubject)
  subjectDer: Buffer;
  spki: Buffer;
  subjectKeyId?: Buffer;
}

function parseCaCertPem(pem: string): ParsedCaCert {
  return reported("Failed to parse CA certificate PEM", () => {
    const tbs = AsnConvert.parse(pemDecode(pem, "CERTIFICATE"), asn1X509.Certificate).tbsCertificate;
    const ski = (tbs.extensions ?? []).find((e) => e.extnID === asn1X509.id_ce_subjectKeyIdentifier);
    return {
      subject: tbs.subject,
      subjectDer: Buffer.from(AsnConvert.serialize(tbs.subject)),
      spki: Buffer.from(AsnConvert.serialize(tbs.subjectPublicKeyInfo)),
      subjectKeyId: ski && Buffer.from(AsnConvert.parse(ski.extnValue, asn1X509.SubjectKeyIdentifier).buffer),
    };
  });
}

/** CC createCertificate (§7.2), then Go x509.CreateCertificate (checks, extensions, signature); no parent: self-signed. */
async function createCertificate(now: Date, p: Props, subject: CertSubject, signer: KeyMaterial, parent?: ParsedCaCert) {
  const isCA = (p.isCaCertificate as boolean | undefined) ?? false;
  // 1. NotBefore = now (no backdating); NotAfter = NotBefore + h. The DER keeps whole seconds (Time truncates).
  const subMillisecondNanos = Number(process.hrtime.bigint() % 1_000_000n);
  const notAfter = new Date(now.getTime() + (p.validityPeriodHours as number) * HOUR_MS);
  // 2. Serial: uniform in [0, 2^128).
  const serial = nodeCrypto.randomBytes(16);
  // 3. allowedUses: KU bits OR-ed, EKUs appended in list order (duplicates kept).
  let keyUsage = 0;
  const extKeyUsages: string[] = [];
  for (const use of (p.allowedUses as string[] | undefined) ?? []) {
    if (KEY_USAGES[use] === undefined && !EXT_KEY_USAGES[use]) throw notEmulated(`allowedUses ${JSON.stringify(use)}`);
    keyUsage |= KEY_USAGES[use] ?? 0;
    if (EXT_KEY_USAGES[use]) extKeyUsages.push(EXT_KEY_USAGES[use]);
  }
  if (parent && !parent.spki.equals(signer.publicKey.der)) {
    throw providerError("Failed to create certificate", "x509: provided PrivateKey doesn't match parent's PublicKey");
  }
  const name = asnName(subject.name);
  const nameDer = Buffer.from(AsnConvert.serialize(name));
  // §7.6 / Go buildCertExtensions: order KU (critical, only with bits), EKU, BC (always, critical), SKI, AKI, SAN.
  const extensions = new asn1X509.Extensions();
  if (keyUsage) extensions.push(extension(asn1X509.id_ce_keyUsage, true, new asn1X509.KeyUsage(keyUsage)));
  if (extKeyUsages.length) {
    extensions.push(extension(asn1X509.id_ce_extKeyUsage, false, new asn1X509.ExtendedKeyUsage(extKeyUsages)));
  }
  // CA:FALSE encodes as an empty SEQUENCE (`30 00`), as Go's asn1 omits the default. No pathlen (no maxPathLength).
  extensions.push(extension(asn1X509.id_ce_basicConstraints, true, new asn1X509.BasicConstraints({ cA: isCA })));
  if (isCA) {
    // 4. A CA always gets an SKI (§7.4, CC generateSubjectKeyID): SHA-1 of the PKCS#1 RSAPublicKey or of the
    // uncompressed EC point, which is the SPKI's subjectPublicKey either way.
    const ski = nodeCrypto.createHash("sha1").update(Buffer.from(subject.publicKey.asn.subjectPublicKey)).digest();
    extensions.push(extension(asn1X509.id_ce_subjectKeyIdentifier, false, new asn1X509.SubjectKeyIdentifier(ski)));
  }
  // Go: AKI := parent.SubjectKeyId whenever issuer and subject DNs differ (§7.4).
  if (parent?.subjectKeyId && !parent.subjectDer.equals(nameDer)) {
    const aki = new asn1X509.AuthorityKeyIdentifier({ keyIdentifier: new asn1X509.KeyIdentifier(parent.subjectKeyId) });
    extensions.push(extension(asn1X509.id_ce_authorityKeyIdentifier, false, aki));
  }
  const san = sanExtension(subject.sans, nameDer.length === 2); // an empty subject (`30 00`) makes the SAN critical (§7.6)
  if (san) extensions.push(san);

  const signatureAlgorithmId = signatureAlgorithm(signer);
  const tbs = new asn1X509.TBSCertificate({
    version: asn1X509.Version.v3,
    serialNumber: positiveIntegerBytes(serial),
    signature: signatureAlgorithmId,
    issuer: parent ? parent.subject : name,
    validity: new asn1X509.Validity({ notBefore: now, notAfter }), // UTCTime < 2050 <= GeneralizedTime, whole seconds
    subject: name,
    subjectPublicKeyInfo: subject.publicKey.asn,
    extensions,
  });
  const signatureValue = await sign(signer, tbs);
  const certificate = new asn1X509.Certificate({ tbsCertificate: tbs, signatureAlgorithm: signatureAlgorithmId, signatureValue });
  return {
    id: BigInt("0x" + serial.toString("hex")).toString(10), // decimal serial (§2 ids)
    outputs: {
      certPem: pemEncode("CERTIFICATE", new Uint8Array(AsnConvert.serialize(certificate))),
      // NotAfter = NotBefore + validity in Go, so both carry the same sub-millisecond digits of the clock.
      validityStartTime: formatGoTime(now, subMillisecondNanos),
      validityEndTime: formatGoTime(notAfter, subMillisecondNanos),
    },
  };
}
