/**
 * Tests of offline/tlsStandIn.ts against docs/tls-provider.md ("§n").
 * Every emulated fact is checked on the real artefacts, by openssl where possible, never against hard-coded outputs.
 * The stand-in is called directly, without the Pulumi runtime. It emulates what kube-pki sends; the last block checks
 * that anything else is refused.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { certificateRequestPem } from "../components/csr";
import { TLS_TYPES, TlsStandIn, dueForRenewal, formatGoTime, hashForState, tlsDiff } from "../offline/tlsStandIn";

// ----- helpers -------------------------------------------------------------------------------------------

const SECRET_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-standin-test-"));
let tmpCounter = 0;

function tmpFile(content: string, mode = 0o600): string {
  const file = path.join(tmpDir, `f${tmpCounter++}`);
  fs.writeFileSync(file, content, { mode });
  return file;
}

function openssl(args: string[], input?: string): string {
  return execFileSync("openssl", args, { input, stdio: ["pipe", "pipe", "pipe"] }).toString();
}

function opensslDer(args: string[], input?: string): Buffer {
  return execFileSync("openssl", args, { input, stdio: ["pipe", "pipe", "pipe"] });
}

/** openssl exit status + stdout and stderr (`verify` and `req -verify` report on different streams). */
function opensslStatus(args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync("openssl", args, { input });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

function isSecret(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as any)[SECRET_KEY] === SECRET_SIG;
}

function plain<T = string>(v: unknown): T {
  return (isSecret(v) ? (v as any).value : v) as T;
}

function certText(pem: string): string {
  return openssl(["x509", "-noout", "-text"], pem);
}

function asn1parse(pem: string): string {
  return openssl(["asn1parse", "-i"], pem);
}

/** The text block that follows an extension's heading in `openssl x509 -text`. */
function extensionValue(text: string, heading: string): string {
  const m = new RegExp(`${heading}:( critical)? ?\\n\\s+(.*)`).exec(text);
  assert.ok(m, `extension ${heading} missing`);
  return (m[2] as string).trim();
}

/** Names of the OBJECTs asn1parse shows, in DER order. */
function objects(parsed: string): string[] {
  return [...parsed.matchAll(/OBJECT\s+:(.*)/g)].map((m) => (m[1] as string).trim());
}

function spkiDer(publicKeyPem: string): Buffer {
  return opensslDer(["pkey", "-pubin", "-outform", "DER"], publicKeyPem);
}

/** Independent restatement of the id rule (§2): SHA-1 after trimming ASCII whitespace at the end. */
function expectedId(der: Buffer): string {
  let end = der.length;
  while (end > 0 && [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20].includes(der[end - 1] as number)) end--;
  return crypto.createHash("sha1").update(der.subarray(0, end)).digest("hex");
}

function derOfPem(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}

/** §2: Go pem.EncodeToMemory: given block type, 64-char lines, exactly one trailing newline. */
function assertGoPem(pem: string, type: string): void {
  const lines = pem.split("\n");
  assert.equal(lines[0], `-----BEGIN ${type}-----`);
  assert.equal(lines.at(-1), "", "ends with a newline");
  assert.equal(lines.at(-2), `-----END ${type}-----`, "exactly one trailing newline");
  const body = lines.slice(1, -2);
  body.slice(0, -1).forEach((l) => assert.equal(l.length, 64));
  assert.ok((body.at(-1) as string).length <= 64 && (body.at(-1) as string).length > 0);
}

const FIXED_NOW = new Date("2026-03-16T18:32:32.577Z");
/** `openssl verify` at a given instant (a minute after FIXED_NOW by default), so results do not depend on the date. */
function verifyArgs(at: Date | null = FIXED_NOW): string[] {
  return at ? ["verify", "-attime", String(Math.floor(at.getTime() / 1000) + 60)] : ["verify"];
}
const CA_USES = ["digital_signature", "key_encipherment", "cert_signing"];
const SERVER_USES = ["digital_signature", "key_encipherment", "server_auth"];

type State = Record<string, any>;
async function create(s: TlsStandIn, type: string, inputs: Record<string, unknown>, name = "r"): Promise<{ id: string; state: State }> {
  return s.newResource({ type, name, inputs });
}

async function key(s: TlsStandIn, inputs: Record<string, unknown>) {
  return create(s, TLS_TYPES.privateKey, inputs);
}

async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error) => {
    assert.match(e.message, re);
    return true;
  });
}

after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

// ----- PrivateKey ------------------------------------------------------------------------------------------

