/**
 * Tests of offline/tlsStandIn.ts against docs/tls-provider.md ("§n").
 * Every emulated fact is checked on the real artefacts, by openssl (and ssh-keygen) where possible, never against
 * hard-coded outputs. The stand-in is called directly, without the Pulumi runtime.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TLS_FUNCTIONS, TLS_TYPES, TlsStandIn, dueForRenewal, formatGoTime, hashForState, tlsDiff } from "../offline/tlsStandIn";

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

const hasSshKeygen = (() => {
  try {
    execFileSync("ssh-keygen", ["-?"], { stdio: "ignore" });
    return true;
  } catch (e: any) {
    return e.code !== "ENOENT";
  }
})();

function sshKeygen(args: string[]): string {
  return execFileSync("ssh-keygen", args, { stdio: ["pipe", "pipe", "pipe"] }).toString();
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
  return s.newResource({ type, name, inputs, custom: true });
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

  it("RSA: echoes defaults rsaBits 2048 and ecdsaCurve P224, writes PKCS#1 and PKCS#8", () => {
    assert.equal(rsa.state.algorithm, "RSA");
    assert.equal(rsa.state.rsaBits, 2048);
    assert.equal(rsa.state.ecdsaCurve, "P224");
    const pem = plain(rsa.state.privateKeyPem);
    assertGoPem(pem, "RSA PRIVATE KEY");
    assertGoPem(plain(rsa.state.privateKeyPemPkcs8), "PRIVATE KEY");
    assertGoPem(rsa.state.publicKeyPem, "PUBLIC KEY");
    assert.match(openssl(["rsa", "-noout", "-text"], pem), /Private-Key: \(2048 bit, 2 primes\)/);
    assert.match(openssl(["rsa", "-noout", "-text"], pem), /publicExponent: 65537/);
    // Both private forms are the same key, and publicKeyPem is its PKIX public key.
    assert.equal(openssl(["pkey", "-pubout"], pem), rsa.state.publicKeyPem);
    assert.equal(openssl(["pkey", "-pubout"], plain(rsa.state.privateKeyPemPkcs8)), rsa.state.publicKeyPem);
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

  it("ids of ECDSA/Ed25519 keys follow the trimmed-SHA-1 rule (some SPKIs end in whitespace)", async () => {
    const keys = await Promise.all(
      Array.from({ length: 60 }, (_, i) => key(s, i % 2 ? { algorithm: "ED25519" } : { algorithm: "ECDSA", ecdsaCurve: "P256" })),
    );
    for (const k of keys) {
      const der = crypto.createPublicKey(k.state.publicKeyPem).export({ type: "spki", format: "der" });
      assert.equal(k.id, expectedId(der));
    }
  });

  it("ECDSA P256: EC PRIVATE KEY (SEC1, named curve, with public key) and OpenSSH forms", async () => {
    const k = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const pem = plain(k.state.privateKeyPem);
    assertGoPem(pem, "EC PRIVATE KEY");
    const parsed = asn1parse(pem);
    assert.match(parsed, /OBJECT\s+:prime256v1/);
    assert.match(parsed, /cont \[ 1 \]/);
    assert.equal(k.state.rsaBits, 2048, "rsaBits default echoed on an ECDSA key");
    assert.equal(openssl(["pkey", "-pubout"], plain(k.state.privateKeyPemPkcs8)), k.state.publicKeyPem);
    assert.match(k.state.publicKeyOpenssh, /^ecdsa-sha2-nistp256 [A-Za-z0-9+/=]+\n$/);
    assertGoPem(plain(k.state.privateKeyOpenssh), "OPENSSH PRIVATE KEY");
  });

  for (const [curve, sshType, bits] of [
    ["P384", "ecdsa-sha2-nistp384", "384"],
    ["P521", "ecdsa-sha2-nistp521", "521"],
  ] as const) {
    it(`ECDSA ${curve}: curve and ssh type`, async () => {
      const k = await key(s, { algorithm: "ECDSA", ecdsaCurve: curve });
      assert.match(openssl(["ec", "-noout", "-text"], plain(k.state.privateKeyPem)), new RegExp(`Private-Key: \\(${bits} bit\\)`));
      assert.ok((k.state.publicKeyOpenssh as string).startsWith(sshType + " "));
    });
  }

  it("ECDSA default curve is P224: works, and every ssh field is empty (§3, §11.1)", async () => {
    const k = await key(s, { algorithm: "ECDSA" });
    assert.equal(k.state.ecdsaCurve, "P224");
    assert.match(openssl(["ec", "-noout", "-text"], plain(k.state.privateKeyPem)), /ASN1 OID: secp224r1/);
    assert.equal(plain(k.state.privateKeyOpenssh), "");
    assert.equal(k.state.publicKeyOpenssh, "");
    assert.equal(k.state.publicKeyFingerprintMd5, "");
    assert.equal(k.state.publicKeyFingerprintSha256, "");
  });

  it("ED25519: PRIVATE KEY (PKCS#8) for both PEM outputs, ssh-ed25519", async () => {
    const k = await key(s, { algorithm: "ED25519" });
    assertGoPem(plain(k.state.privateKeyPem), "PRIVATE KEY");
    assert.equal(plain(k.state.privateKeyPem), plain(k.state.privateKeyPemPkcs8));
    assert.match(openssl(["pkey", "-noout", "-text"], plain(k.state.privateKeyPem)), /ED25519 Private-Key/);
    assert.match(k.state.publicKeyOpenssh, /^ssh-ed25519 [A-Za-z0-9+/=]+\n$/);
  });

  describe("OpenSSH formats checked by ssh-keygen", () => {
    for (const inputs of [{ algorithm: "RSA" }, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { algorithm: "ECDSA", ecdsaCurve: "P521" }, { algorithm: "ED25519" }]) {
      it(`${JSON.stringify(inputs)}: private key readable, public key and fingerprints match`, async function () {
        if (!hasSshKeygen) this.skip();
        const k = inputs.algorithm === "RSA" ? rsa : await key(s, inputs);
        const priv = tmpFile(plain(k.state.privateKeyOpenssh));
        const derived = sshKeygen(["-y", "-f", priv]).trim().split(" ").slice(0, 2).join(" ");
        assert.equal(derived + "\n", k.state.publicKeyOpenssh, "public key derived from privateKeyOpenssh");
        assert.equal((k.state.publicKeyOpenssh as string).split(" ").length, 2, "no comment");
        const pub = tmpFile(k.state.publicKeyOpenssh);
        assert.equal(sshKeygen(["-l", "-E", "sha256", "-f", pub]).split(" ")[1], k.state.publicKeyFingerprintSha256);
        assert.equal(sshKeygen(["-l", "-E", "md5", "-f", pub]).split(" ")[1], "MD5:" + k.state.publicKeyFingerprintMd5);
        assert.match(k.state.publicKeyFingerprintMd5, /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
      });
    }
  });

  it("secrets: the three private outputs are secret, public ones plain (§9)", async () => {
    for (const field of ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"]) assert.ok(isSecret(rsa.state[field]), field);
    for (const field of ["publicKeyPem", "publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256"]) {
      assert.equal(typeof rsa.state[field], "string", field);
    }
    const unmarked = await key(new TlsStandIn({ markSecretOutputs: false }), { algorithm: "ED25519" });
    assert.equal(typeof unmarked.state.privateKeyPem, "string");
  });

  it("the secret envelope is the one Pulumi's RPC layer recognizes", () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const runtime = require("@pulumi/pulumi/runtime/rpc");
    assert.equal(runtime.specialSigKey, SECRET_KEY);
    assert.equal(runtime.specialSecretSig, SECRET_SIG);
    assert.ok(runtime.isRpcSecret(rsa.state.privateKeyPem));
  });

  it("rejects unknown algorithm / curve strings and RSA below 1024 bits (§3, §12.6)", async () => {
    await rejectsWith(key(s, { algorithm: "rsa" }), /Invalid Attribute Value Match: Attribute algorithm value must be one of: \["RSA" "ECDSA" "ED25519"\], got: "rsa"/);
    await rejectsWith(key(s, { algorithm: "ECDSA", ecdsaCurve: "P-256" }), /ecdsa_curve value must be one of: \["P224" "P256" "P384" "P521"\], got: "P-256"/);
    await rejectsWith(key(s, { algorithm: "RSA", rsaBits: 512 }), /crypto\/rsa: 512-bit keys are insecure/);
  });
});

// ----- CertRequest -----------------------------------------------------------------------------------------

const FULL_SUBJECT = {
  commonName: "kube-apiserver",
  organization: "Acme, Inc.",
  organizationalUnit: "Platform",
  streetAddresses: ["Zeppelinstrasse 1000", "Am Markt 1"],
  locality: "Köln",
  province: "NRW",
  country: "DE",
  postalCode: "50667",
  serialNumber: "SN-1",
  emailAddress: "pki@example.com",
};
/** §7.1 DER order C, ST, L, STREET, postalCode, O, OU, CN, SERIALNUMBER, emailAddress. */
const SUBJECT_OBJECT_ORDER = [
  "countryName",
  "stateOrProvinceName",
  "localityName",
  "streetAddress",
  "streetAddress",
  "postalCode",
  "organizationName",
  "organizationalUnitName",
  "commonName",
  "serialNumber",
  "emailAddress",
];

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
      subject: FULL_SUBJECT,
      dnsNames: ["kubernetes", "kubernetes.default"],
      ipAddresses: ["10.96.0.1", "::ffff:1.2.3.4", "fd00::1"],
      uris: ["spiffe://cluster.local/ns/default/sa/x"],
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

  it("subject in Go pkix.Name order, multi-valued STREET sorted, Printable vs UTF8 vs IA5 strings (§7.1)", () => {
    const parsed = asn1parse(csr.state.certRequestPem);
    assert.deepEqual(subjectObjects(parsed, "id-ecPublicKey"), SUBJECT_OBJECT_ORDER);
    // Both streets share one RDN SET, in DER order (shorter encoding first).
    assert.match(parsed, /SET\s*\n.*SEQUENCE\s*\n.*OBJECT\s+:streetAddress\s*\n.*PRINTABLESTRING\s+:Am Markt 1\s*\n.*SEQUENCE\s*\n.*OBJECT\s+:streetAddress\s*\n.*PRINTABLESTRING\s+:Zeppelinstrasse 1000/);
    assert.match(parsed, /PRINTABLESTRING\s+:Acme, Inc\./);
    assert.match(parsed, /UTF8STRING\s+:K/, "non-printable locality becomes UTF8String");
    assert.match(parsed, /IA5STRING\s+:pki@example.com/);
  });

  it("SAN extension request: DNS, IP (IPv4 and IPv4-mapped as 4 bytes), URI, in that order; no KU/BC", () => {
    const text = openssl(["req", "-noout", "-text"], csr.state.certRequestPem);
    assert.match(
      text,
      /DNS:kubernetes, DNS:kubernetes.default, IP Address:10.96.0.1, IP Address:1.2.3.4, IP Address:FD00:0:0:0:0:0:0:1, URI:spiffe:\/\/cluster.local\/ns\/default\/sa\/x/,
    );
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

  it("signature algorithm follows the key: RSA sha256WithRSAEncryption, Ed25519 (§7.5)", async () => {
    for (const [inputs, alg] of [
      [{ algorithm: "RSA" }, "sha256WithRSAEncryption"],
      [{ algorithm: "ED25519" }, "ED25519"],
      [{ algorithm: "ECDSA", ecdsaCurve: "P521" }, "ecdsa-with-SHA512"],
    ] as const) {
      const k = await key(s, inputs);
      const r = await create(s, TLS_TYPES.certRequest, { privateKeyPem: k.state.privateKeyPem, dnsNames: ["a"] });
      assert.match(openssl(["req", "-noout", "-text"], r.state.certRequestPem), new RegExp(`Signature Algorithm: ${alg}`));
      assert.match(opensslStatus(["req", "-verify", "-noout"], r.state.certRequestPem).out, /verify OK/i);
      assert.equal(r.state.keyAlgorithm, inputs.algorithm);
    }
  });

  it("keeps the private key secret and certRequestPem plain (§9); write-only key never stored", async () => {
    assert.ok(isSecret(csr.state.privateKeyPem));
    assert.equal(typeof csr.state.certRequestPem, "string");
    const wo = await create(s, TLS_TYPES.certRequest, {
      privateKeyPemWo: plain(k384.state.privateKeyPem),
      privateKeyPemWoVersion: 1,
      subject: { commonName: "wo" },
    });
    assert.ok(!("privateKeyPemWo" in wo.state));
    assert.equal(wo.state.privateKeyPemWoVersion, 1);
    assert.match(opensslStatus(["req", "-verify", "-noout"], wo.state.certRequestPem).out, /verify OK/i);
  });

  it("reproduces the provider's input errors (§4, §12.6)", async () => {
    const pk = k384.state.privateKeyPem;
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: pk, ipAddresses: ["10.0.0.256"] }), /^Invalid IP address: Failed to parse "10.0.0.256"/);
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: pk, ipAddresses: ["010.0.0.1"] }), /Invalid IP address/);
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: pk, ipAddresses: ["fe80::1%eth0"] }), /Invalid IP address/);
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: pk, ipAddresses: [""] }), /ip_addresses\[0\] string length must be at least 1/);
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: pk, uris: ["%zz"] }), /^Invalid URI: Failed to parse "%zz"/);
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: pk, dnsNames: ["bücher.example"] }), /cannot be encoded as an IA5String/);
    await rejectsWith(create(s, TLS_TYPES.certRequest, { subject: { commonName: "x" } }), /Invalid Attribute Combination: No attribute specified/);
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPemWo: plain(pk) }), /must be configured together/);
  });

  it("rejects private-key PEMs of the wrong type (§2)", async () => {
    const pub = k384.state.publicKeyPem;
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: pub }), /Failed to parse private key PEM: unable to determine parser for PEM preamble: PUBLIC KEY/);
    const ed = await key(s, { algorithm: "ED25519" });
    await rejectsWith(
      create(s, TLS_TYPES.certRequest, { privateKeyPem: plain(ed.state.privateKeyOpenssh) }),
      /unsupported PEM preamble\/type: OPENSSH PRIVATE KEY/,
    );
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: "not a pem" }), /failed to decode PEM block: decoded bytes 0, undecoded 9/);
    // An EC key inside an "RSA PRIVATE KEY" block is not PKCS#1.
    const mislabeled = plain(k384.state.privateKeyPem).replace(/EC PRIVATE KEY/g, "RSA PRIVATE KEY");
    await rejectsWith(create(s, TLS_TYPES.certRequest, { privateKeyPem: mislabeled }), /failed to parse private key given PEM preamble 'RSA PRIVATE KEY'/);
  });

  it("accepts PKCS#8 and externally made keys (openssl genpkey)", async () => {
    const ext = openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    const r = await create(s, TLS_TYPES.certRequest, { privateKeyPem: ext, subject: { commonName: "ext" } });
    assert.equal(r.state.keyAlgorithm, "ECDSA");
    assert.match(opensslStatus(["req", "-verify", "-noout"], r.state.certRequestPem).out, /verify OK/i);
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

  it("echoes defaults; maxPathLength absent when unset; readyForRenewal false (§5, §12.2)", () => {
    assert.equal(ca.state.earlyRenewalHours, 0);
    assert.equal(ca.state.setSubjectKeyId, false);
    assert.equal(ca.state.setAuthorityKeyId, false);
    assert.equal(ca.state.isCaCertificate, true);
    assert.equal(ca.state.readyForRenewal, false);
    assert.ok(!("maxPathLength" in ca.state));
    assert.ok(isSecret(ca.state.privateKeyPem));
    assert.equal(typeof ca.state.certPem, "string");
  });

  it("extension order KU, EKU, BC, SKI, AKI, SAN; leaf BC is critical CA:FALSE; AKI = own SKI (§7.2.7, §7.6)", async () => {
    const leaf = await create(s, TLS_TYPES.selfSignedCert, {
      privateKeyPem: caKey.state.privateKeyPem,
      validityPeriodHours: 24,
      allowedUses: ["digital_signature", "server_auth", "client_auth"],
      setSubjectKeyId: true,
      setAuthorityKeyId: true,
      subject: { commonName: "leaf" },
      dnsNames: ["leaf.example"],
    });
    const exts = objects(asn1parse(leaf.state.certPem)).filter((o) => o.startsWith("X509v3"));
    assert.deepEqual(exts, [
      "X509v3 Key Usage",
      "X509v3 Extended Key Usage",
      "X509v3 Basic Constraints",
      "X509v3 Subject Key Identifier",
      "X509v3 Authority Key Identifier",
      "X509v3 Subject Alternative Name",
    ]);
    const text = certText(leaf.state.certPem);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    assert.match(text, /X509v3 Subject Alternative Name: \n/, "SAN not critical when the subject is set");
    assert.match(text, /X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
    const ski = extensionValue(text, "X509v3 Subject Key Identifier");
    assert.equal(extensionValue(text, "X509v3 Authority Key Identifier").replace(/^keyid:/, ""), ski);
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

  it("pathlen only for a CA with maxPathLength >= 1; 0 and -1 emit none; value echoed (§7.6, §11.4)", async () => {
    for (const [maxPathLength, expected] of [
      [2, "CA:TRUE, pathlen:2"],
      [0, "CA:TRUE"],
      [-1, "CA:TRUE"],
    ] as const) {
      const c = await create(s, TLS_TYPES.selfSignedCert, {
        privateKeyPem: caKey.state.privateKeyPem,
        isCaCertificate: true,
        maxPathLength,
        validityPeriodHours: 1,
        allowedUses: CA_USES,
        subject: { commonName: "ca" },
      });
      assert.match(certText(c.state.certPem), new RegExp(`X509v3 Basic Constraints: critical\\n\\s+${expected}\\n`));
      assert.equal(c.state.maxPathLength, maxPathLength);
    }
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
      subject: { ...FULL_SUBJECT, commonName: "*.example.com" },
    });
    const parsed = asn1parse(c.state.certPem);
    const subject = subjectObjects(parsed.slice(parsed.indexOf("UTCTIME")), "id-ecPublicKey");
    assert.deepEqual(subject, SUBJECT_OBJECT_ORDER);
    assert.match(parsed, /UTF8STRING\s+:\*\.example\.com/);
    assert.match(parsed, /PRINTABLESTRING\s+:NRW/);
  });

  it("CA errors: no subject, a subject of only an empty CN; an empty O is a subject (§7.2.4, §12.6)", async () => {
    const base = { privateKeyPem: caKey.state.privateKeyPem, isCaCertificate: true, validityPeriodHours: 1, allowedUses: CA_USES };
    await rejectsWith(create(s, TLS_TYPES.selfSignedCert, base), /^Invalid Certificate Subject: Must contain at least one Distinguished Name/);
    await rejectsWith(create(s, TLS_TYPES.selfSignedCert, { ...base, subject: { commonName: "" } }), /Invalid Certificate Subject/);
    const emptyO = await create(s, TLS_TYPES.selfSignedCert, { ...base, subject: { organization: "" } });
    assert.match(asn1parse(emptyO.state.certPem), /OBJECT\s+:organizationName\s*\n.*PRINTABLESTRING\s*:?\s*\n/);
  });

  it("other errors: non-CA pathlen, AKI without SKI, unknown allowedUses, negative hours (§7, §12.6)", async () => {
    const base = { privateKeyPem: caKey.state.privateKeyPem, validityPeriodHours: 1, allowedUses: SERVER_USES, subject: { commonName: "x" } };
    await rejectsWith(create(s, TLS_TYPES.selfSignedCert, { ...base, maxPathLength: 1 }), /^Failed to create certificate: x509: only CAs are allowed to specify MaxPathLen/);
    await rejectsWith(create(s, TLS_TYPES.selfSignedCert, { ...base, setAuthorityKeyId: true }), /Invalid Certificate Authority: Could not determine Authority Key Identifier/);
    await rejectsWith(
      create(s, TLS_TYPES.selfSignedCert, { ...base, allowedUses: ["certSigning"] }),
      /Attribute allowed_uses\[0\] value must be one of: \["any_extended" "cert_signing" "client_auth" .*\], got: "certSigning"/,
    );
    await rejectsWith(create(s, TLS_TYPES.selfSignedCert, { ...base, validityPeriodHours: -1 }), /validity_period_hours value must be at least 0, got: -1/);
    await rejectsWith(create(s, TLS_TYPES.selfSignedCert, { ...base, maxPathLength: -2 }), /max_path_length value must be at least -1/);
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

  it("signature algorithm follows the signer: RSA (NULL params), Ed25519, P-521, P-224 (§7.5)", async () => {
    const s = new TlsStandIn(); // real clock: openssl verify checks validity
    for (const [inputs, alg] of [
      [{ algorithm: "RSA" }, "sha256WithRSAEncryption"],
      [{ algorithm: "ED25519" }, "ED25519"],
      [{ algorithm: "ECDSA", ecdsaCurve: "P521" }, "ecdsa-with-SHA512"],
      [{ algorithm: "ECDSA", ecdsaCurve: "P224" }, "ecdsa-with-SHA256"],
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
      if (alg.startsWith("sha256WithRSA")) assert.match(parsed, /OBJECT\s+:sha256WithRSAEncryption\s*\n.*NULL/);
      if (alg === "ED25519") {
        // §7.4: Ed25519 SKI = SHA-1 of the DER OCTET STRING 04 20‖key (not of the bare key).
        const raw = spkiDer(k.state.publicKeyPem).subarray(-32);
        const expected = crypto.createHash("sha1").update(Buffer.concat([Buffer.from([0x04, 0x20]), raw])).digest("hex");
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
      subject: { commonName: "kube-apiserver", organization: "kube-pki", emailAddress: "dropped@example.com" },
      dnsNames: ["kubernetes.default.svc"],
      ipAddresses: ["10.96.0.1"],
      uris: ["spiffe://x/y"],
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

  it("copies only subject + DNS/IP/URI from the CSR; emailAddress is dropped (§6.3, §11.9)", () => {
    const subject = openssl(["x509", "-noout", "-subject", "-nameopt", "RFC2253"], leaf.state.certPem).trim();
    assert.equal(subject, "subject=CN=kube-apiserver,O=kube-pki");
    assert.match(leafText, /DNS:kubernetes.default.svc, IP Address:10.96.0.1, URI:spiffe:\/\/x\/y\n/);
  });

  it("state: defaults, secret CA key, plain PEMs (§6, §9)", () => {
    assert.ok(isSecret(leaf.state.caPrivateKeyPem));
    assert.equal(typeof leaf.state.caCertPem, "string");
    assert.equal(typeof leaf.state.certPem, "string");
    assert.equal(leaf.state.isCaCertificate, false);
    assert.equal(leaf.state.setSubjectKeyId, false);
    assert.equal(leaf.state.earlyRenewalHours, 0);
    assert.equal(leaf.state.readyForRenewal, false);
    assert.ok(!("maxPathLength" in leaf.state));
    assert.ok(!("setAuthorityKeyId" in leaf.state));
  });

  it("setSubjectKeyId: SKI = SHA-1 of the PKCS#1 RSAPublicKey (§7.4)", async () => {
    const csr = await create(s, TLS_TYPES.certRequest, { privateKeyPem: leafKey.state.privateKeyPem, subject: { commonName: "ski" } });
    const c = await sign({ certRequestPem: csr.state.certRequestPem, setSubjectKeyId: true });
    const pkcs1 = opensslDer(["rsa", "-pubin", "-RSAPublicKey_out", "-outform", "DER"], leafKey.state.publicKeyPem);
    const expected = crypto.createHash("sha1").update(pkcs1).digest("hex");
    assert.equal(extensionValue(certText(c.state.certPem), "X509v3 Subject Key Identifier").replace(/:/g, "").toLowerCase(), expected);
  });

  it("an openssl-made CSR: its extensions and email SAN are dropped, O=g1+O=g2 survives as one RDN (§6.3, §11.3)", async () => {
    const keyFile = tmpFile(plain(leafKey.state.privateKeyPem));
    const csrPem = openssl([
      "req", "-new", "-key", keyFile,
      "-subj", "/O=system:masters/O=g2/CN=admin/emailAddress=a@b.example",
      "-addext", "keyUsage=critical,keyCertSign",
      "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "subjectAltName=DNS:x.example,email:a@b.example,IP:10.1.2.3",
    ]);
    const c = await sign({ certRequestPem: csrPem, allowedUses: ["digital_signature", "client_auth"] });
    const text = certText(c.state.certPem);
    assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature\n/);
    assert.match(text, /CA:FALSE/);
    assert.match(text, /X509v3 Subject Alternative Name: \n\s+DNS:x.example, IP Address:10.1.2.3\n/);
    // One RDN SET holding both O values, DER-sorted (shorter first), re-encoded as PrintableString like Go does.
    assert.match(
      asn1parse(c.state.certPem),
      /SET\s*\n.*SEQUENCE\s*\n.*OBJECT\s+:organizationName\s*\n.*PRINTABLESTRING\s+:g2\s*\n.*SEQUENCE\s*\n.*OBJECT\s+:organizationName\s*\n.*PRINTABLESTRING\s+:system:masters\s*\n.*SET/,
    );
    const r = await s.call({ token: TLS_FUNCTIONS.getCertificate, inputs: { content: c.state.certPem } });
    assert.equal((r.certificates as any)[0].subject, "CN=admin,O=g2+O=system:masters", "Go pkix.Name.String()");
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

  it("errors: CA key/cert mismatch, PEM types, CA without subject, non-CA pathlen (§6, §12.6)", async () => {
    const csr = leaf.state.certRequestPem as string; // echoed input of the LocallySignedCert
    const other = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    await rejectsWith(
      sign({ certRequestPem: csr, caPrivateKeyPem: other.state.privateKeyPem }),
      /^Failed to create certificate: x509: provided PrivateKey doesn't match parent's PublicKey$/,
    );
    await rejectsWith(
      sign({ certRequestPem: ca.state.certPem }),
      /^Failed to parse certificate request PEM: invalid PEM type - expected "CERTIFICATE REQUEST", got "CERTIFICATE"$/,
    );
    await rejectsWith(sign({ certRequestPem: csr, caCertPem: csr }), /Failed to parse CA certificate PEM: invalid PEM type - expected "CERTIFICATE", got "CERTIFICATE REQUEST"/);
    await rejectsWith(sign({ certRequestPem: csr, caPrivateKeyPem: ca.state.certPem }), /Failed to parse CA private key PEM/);
    const noSubject = await create(s, TLS_TYPES.certRequest, { privateKeyPem: leafKey.state.privateKeyPem, dnsNames: ["a"] });
    await rejectsWith(sign({ certRequestPem: noSubject.state.certRequestPem, isCaCertificate: true }), /^Invalid Certificate Subject/);
    await rejectsWith(sign({ certRequestPem: noSubject.state.certRequestPem, maxPathLength: 1 }), /only CAs are allowed to specify MaxPathLen/);
    await rejectsWith(sign({ certRequestPem: csr, allowedUses: ["serverAuth"] }), /allowed_uses\[0\] value must be one of/);
  });

  it("a non-CA certificate as CA only warns (§6.2)", async () => {
    const csr = await create(s, TLS_TYPES.certRequest, { privateKeyPem: leafKey.state.privateKeyPem, subject: { commonName: "under-leaf" } });
    const before = s.warnings.length;
    const c = await create(s, TLS_TYPES.locallySignedCert, {
      certRequestPem: csr.state.certRequestPem,
      caCertPem: leaf.state.certPem,
      caPrivateKeyPem: leafKey.state.privateKeyPem,
      validityPeriodHours: 1,
      allowedUses: [],
    });
    assert.equal(s.warnings.length, before + 1);
    assert.equal(s.warnings.at(-1)?.summary, "Potentially Invalid Certificate Authority");
    assert.equal(c.state.caKeyAlgorithm, "RSA");
    assert.doesNotMatch(certText(c.state.certPem), /Authority Key Identifier/, "the leaf used as CA has no SKI");
    assert.match(certText(c.state.certPem), /Signature Algorithm: sha256WithRSAEncryption/);
  });

  it("intermediate CA: pathlen, SKI, AKI = root SKI; chain verifies (§6, §7.6)", async () => {
    const interKey = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P384" });
    const interCsr = await create(s, TLS_TYPES.certRequest, { privateKeyPem: interKey.state.privateKeyPem, subject: { commonName: "etcd-ca" } });
    const inter = await sign({ certRequestPem: interCsr.state.certRequestPem, isCaCertificate: true, maxPathLength: 1, allowedUses: CA_USES });
    const text = certText(inter.state.certPem);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:1\n/);
    assert.match(text, /X509v3 Subject Key Identifier/);
    assert.equal(inter.state.maxPathLength, 1);
    const endKey = await key(s, { algorithm: "ED25519" });
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
    assert.equal(tlsDiff(TLS_TYPES.certRequest, { ...old, privateKeyPemWoVersion: 1 }, { ...old, privateKeyPemWoVersion: 2 }).op, "replace");
  });

  it("certificates: earlyRenewalHours alone ⇒ update; other inputs ⇒ replace; identical ⇒ same", () => {
    for (const type of [TLS_TYPES.selfSignedCert, TLS_TYPES.locallySignedCert]) {
      assert.deepEqual(tlsDiff(type, cert, { ...cert }), { op: "same", changedKeys: [], replaceKeys: [] });
      assert.deepEqual(tlsDiff(type, cert, { ...cert, earlyRenewalHours: 20 }), { op: "update", changedKeys: ["earlyRenewalHours"], replaceKeys: [] });
      assert.deepEqual(tlsDiff(type, cert, { ...cert, validityPeriodHours: 200 }).replaceKeys, ["validityPeriodHours"]);
      assert.deepEqual(tlsDiff(type, cert, { ...cert, allowedUses: CA_USES }).replaceKeys, ["allowedUses"]);
      assert.deepEqual(tlsDiff(type, cert, { ...cert, isCaCertificate: false }).op, "same", "false is the default");
      assert.deepEqual(tlsDiff(type, cert, { ...cert, maxPathLength: -1 }).replaceKeys, ["maxPathLength"], "unset (null) ≠ -1 since 4.2.1");
    }
    const lsc = { ...cert, certRequestPem: PEM_A, caCertPem: PEM_A, caPrivateKeyPem: PEM_A };
    assert.deepEqual(tlsDiff(TLS_TYPES.locallySignedCert, lsc, { ...lsc, caCertPem: PEM_B }).replaceKeys, ["caCertPem"]);
    assert.equal(tlsDiff(TLS_TYPES.locallySignedCert, { ...lsc, caCertPem: PEM_A + "\n" }, { ...lsc, caCertPem: PEM_B }).op, "update");
    // A CA re-issued in the same preview: the new caCertPem is unknown ⇒ differs ⇒ replace (§8 cascades).
    const cascade = tlsDiff(TLS_TYPES.locallySignedCert, lsc, { ...lsc, caCertPem: { __pulumiUnknown: true } });
    assert.deepEqual(cascade.replaceKeys, ["caCertPem"]);
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

// ----- invokes, preview ------------------------------------------------------------------------------------

describe("tlsStandIn: invokes and preview (§10, §1)", () => {
  const s = new TlsStandIn({ markSecretOutputs: false });

  it("getPublicKey from privateKeyPem and from privateKeyOpenssh matches the PrivateKey outputs", async () => {
    for (const inputs of [{ algorithm: "ECDSA", ecdsaCurve: "P256" }, { algorithm: "RSA" }, { algorithm: "ED25519" }, { algorithm: "ECDSA", ecdsaCurve: "P224" }]) {
      const k = await key(s, inputs);
      const sources: Record<string, unknown>[] = [{ privateKeyPem: k.state.privateKeyPem }];
      if (k.state.privateKeyOpenssh) sources.push({ privateKeyOpenssh: k.state.privateKeyOpenssh });
      for (const src of sources) {
        const r = await s.call({ token: TLS_FUNCTIONS.getPublicKey, inputs: src });
        assert.equal(r.algorithm, inputs.algorithm);
        assert.equal(r.id, k.id);
        for (const f of ["publicKeyPem", "publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256"]) assert.equal(r[f], k.state[f], f);
      }
    }
  });

  it("getCertificate(content) reads back what openssl sees", async () => {
    const k = await key(s, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const c = await create(s, TLS_TYPES.selfSignedCert, {
      privateKeyPem: k.state.privateKeyPem,
      isCaCertificate: true,
      validityPeriodHours: 48,
      allowedUses: CA_USES,
      subject: { commonName: "kubernetes", organization: "a+b" },
    });
    const r = await s.call({ token: TLS_FUNCTIONS.getCertificate, inputs: { content: c.state.certPem } });
    const info = (r.certificates as Record<string, unknown>[])[0] as Record<string, unknown>;
    assert.equal(info.serialNumber, c.id);
    assert.equal(info.isCa, true);
    assert.equal(info.maxPathLength, -1);
    assert.equal(info.version, 3);
    assert.equal(info.subject, "CN=kubernetes,O=a\\+b");
    assert.equal(info.issuer, info.subject);
    assert.equal(info.signatureAlgorithm, "ECDSA-SHA256");
    assert.equal(info.publicKeyAlgorithm, "ECDSA");
    const fp = openssl(["x509", "-noout", "-fingerprint", "-sha1"], c.state.certPem).trim().split("=")[1] as string;
    assert.equal(info.sha1Fingerprint, fp.replace(/:/g, "").toLowerCase());
    const notAfter = openssl(["x509", "-noout", "-enddate"], c.state.certPem).trim().replace("notAfter=", "");
    assert.equal(Date.parse(info.notAfter as string), Date.parse(notAfter));
    assert.match(info.notAfter as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(info.certPem, c.state.certPem);
  });

  it("preview: inputs validated and echoed with defaults, computed outputs left unknown", async () => {
    const p = new TlsStandIn({ preview: true });
    const k = await key(p, { algorithm: "RSA" });
    assert.equal(k.id, "");
    assert.equal(k.state.rsaBits, 2048);
    assert.ok(!("privateKeyPem" in k.state));
    await rejectsWith(key(p, { algorithm: "DSA" }), /must be one of/);
    const unknown = { __pulumiUnknown: true };
    const c = await create(s, TLS_TYPES.selfSignedCert, { privateKeyPem: unknown, validityPeriodHours: 0, allowedUses: [] });
    assert.equal(c.id, "");
    assert.equal(c.state.readyForRenewal, true);
    assert.ok(!("certPem" in c.state));
  });

  it("handles() knows exactly the four resource tokens", () => {
    for (const t of Object.values(TLS_TYPES)) assert.ok(s.handles(t));
    assert.equal(s.handles("tls:index/getPublicKey:getPublicKey"), false);
    assert.equal(s.handles("command:remote:Command"), false);
  });
});