describe("tlsStandIn: PrivateKey (§3)", () => {
  const s = new TlsStandIn();
  let rsa: { id: string; state: State };
  before(async () => {
    rsa = await key(s, { algorithm: "RSA" });
  });

  it("RSA: echoes defaults rsaBits 2048 and ecdsaCurve P224, writes PKCS#1", () => {
    assert.equal(rsa.state.algorithm, "RSA");
    assert.equal(rsa.state.rsaBits, 2048);
    assert.equal(rsa.state.ecdsaCurve, "P224");
    const pem = plain(rsa.state.privateKeyPem);
    assertGoPem(pem, "RSA PRIVATE KEY");
    assertGoPem(rsa.state.publicKeyPem, "PUBLIC KEY");
    assert.match(openssl(["rsa", "-noout", "-text"], pem), /Private-Key: \(2048 bit, 2 primes\)/);
    assert.match(openssl(["rsa", "-noout", "-text"], pem), /publicExponent: 65537/);
    // publicKeyPem is its PKIX public key.
    assert.equal(openssl(["pkey", "-pubout"], pem), rsa.state.publicKeyPem);
  });

  it("id is the lowercase hex SHA-1 of the DER SubjectPublicKeyInfo (§2)", () => {
    const der = spkiDer(rsa.state.publicKeyPem);
    assert.match(rsa.id, /^[0-9a-f]{40}$/);
    assert.equal(rsa.id, expectedId(der));
  });

  it("hashForState trims trailing whitespace like Go strings.TrimSpace (§2 quirk)", () => {
    const body = crypto.randomBytes(40);
    body[39] = 0x41;
    const sha1 = (b: Buffer) => crypto.createHash("sha1").update(b).digest("hex");
    for (const tail of [[0x20], [0x0a, 0x09], [0x0d, 0x0b, 0x0c], [0xc2, 0xa0], [0xe2, 0x80, 0x80, 0x20]]) {
      assert.equal(hashForState(Buffer.concat([body, Buffer.from(tail)])), sha1(body), `tail ${tail}`);
    }
    for (const tail of [[0x00], [0x85], [0xa0], [0x80, 0x80]]) {
      const b = Buffer.concat([body, Buffer.from(tail)]);
      assert.equal(hashForState(b), sha1(b), `tail ${tail} kept`);
    }
  });

  it("ids of ECDSA keys follow the trimmed-SHA-1 rule (some SPKIs end in whitespace)", async () => {
    const keys = await Promise.all(Array.from({ length: 60 }, () => key(s, { algorithm: "ECDSA", ecdsaCurve: "P256" })));
    for (const k of keys) {
      const der = crypto.createPublicKey(k.state.publicKeyPem).export({ type: "spki", format: "der" });
      assert.equal(k.id, expectedId(der));
    }
  });

  it("ECDSA P256: EC PRIVATE KEY (SEC1, named curve, with public key)", async () => {
    const k = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const pem = plain(k.state.privateKeyPem);
    assertGoPem(pem, "EC PRIVATE KEY");
    const parsed = asn1parse(pem);
    assert.match(parsed, /OBJECT\s+:prime256v1/);
    assert.match(parsed, /cont \[ 1 \]/);
    assert.equal(k.state.rsaBits, 2048, "rsaBits default echoed on an ECDSA key");
    assert.equal(openssl(["pkey", "-pubout"], pem), k.state.publicKeyPem);
  });

  it("ECDSA P384 and RSA 3072/4096: the key asked for", async () => {
    const k = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P384" });
    assert.match(openssl(["ec", "-noout", "-text"], plain(k.state.privateKeyPem)), /Private-Key: \(384 bit\)/);
    for (const rsaBits of [3072, 4096]) {
      const r = await key(s, { algorithm: "RSA", rsaBits });
      assert.match(openssl(["rsa", "-noout", "-text"], plain(r.state.privateKeyPem)), new RegExp(`Private-Key: \\(${rsaBits} bit`));
    }
  });

  it("secrets: privateKeyPem is secret, publicKeyPem plain (§9)", async () => {
    assert.ok(isSecret(rsa.state.privateKeyPem));
    assert.equal(typeof rsa.state.publicKeyPem, "string");
    const unmarked = await key(new TlsStandIn({ markSecretOutputs: false }), { algorithm: "ECDSA", ecdsaCurve: "P256" });
    assert.equal(typeof unmarked.state.privateKeyPem, "string");
  });

  it("the secret envelope is the one Pulumi's RPC layer recognizes", () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const runtime = require("@pulumi/pulumi/runtime/rpc");
    assert.equal(runtime.specialSigKey, SECRET_KEY);
    assert.equal(runtime.specialSecretSig, SECRET_SIG);
    assert.ok(runtime.isRpcSecret(rsa.state.privateKeyPem));
  });
});

// ----- CertRequest -----------------------------------------------------------------------------------------

/** §7.1 DER order: O before CN. */
const SUBJECT_OBJECT_ORDER = ["organizationName", "commonName"];

/** The subject part of an asn1parse dump (OBJECTs before the public key algorithm). */
function subjectObjects(parsed: string, keyAlg: string): string[] {
  const all = objects(parsed);
  return all.slice(0, all.indexOf(keyAlg));
}

describe("tlsStandIn: CertRequest (§4)", () => {
  const s = new TlsStandIn();
  let k384: { id: string; state: State };
  let csr: { id: string; state: State };
  before(async () => {
    k384 = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P384" });
    csr = await create(s, TLS_TYPES.certRequest, {
      privateKeyPem: k384.state.privateKeyPem,
      subject: { commonName: "kube-apiserver", organization: "Acme, Inc." },
      dnsNames: ["kubernetes", "kubernetes.default"],
      ipAddresses: ["10.96.0.1", "::ffff:1.2.3.4", "fd00::1"],
    });
  });

  it("is a valid, self-signed PKCS#10 request, id = SHA-1 of its DER", () => {
    const pem = csr.state.certRequestPem as string;
    assertGoPem(pem, "CERTIFICATE REQUEST");
    assert.match(opensslStatus(["req", "-verify", "-noout"], pem).out, /verify OK/i);
    assert.equal(csr.id, expectedId(derOfPem(pem)));
    assert.equal(csr.state.keyAlgorithm, "ECDSA");
    assert.match(openssl(["req", "-noout", "-text"], pem), /Version: 1 \(0x0\)/);
  });

  it("subject in Go pkix.Name order, Printable vs UTF8 strings (§7.1)", async () => {
    const parsed = asn1parse(csr.state.certRequestPem);
    assert.deepEqual(subjectObjects(parsed, "id-ecPublicKey"), SUBJECT_OBJECT_ORDER);
    assert.match(parsed, /PRINTABLESTRING\s+:Acme, Inc\./);
    const utf8 = await create(s, TLS_TYPES.certRequest, { privateKeyPem: k384.state.privateKeyPem, subject: { commonName: "x", organization: "Köln" } });
    assert.match(asn1parse(utf8.state.certRequestPem), /UTF8STRING\s+:K/, "a non-printable O becomes UTF8String");
  });

  it("SAN extension request: DNS, IP (IPv4 and IPv4-mapped as 4 bytes, IPv6 as 16), in that order; no KU/BC", () => {
    const text = openssl(["req", "-noout", "-text"], csr.state.certRequestPem);
    assert.match(text, /DNS:kubernetes, DNS:kubernetes.default, IP Address:10.96.0.1, IP Address:1.2.3.4, IP Address:FD00:0:0:0:0:0:0:1\n/);
    assert.match(asn1parse(csr.state.certRequestPem), /OBJECT\s+:Extension Request/);
    assert.doesNotMatch(text, /Key Usage|Basic Constraints/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA384/);
  });

  it("without SANs there is no extension request, attributes stay an empty [0]", async () => {
    const bare = await create(s, TLS_TYPES.certRequest, { privateKeyPem: k384.state.privateKeyPem, subject: { commonName: "x" } });
    const parsed = asn1parse(bare.state.certRequestPem);
    assert.doesNotMatch(parsed, /Extension Request/);
    assert.match(parsed, /l=\s*0 cons:\s+cont \[ 0 \]/);
  });

  it("signature algorithm follows the key: RSA sha256WithRSAEncryption, P-256 ecdsa-with-SHA256 (§7.5)", async () => {
    for (const [inputs, alg] of [
      [{ algorithm: "RSA" }, "sha256WithRSAEncryption"],
      [{ algorithm: "ECDSA", ecdsaCurve: "P256" }, "ecdsa-with-SHA256"],
    ] as const) {
      const k = await key(s, inputs);
      const r = await create(s, TLS_TYPES.certRequest, { privateKeyPem: k.state.privateKeyPem, dnsNames: ["a"] });
      assert.match(openssl(["req", "-noout", "-text"], r.state.certRequestPem), new RegExp(`Signature Algorithm: ${alg}`));
      assert.match(opensslStatus(["req", "-verify", "-noout"], r.state.certRequestPem).out, /verify OK/i);
      assert.equal(r.state.keyAlgorithm, inputs.algorithm);
    }
  });

  it("keeps the private key secret and certRequestPem plain (§9)", () => {
    assert.ok(isSecret(csr.state.privateKeyPem));
    assert.equal(typeof csr.state.certRequestPem, "string");
  });

  it("errors: an invalid IP address (Go net.ParseIP), a PEM that is no private key (§4, §2)", async () => {
    const pk = k384.state.privateKeyPem;
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: pk, ipAddresses: ["10.0.0.256"] }), /^Invalid IP address: Failed to parse "10.0.0.256"/);
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: pk, ipAddresses: ["010.0.0.1"] }), /Invalid IP address/);
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: pk, ipAddresses: ["fe80::1%eth0"] }), /Invalid IP address/);
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: k384.state.publicKeyPem }), /^Failed to parse private key PEM: /);
  });

  it("accepts externally made keys, as adopted CAs have them: PKCS#8 (openssl genpkey), SEC1 and PKCS#1", async () => {
    for (const args of [
      ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
      ["ecparam", "-genkey", "-name", "secp384r1", "-noout"],
      ["genrsa", "-traditional", "2048"],
    ]) {
      const r = await create(s, TLS_TYPES.certRequest, { privateKeyPem: openssl(args), subject: { commonName: "ext" } });
      assert.equal(r.state.keyAlgorithm, args[0] === "genrsa" ? "RSA" : "ECDSA");
      assert.match(opensslStatus(["req", "-verify", "-noout"], r.state.certRequestPem).out, /verify OK/i);
    }
  });
});

// ----- SelfSignedCert --------------------------------------------------------------------------------------

describe("tlsStandIn: SelfSignedCert (§5, §7)", () => {
  const s = new TlsStandIn({ now: () => FIXED_NOW });
  let caKey: { id: string; state: State };
  let ca: { id: string; state: State };
  let caText: string;
  before(async () => {
    caKey = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P384" });
    ca = await create(s, TLS_TYPES.selfSignedCert, {
      privateKeyPem: caKey.state.privateKeyPem,
      isCaCertificate: true,
      validityPeriodHours: 87600,
      allowedUses: CA_USES,
      subject: { commonName: "kubernetes", organization: "kube-pki" },
    });
    caText = certText(ca.state.certPem);
  });

  it("CA: KU critical, BC critical CA:TRUE, SKI = SHA-1 of the EC point, ecdsa-with-SHA384, self-signed (§7.2-§7.6)", () => {
    assertGoPem(ca.state.certPem, "CERTIFICATE");
    assert.match(caText, /Version: 3 \(0x2\)/);
    assert.match(caText, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment, Certificate Sign\n/);
    assert.match(caText, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    const point = spkiDer(caKey.state.publicKeyPem).subarray(-97); // 04‖X‖Y for P-384
    assert.equal(point[0], 4);
    const ski = crypto.createHash("sha1").update(point).digest("hex");
    assert.equal(extensionValue(caText, "X509v3 Subject Key Identifier").replace(/:/g, "").toLowerCase(), ski);
    assert.doesNotMatch(caText, /Authority Key Identifier/, "no AKI without setAuthorityKeyId");
    assert.match(caText, /Signature Algorithm: ecdsa-with-SHA384/);
    assert.equal(openssl(["x509", "-noout", "-issuer"], ca.state.certPem).replace("issuer=", ""), openssl(["x509", "-noout", "-subject"], ca.state.certPem).replace("subject=", ""));
    const tmp = tmpFile(ca.state.certPem);
    assert.match(opensslStatus([...verifyArgs(), "-CAfile", tmp, tmp]).out, /: OK/);
    assert.equal(ca.state.keyAlgorithm, "ECDSA");
  });

  it("id is the decimal, 128-bit random serial (§2, §7.2)", async () => {
    const hex = openssl(["x509", "-noout", "-serial"], ca.state.certPem).trim().replace("serial=", "");
    assert.match(ca.id, /^\d+$/);
    assert.equal(BigInt("0x" + hex).toString(10), ca.id);
    assert.ok(BigInt(ca.id) < 1n << 128n);
    const others = await Promise.all(
      [1, 2, 3].map(() => create(s, TLS_TYPES.selfSignedCert, { privateKeyPem: caKey.state.privateKeyPem, validityPeriodHours: 1, allowedUses: [] })),
    );
    assert.equal(new Set([ca.id, ...others.map((o) => o.id)]).size, 4);
  });

  it("NotBefore = now (seconds), NotAfter = now + validityPeriodHours; RFC 3339 outputs (§2, §7.2)", () => {
    const start = openssl(["x509", "-noout", "-startdate"], ca.state.certPem).trim();
    const end = openssl(["x509", "-noout", "-enddate"], ca.state.certPem).trim();
    assert.equal(Date.parse(start.replace("notBefore=", "")), Math.floor(FIXED_NOW.getTime() / 1000) * 1000);
    assert.equal(Date.parse(end.replace("notAfter=", "")), Math.floor(FIXED_NOW.getTime() / 1000) * 1000 + 87600 * 3600_000);
    assert.match(ca.state.validityStartTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/);
    assert.equal(Date.parse(ca.state.validityStartTime), FIXED_NOW.getTime());
    assert.equal(Date.parse(ca.state.validityEndTime), FIXED_NOW.getTime() + 87600 * 3600_000);
    // Nanoseconds, as Go writes them: the milliseconds of the clock, then the sub-millisecond digits.
    assert.ok(ca.state.validityStartTime.startsWith(formatGoTime(FIXED_NOW).replace(/Z$/, "")), ca.state.validityStartTime);
    assert.equal(ca.state.validityEndTime.slice(19), ca.state.validityStartTime.slice(19), "the same fraction on both");
  });

  it("echoes defaults; readyForRenewal false (§5, §12.2)", () => {
    assert.equal(ca.state.earlyRenewalHours, 0);
    assert.equal(ca.state.isCaCertificate, true);
    assert.equal(ca.state.readyForRenewal, false);
    assert.ok(isSecret(ca.state.privateKeyPem));
    assert.equal(typeof ca.state.certPem, "string");
  });

  it("extension order KU, EKU, BC, SAN; leaf BC is critical CA:FALSE, no SKI (§7.6)", async () => {
    const leaf = await create(s, TLS_TYPES.selfSignedCert, {
      privateKeyPem: caKey.state.privateKeyPem,
      validityPeriodHours: 24,
      allowedUses: ["digital_signature", "server_auth", "client_auth"],
      subject: { commonName: "leaf" },
      dnsNames: ["leaf.example"],
    });
    const exts = objects(asn1parse(leaf.state.certPem)).filter((o) => o.startsWith("X509v3"));
    assert.deepEqual(exts, ["X509v3 Key Usage", "X509v3 Extended Key Usage", "X509v3 Basic Constraints", "X509v3 Subject Alternative Name"]);
    const text = certText(leaf.state.certPem);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    assert.match(text, /X509v3 Subject Alternative Name: \n/, "SAN not critical when the subject is set");
    assert.match(text, /X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
  });

  it("EKUs keep list order and duplicates; [] gives neither KU nor EKU, BC stays (§7.2.3)", async () => {
    const dup = await create(s, TLS_TYPES.selfSignedCert, {
      privateKeyPem: caKey.state.privateKeyPem,
      validityPeriodHours: 1,
      allowedUses: ["client_auth", "server_auth", "client_auth"],
      subject: { commonName: "x" },
    });
    assert.match(certText(dup.state.certPem), /TLS Web Client Authentication, TLS Web Server Authentication, TLS Web Client Authentication\n/);
    assert.doesNotMatch(certText(dup.state.certPem), /X509v3 Key Usage/);
    const none = await create(s, TLS_TYPES.selfSignedCert, { privateKeyPem: caKey.state.privateKeyPem, validityPeriodHours: 1, allowedUses: [], subject: { commonName: "x" } });
    const text = certText(none.state.certPem);
    assert.doesNotMatch(text, /Key Usage/);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
  });

  it("empty subject: empty DN, SAN becomes critical (§7.1, §7.6)", async () => {
    const c = await create(s, TLS_TYPES.selfSignedCert, { privateKeyPem: caKey.state.privateKeyPem, validityPeriodHours: 1, allowedUses: SERVER_USES, dnsNames: ["only-san"] });
    const text = certText(c.state.certPem);
    assert.match(text, /Subject: ?\n/);
    assert.match(text, /X509v3 Subject Alternative Name: critical\n\s+DNS:only-san\n/);
  });

  it("subject encoding as pkix.Name: order, PrintableString/UTF8String, '*' is not printable (§7.1)", async () => {
    const c = await create(s, TLS_TYPES.selfSignedCert, {
      privateKeyPem: caKey.state.privateKeyPem,
      validityPeriodHours: 1,
      allowedUses: [],
      subject: { commonName: "*.example.com", organization: "NRW" },
    });
    const parsed = asn1parse(c.state.certPem);
    const subject = subjectObjects(parsed.slice(parsed.indexOf("UTCTIME")), "id-ecPublicKey");
    assert.deepEqual(subject, SUBJECT_OBJECT_ORDER);
    assert.match(parsed, /UTF8STRING\s+:\*\.example\.com/);
    assert.match(parsed, /PRINTABLESTRING\s+:NRW/);
    const emptyO = await create(s, TLS_TYPES.selfSignedCert, { privateKeyPem: caKey.state.privateKeyPem, validityPeriodHours: 1, allowedUses: [], subject: { organization: "" } });
    assert.match(asn1parse(emptyO.state.certPem), /OBJECT\s+:organizationName\s*\n.*PRINTABLESTRING\s*:?\s*\n/, "an empty O still counts");
  });

  it("errors: an invalid IP address (§5)", async () => {
    const base = { privateKeyPem: caKey.state.privateKeyPem, validityPeriodHours: 1, allowedUses: SERVER_USES, subject: { commonName: "x" } };
    await rejectsWith(create(s, TLS_TYPES.selfSignedCert, { ...base, ipAddresses: ["1.2.3"] }), /^Invalid IP address/);
  });

  it("readyForRenewal is true when validity is 0 or earlyRenewalHours >= validity (§8)", async () => {
    const base = { privateKeyPem: caKey.state.privateKeyPem, allowedUses: [], subject: { commonName: "x" } };
    const zero = await create(s, TLS_TYPES.selfSignedCert, { ...base, validityPeriodHours: 0 });
    assert.equal(zero.state.readyForRenewal, true);
    assert.equal(zero.state.validityStartTime, zero.state.validityEndTime);
    const early = await create(s, TLS_TYPES.selfSignedCert, { ...base, validityPeriodHours: 10, earlyRenewalHours: 10 });
    assert.equal(early.state.readyForRenewal, true);
    const fine = await create(s, TLS_TYPES.selfSignedCert, { ...base, validityPeriodHours: 10, earlyRenewalHours: 9 });
    assert.equal(fine.state.readyForRenewal, false);
    assert.equal(fine.state.earlyRenewalHours, 9);
  });

  it("UTCTime before 2050, GeneralizedTime from 2050 (§2)", async () => {
    const late = new TlsStandIn({ now: () => new Date("2049-12-31T12:00:00Z") });
    const c = await create(late, TLS_TYPES.selfSignedCert, { privateKeyPem: caKey.state.privateKeyPem, validityPeriodHours: 48, allowedUses: [] });
    const parsed = asn1parse(c.state.certPem);
    assert.match(parsed, /UTCTIME\s+:491231120000Z\s*\n.*GENERALIZEDTIME\s+:20500102120000Z/);
  });

  it("signature algorithm follows the signer: RSA (NULL params), P-256, P-384 (§7.5)", async () => {
    const s = new TlsStandIn(); // real clock: openssl verify checks validity
    for (const [inputs, alg] of [
      [{ algorithm: "RSA" }, "sha256WithRSAEncryption"],
      [{ algorithm: "ECDSA", ecdsaCurve: "P256" }, "ecdsa-with-SHA256"],
      [{ algorithm: "ECDSA", ecdsaCurve: "P384" }, "ecdsa-with-SHA384"],
    ] as const) {
      const k = await key(s, inputs);
      const c = await create(s, TLS_TYPES.selfSignedCert, {
        privateKeyPem: k.state.privateKeyPem,
        isCaCertificate: true,
        validityPeriodHours: 1,
        allowedUses: CA_USES,
        subject: { commonName: "sig" },
      });
      const parsed = asn1parse(c.state.certPem);
      assert.equal(objects(parsed)[0], alg);
      if (inputs.algorithm === "RSA") {
        assert.match(parsed, /OBJECT\s+:sha256WithRSAEncryption\s*\n.*NULL/);
        // §7.4: an RSA key's SKI = SHA-1 of the PKCS#1 RSAPublicKey.
        const pkcs1 = opensslDer(["rsa", "-pubin", "-RSAPublicKey_out", "-outform", "DER"], k.state.publicKeyPem);
        const expected = crypto.createHash("sha1").update(pkcs1).digest("hex");
        assert.equal(extensionValue(certText(c.state.certPem), "X509v3 Subject Key Identifier").replace(/:/g, "").toLowerCase(), expected);
      }
      const tmp = tmpFile(c.state.certPem);
      assert.match(opensslStatus([...verifyArgs(null), "-CAfile", tmp, tmp]).out, /: OK/, `${alg} self-signature verifies`);
    }
  });

  it("times are in the process's local zone, fraction trimmed (§2)", () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = "Asia/Kolkata";
      assert.equal(formatGoTime(new Date("2026-03-16T18:32:32.500Z")), "2026-03-17T00:02:32.5+05:30");
      process.env.TZ = "America/New_York";
      assert.equal(formatGoTime(new Date("2026-01-16T18:32:32.000Z")), "2026-01-16T13:32:32-05:00");
      process.env.TZ = "UTC";
      assert.equal(formatGoTime(new Date("2026-03-16T18:32:32.577Z")), "2026-03-16T18:32:32.577Z");
      // What the real provider writes (seen in its state): nine digits, trailing zeros trimmed.
      assert.equal(formatGoTime(new Date("2026-12-31T08:34:07.174Z"), 162434), "2026-12-31T08:34:07.174162434Z");
      assert.equal(formatGoTime(new Date("2027-12-01T08:34:07.067Z"), 630920), "2027-12-01T08:34:07.06763092Z");
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });
});

// ----- LocallySignedCert -----------------------------------------------------------------------------------

describe("tlsStandIn: LocallySignedCert (§6, §7)", () => {
  const s = new TlsStandIn({ now: () => FIXED_NOW });
  let caKey: { id: string; state: State };
  let ca: { id: string; state: State };
  let caFile: string;
  let leafKey: { id: string; state: State };
  let leaf: { id: string; state: State };
  let leafText: string;

  const sign = (inputs: Record<string, unknown>) =>
    create(s, TLS_TYPES.locallySignedCert, {
      caCertPem: ca.state.certPem,
      caPrivateKeyPem: caKey.state.privateKeyPem,
      validityPeriodHours: 8760,
      allowedUses: SERVER_USES,
      ...inputs,
    });

  before(async () => {
    caKey = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    ca = await create(s, TLS_TYPES.selfSignedCert, {
      privateKeyPem: caKey.state.privateKeyPem,
      isCaCertificate: true,
      validityPeriodHours: 87600,
      allowedUses: CA_USES,
      subject: { commonName: "kubernetes" },
    });
    caFile = tmpFile(ca.state.certPem);
    leafKey = await key(s, { algorithm: "RSA" });
    const csr = await create(s, TLS_TYPES.certRequest, {
      privateKeyPem: leafKey.state.privateKeyPem,
      subject: { commonName: "kube-apiserver", organization: "kube-pki" },
      dnsNames: ["kubernetes.default.svc"],
      ipAddresses: ["10.96.0.1", "fd00::1"],
    });
    leaf = await sign({ certRequestPem: csr.state.certRequestPem });
    leafText = certText(leaf.state.certPem);
  });

  it("verifies against the SelfSignedCert CA; issuer = CA subject; AKI = CA SKI (§6.4, §7.4)", () => {
    assert.match(opensslStatus([...verifyArgs(), "-CAfile", caFile, tmpFile(leaf.state.certPem)]).out, /: OK/);
    assert.equal(
      openssl(["x509", "-noout", "-issuer"], leaf.state.certPem).replace("issuer=", ""),
      openssl(["x509", "-noout", "-subject"], ca.state.certPem).replace("subject=", ""),
    );
    const caSki = extensionValue(certText(ca.state.certPem), "X509v3 Subject Key Identifier");
    assert.equal(extensionValue(leafText, "X509v3 Authority Key Identifier").replace(/^keyid:/, ""), caSki);
    assert.doesNotMatch(leafText, /Subject Key Identifier/, "no SKI on a leaf without setSubjectKeyId");
  });

  it("leaf content: CA:FALSE critical, KU critical, EKU, ECDSA CA signs the RSA key (§7.5, §7.6)", () => {
    assert.match(leafText, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    assert.match(leafText, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    assert.match(leafText, /X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication\n/);
    assert.match(leafText, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(leafText, /Public Key Algorithm: rsaEncryption/);
    assert.equal(leaf.state.caKeyAlgorithm, "ECDSA");
    const hex = openssl(["x509", "-noout", "-serial"], leaf.state.certPem).trim().replace("serial=", "");
    assert.equal(BigInt("0x" + hex).toString(10), leaf.id);
    assert.equal(Date.parse(leaf.state.validityEndTime) - Date.parse(leaf.state.validityStartTime), 8760 * 3600_000);
  });

  it("copies the subject and the DNS/IP SANs from the CSR (§6.3)", () => {
    const subject = openssl(["x509", "-noout", "-subject", "-nameopt", "RFC2253"], leaf.state.certPem).trim();
    assert.equal(subject, "subject=CN=kube-apiserver,O=kube-pki");
    assert.match(leafText, /DNS:kubernetes.default.svc, IP Address:10.96.0.1, IP Address:FD00:0:0:0:0:0:0:1\n/);
  });

  it("state: defaults, secret CA key, plain PEMs (§6, §9)", () => {
    assert.ok(isSecret(leaf.state.caPrivateKeyPem));
    assert.equal(typeof leaf.state.caCertPem, "string");
    assert.equal(typeof leaf.state.certPem, "string");
    assert.equal(leaf.state.isCaCertificate, false);
    assert.equal(leaf.state.earlyRenewalHours, 0);
    assert.equal(leaf.state.readyForRenewal, false);
  });

  it("GroupsCertRequest's CSR: O=g1+O=g2 survives as one RDN, DER-sorted (§6.3, §11.3)", async () => {
    const csrPem = certificateRequestPem(plain(leafKey.state.privateKeyPem), "admin", ["system:masters", "g2", "dév"]);
    const c = await sign({ certRequestPem: csrPem, allowedUses: ["digital_signature", "client_auth"] });
    const text = certText(c.state.certPem);
    assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
    assert.doesNotMatch(text, /Subject Alternative Name/);
    // One RDN SET holding the O values, DER-sorted (shorter encoding first), each PrintableString unless it cannot be.
    assert.match(
      asn1parse(c.state.certPem),
      /SET\s*\n.*SEQUENCE\s*\n.*OBJECT\s+:organizationName\s*\n.*PRINTABLESTRING\s+:g2\s*\n.*SEQUENCE\s*\n.*OBJECT\s+:organizationName\s*\n.*UTF8STRING\s+:d.*\n.*SEQUENCE\s*\n.*OBJECT\s+:organizationName\s*\n.*PRINTABLESTRING\s+:system:masters\s*\n.*SET/,
    );
    assert.match(opensslStatus([...verifyArgs(), "-CAfile", caFile, tmpFile(c.state.certPem)]).out, /: OK/);
  });

  it("ignores the CSR's signature (§6.1)", async () => {
    const csr = await create(s, TLS_TYPES.certRequest, { privateKeyPem: leafKey.state.privateKeyPem, subject: { commonName: "tampered" } });
    const der = derOfPem(csr.state.certRequestPem);
    der[der.length - 1] = (der[der.length - 1] as number) ^ 0xff; // last byte of the signature
    const body = (der.toString("base64").match(/.{1,64}/g) ?? []).join("\n");
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.doesNotMatch(opensslStatus(["req", "-verify", "-noout"], tampered).out, /verify OK/i, "openssl rejects it");
    const c = await sign({ certRequestPem: tampered });
    assert.match(openssl(["x509", "-noout", "-subject"], c.state.certPem), /CN ?= ?tampered/);
  });

  it("errors: CA key/cert mismatch, PEMs of the wrong type (§6)", async () => {
    const csr = leaf.state.certRequestPem as string; // echoed input of the LocallySignedCert
    const other = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    await rejectsWith(
      sign({ certRequestPem: csr, caPrivateKeyPem: other.state.privateKeyPem }),
      /^Failed to create certificate: x509: provided PrivateKey doesn't match parent's PublicKey$/,
    );
    await rejectsWith(sign({ certRequestPem: ca.state.certPem }), /^Failed to parse certificate request PEM: /);
    await rejectsWith(sign({ certRequestPem: csr, caCertPem: csr }), /^Failed to parse CA certificate PEM: /);
    await rejectsWith(sign({ certRequestPem: csr, caPrivateKeyPem: ca.state.certPem }), /^Failed to parse CA private key PEM: /);
  });

  it("an openssl-made CA (as an adopted one), a CSR parsed back from its PEM: AKI = the CA's SKI; chain verifies", async () => {
    const caKeyPem = openssl(["genrsa", "-traditional", "2048"]);
    const caCertPem = openssl(["req", "-x509", "-new", "-key", tmpFile(caKeyPem), "-subj", "/O=Acme/CN=kubernetes", "-days", "2"]);
    const fresh = new TlsStandIn(); // no cached CSR, and the real clock (the CA is valid from now on)
    const c = await create(fresh, TLS_TYPES.locallySignedCert, {
      certRequestPem: leaf.state.certRequestPem,
      caCertPem,
      caPrivateKeyPem: caKeyPem,
      validityPeriodHours: 1,
      allowedUses: SERVER_USES,
    });
    assert.equal(c.state.caKeyAlgorithm, "RSA");
    assert.equal(openssl(["x509", "-noout", "-issuer"], c.state.certPem).replace("issuer=", ""), openssl(["x509", "-noout", "-subject"], caCertPem).replace("subject=", ""));
    assert.match(certText(c.state.certPem), /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(certText(c.state.certPem), /DNS:kubernetes.default.svc, IP Address:10.96.0.1, IP Address:FD00:0:0:0:0:0:0:1\n/);
    assert.equal(
      extensionValue(certText(c.state.certPem), "X509v3 Authority Key Identifier").replace(/^keyid:/, ""),
      extensionValue(certText(caCertPem), "X509v3 Subject Key Identifier"),
    );
    assert.match(opensslStatus([...verifyArgs(null), "-CAfile", tmpFile(caCertPem), tmpFile(c.state.certPem)]).out, /: OK/);
  });

  it("intermediate CA: extension order KU, EKU, BC, SKI, AKI, SAN, no pathlen; AKI = root SKI; chain verifies (§6, §7.6)", async () => {
    const interKey = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P384" });
    const interCsr = await create(s, TLS_TYPES.certRequest, { privateKeyPem: interKey.state.privateKeyPem, subject: { commonName: "etcd-ca" }, dnsNames: ["etcd-ca"] });
    const inter = await sign({ certRequestPem: interCsr.state.certRequestPem, isCaCertificate: true, allowedUses: [...CA_USES, "client_auth"] });
    const exts = objects(asn1parse(inter.state.certPem)).filter((o) => o.startsWith("X509v3"));
    assert.deepEqual(exts, [
      "X509v3 Key Usage",
      "X509v3 Extended Key Usage",
      "X509v3 Basic Constraints",
      "X509v3 Subject Key Identifier",
      "X509v3 Authority Key Identifier",
      "X509v3 Subject Alternative Name",
    ]);
    const text = certText(inter.state.certPem);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
    const endKey = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const endCsr = await create(s, TLS_TYPES.certRequest, { privateKeyPem: endKey.state.privateKeyPem, subject: { commonName: "etcd-peer" } });
    const end = await create(s, TLS_TYPES.locallySignedCert, {
      certRequestPem: endCsr.state.certRequestPem,
      caCertPem: inter.state.certPem,
      caPrivateKeyPem: interKey.state.privateKeyPem,
      validityPeriodHours: 1,
      allowedUses: ["digital_signature", "server_auth", "client_auth"],
    });
    assert.match(certText(end.state.certPem), /Signature Algorithm: ecdsa-with-SHA384/);
    assert.equal(
      extensionValue(certText(end.state.certPem), "X509v3 Authority Key Identifier").replace(/^keyid:/, ""),
      extensionValue(text, "X509v3 Subject Key Identifier"),
    );
    const verified = opensslStatus([...verifyArgs(), "-CAfile", caFile, "-untrusted", tmpFile(inter.state.certPem), tmpFile(end.state.certPem)]);
    assert.match(verified.out, /: OK/);
  });
});

// ----- tlsDiff / dueForRenewal -----------------------------------------------------------------------------

describe("tlsStandIn: tlsDiff and dueForRenewal (§1, §8, §12.3)", () => {
  const PEM_A = "-----BEGIN CERTIFICATE-----\nQUFB\n-----END CERTIFICATE-----\n";
  const PEM_B = "-----BEGIN CERTIFICATE-----\nQkJC\n-----END CERTIFICATE-----\n";
  const cert = { privateKeyPem: PEM_A, validityPeriodHours: 100, earlyRenewalHours: 10, allowedUses: SERVER_USES, subject: { commonName: "x" } };

  it("PrivateKey: identical or default-equivalent ⇒ same; any change ⇒ replace", () => {
    assert.deepEqual(tlsDiff(TLS_TYPES.privateKey, { algorithm: "RSA" }, { algorithm: "RSA", rsaBits: 2048 }), { op: "same", changedKeys: [], replaceKeys: [] });
    assert.deepEqual(tlsDiff(TLS_TYPES.privateKey, { algorithm: "RSA" }, { algorithm: "ECDSA" }).op, "replace");
    const curve = tlsDiff(TLS_TYPES.privateKey, { algorithm: "RSA" }, { algorithm: "RSA", ecdsaCurve: "P256" });
    assert.deepEqual(curve, { op: "replace", changedKeys: ["ecdsaCurve"], replaceKeys: ["ecdsaCurve"] });
    assert.equal(tlsDiff(TLS_TYPES.privateKey, { algorithm: "RSA", rsaBits: 2048 }, { algorithm: "RSA", rsaBits: 4096 }).op, "replace");
  });

  it("CertRequest: every input replaces; a non-provider PEM in state turns a key change into an update", () => {
    const old = { privateKeyPem: PEM_A, subject: { commonName: "a" }, dnsNames: ["a"] };
    assert.equal(tlsDiff(TLS_TYPES.certRequest, old, { ...old }).op, "same");
    assert.deepEqual(tlsDiff(TLS_TYPES.certRequest, old, { ...old, dnsNames: ["a", "b"] }).replaceKeys, ["dnsNames"]);
    assert.deepEqual(tlsDiff(TLS_TYPES.certRequest, old, { ...old, subject: { commonName: "b" } }).replaceKeys, ["subject"]);
    assert.deepEqual(tlsDiff(TLS_TYPES.certRequest, old, { ...old, privateKeyPem: PEM_B }).replaceKeys, ["privateKeyPem"]);
    for (const odd of [PEM_A.replace(/\n/g, "\r\n"), PEM_A + "\n", " " + PEM_A]) {
      const d = tlsDiff(TLS_TYPES.certRequest, { ...old, privateKeyPem: odd }, { ...old, privateKeyPem: PEM_B });
      assert.deepEqual(d, { op: "update", changedKeys: ["privateKeyPem"], replaceKeys: [] }, JSON.stringify(odd));
    }
  });

  it("certificates: earlyRenewalHours alone ⇒ update; other inputs ⇒ replace; identical ⇒ same", () => {
    for (const type of [TLS_TYPES.selfSignedCert, TLS_TYPES.locallySignedCert]) {
      assert.deepEqual(tlsDiff(type, cert, { ...cert }), { op: "same", changedKeys: [], replaceKeys: [] });
      assert.deepEqual(tlsDiff(type, cert, { ...cert, earlyRenewalHours: 20 }), { op: "update", changedKeys: ["earlyRenewalHours"], replaceKeys: [] });
      assert.deepEqual(tlsDiff(type, cert, { ...cert, validityPeriodHours: 200 }).replaceKeys, ["validityPeriodHours"]);
      assert.deepEqual(tlsDiff(type, cert, { ...cert, allowedUses: CA_USES }).replaceKeys, ["allowedUses"]);
      assert.deepEqual(tlsDiff(type, cert, { ...cert, isCaCertificate: false }).op, "same", "false is the default");
    }
    const lsc = { ...cert, certRequestPem: PEM_A, caCertPem: PEM_A, caPrivateKeyPem: PEM_A };
    assert.deepEqual(tlsDiff(TLS_TYPES.locallySignedCert, lsc, { ...lsc, caCertPem: PEM_B }).replaceKeys, ["caCertPem"]);
    assert.equal(tlsDiff(TLS_TYPES.locallySignedCert, { ...lsc, caCertPem: PEM_A + "\n" }, { ...lsc, caCertPem: PEM_B }).op, "update");
  });

  it("validity 0 or earlyRenewalHours >= validity ⇒ replaced on every run, keyed on readyForRenewal (§8)", () => {
    const zero = { ...cert, validityPeriodHours: 0, earlyRenewalHours: 0 };
    assert.deepEqual(tlsDiff(TLS_TYPES.selfSignedCert, zero, { ...zero }), { op: "replace", changedKeys: [], replaceKeys: ["readyForRenewal"] });
    const early = { ...cert, earlyRenewalHours: 100 };
    assert.deepEqual(tlsDiff(TLS_TYPES.locallySignedCert, cert, early), {
      op: "replace",
      changedKeys: ["earlyRenewalHours"],
      replaceKeys: ["readyForRenewal"],
    });
  });

  it("dueForRenewal: now >= validityEndTime − earlyRenewalHours (§8)", () => {
    const end = "2026-03-16T18:32:32.577151145Z";
    const endMs = Date.parse("2026-03-16T18:32:32.577Z");
    assert.equal(dueForRenewal(end, 0, new Date(endMs - 1)), false);
    assert.equal(dueForRenewal(end, 0, new Date(endMs)), true);
    assert.equal(dueForRenewal(end, 24, new Date(endMs - 24 * 3600_000)), true);
    assert.equal(dueForRenewal(end, 24, new Date(endMs - 24 * 3600_000 - 1000)), false);
    assert.equal(dueForRenewal("2026-03-16T20:32:32.577+02:00", 0, new Date(endMs)), true);
  });
});

// ----- what kube-pki does not send ---------------------------------------------------------------------------

describe("tlsStandIn: anything kube-pki does not send is refused, not emulated", () => {
  const s = new TlsStandIn();
  let pem: unknown;
  before(async () => {
    pem = (await key(s, { algorithm: "ECDSA", ecdsaCurve: "P256" })).state.privateKeyPem;
  });

  it("keys: ED25519, the default curve P224, P521, a misspelt algorithm", async () => {
    await rejectsWith(key(s, { algorithm: "ED25519" }), /^TlsStandIn: algorithm ED25519 is not emulated/);
    await rejectsWith(key(s, { algorithm: "ECDSA" }), /ecdsaCurve P224 is not emulated/);
    await rejectsWith(key(s, { algorithm: "ECDSA", ecdsaCurve: "P521" }), /ecdsaCurve P521 is not emulated/);
    await rejectsWith(key(s, { algorithm: "rsa" }), /algorithm rsa is not emulated/);
    const ed = crypto.generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" });
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: ed, subject: { commonName: "x" } }), /a ed25519 key is not emulated/);
  });

  it("inputs: write-only keys, URIs, subject fields but CN and O, maxPathLength, setSubjectKeyId/setAuthorityKeyId, other uses", async () => {
    const csr = (extra: Record<string, unknown>) => create(s, TLS_TYPES.certRequest, { privateKeyPem: pem, subject: { commonName: "x" }, ...extra });
    await rejectsWith(csr({ uris: ["spiffe://x/y"] }), /CertRequest input uris is not emulated/);
    await rejectsWith(csr({ privateKeyPemWo: "k", privateKeyPemWoVersion: 1 }), /input privateKeyPemWo, privateKeyPemWoVersion is not emulated/);
    await rejectsWith(csr({ subject: { commonName: "x", emailAddress: "a@b.example" } }), /subject field emailAddress is not emulated/);
    const ssc = (extra: Record<string, unknown>) =>
      create(s, TLS_TYPES.selfSignedCert, { privateKeyPem: pem, validityPeriodHours: 1, allowedUses: CA_USES, isCaCertificate: true, subject: { commonName: "x" }, ...extra });
    for (const input of ["maxPathLength", "setSubjectKeyId", "setAuthorityKeyId"]) {
      await rejectsWith(ssc({ [input]: input === "maxPathLength" ? 1 : true }), new RegExp(`SelfSignedCert input ${input} is not emulated`));
    }
    await rejectsWith(ssc({ allowedUses: ["code_signing"] }), /allowedUses "code_signing" is not emulated/);
    // Unset (undefined or null) inputs are fine: the SDK passes what the program leaves out that way.
    assert.ok((await csr({ dnsNames: undefined, ipAddresses: null })).state.certRequestPem);
  });

  it("handles() knows exactly the four resource tokens", () => {
    for (const t of Object.values(TLS_TYPES)) assert.ok(s.handles(t));
    assert.equal(s.handles("tls:index/getPublicKey:getPublicKey"), false);
    assert.equal(s.handles("command:remote:Command"), false);
  });
});
