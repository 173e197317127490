/**
 * Tests of emulator/tlsStandIn.ts against docs/tls-provider.md ("§n"): keys, CSRs, the replace rules, and what is
 * refused. Certificates are in tlsStandInCerts.test.ts. Every emulated fact is checked on the real artefacts, by
 * openssl where possible, never against hard-coded outputs. The stand-in is called directly, without the Pulumi
 * runtime. It emulates what kube-pki sends; the last block checks that anything else is refused.
 */
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import { isWrappedSecret } from "../emulator/secrets";
import { TLS_TYPES, TlsStandIn, dueForRenewal, hashForState, tlsDiff } from "../emulator/tlsStandIn";
import {
  openssl,
  opensslStatus,
  plain,
  asn1parse,
  spkiDer,
  expectedId,
  derOfPem,
  assertGoPem,
  CA_USES,
  SERVER_USES,
  Created,
  create,
  key,
  rejectsWith,
  assertSubjectOrder,
} from "./support-tls";

describe("tlsStandIn: PrivateKey (§3)", () => {
  const s = new TlsStandIn();
  let rsa: Created;
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
    assert.ok(isWrappedSecret(rsa.state.privateKeyPem));
    assert.equal(typeof rsa.state.publicKeyPem, "string");
    const unmarked = await key(new TlsStandIn({ markSecretOutputs: false }), { algorithm: "ECDSA", ecdsaCurve: "P256" });
    assert.equal(typeof unmarked.state.privateKeyPem, "string");
  });
});

// ----- CertRequest -----------------------------------------------------------------------------------------

describe("tlsStandIn: CertRequest (§4)", () => {
  const s = new TlsStandIn();
  let k384: Created;
  let csr: Created;
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
    assertSubjectOrder(parsed, "id-ecPublicKey");
    assert.match(parsed, /PRINTABLESTRING\s+:Acme, Inc\./);
    const utf8 = await create(s, TLS_TYPES.certRequest, {
      privateKeyPem: k384.state.privateKeyPem,
      subject: { commonName: "x", organization: "Köln" },
    });
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
    assert.ok(isWrappedSecret(csr.state.privateKeyPem));
    assert.equal(typeof csr.state.certRequestPem, "string");
  });

  it("errors: an invalid IP address (Go net.ParseIP), a PEM that is no private key (§4, §2)", async () => {
    const pk = k384.state.privateKeyPem;
    await rejectsWith(
      create(s, TLS_TYPES.certRequest, { privateKeyPem: pk, ipAddresses: ["10.0.0.256"] }),
      /^Invalid IP address: Failed to parse "10.0.0.256"/,
    );
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

describe("tlsStandIn: tlsDiff and dueForRenewal (§1, §8, §12.3)", () => {
  const PEM_A = "-----BEGIN CERTIFICATE-----\nQUFB\n-----END CERTIFICATE-----\n";
  const PEM_B = "-----BEGIN CERTIFICATE-----\nQkJC\n-----END CERTIFICATE-----\n";
  const cert = {
    privateKeyPem: PEM_A,
    validityPeriodHours: 100,
    earlyRenewalHours: 10,
    allowedUses: SERVER_USES,
    subject: { commonName: "x" },
  };

  it("PrivateKey: identical or default-equivalent ⇒ same; any change ⇒ replace", () => {
    assert.deepEqual(tlsDiff(TLS_TYPES.privateKey, { algorithm: "RSA" }, { algorithm: "RSA", rsaBits: 2048 }), {
      op: "same",
      changedKeys: [],
      replaceKeys: [],
    });
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
      assert.deepEqual(tlsDiff(type, cert, { ...cert, earlyRenewalHours: 20 }), {
        op: "update",
        changedKeys: ["earlyRenewalHours"],
        replaceKeys: [],
      });
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
    assert.deepEqual(tlsDiff(TLS_TYPES.selfSignedCert, zero, { ...zero }), {
      op: "replace",
      changedKeys: [],
      replaceKeys: ["readyForRenewal"],
    });
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
    await rejectsWith(
      create(s, TLS_TYPES.certRequest, { privateKeyPem: ed, subject: { commonName: "x" } }),
      /a ed25519 key is not emulated/,
    );
  });

  it("inputs: write-only keys, URIs, subject fields but CN and O, maxPathLength, setSubjectKeyId/setAuthorityKeyId, other uses", async () => {
    const csr = (extra: Record<string, unknown>) =>
      create(s, TLS_TYPES.certRequest, { privateKeyPem: pem, subject: { commonName: "x" }, ...extra });
    await rejectsWith(csr({ uris: ["spiffe://x/y"] }), /CertRequest input uris is not emulated/);
    await rejectsWith(
      csr({ privateKeyPemWo: "k", privateKeyPemWoVersion: 1 }),
      /input privateKeyPemWo, privateKeyPemWoVersion is not emulated/,
    );
    await rejectsWith(csr({ subject: { commonName: "x", emailAddress: "a@b.example" } }), /subject field emailAddress is not emulated/);
    const ssc = (extra: Record<string, unknown>) =>
      create(s, TLS_TYPES.selfSignedCert, {
        privateKeyPem: pem,
        validityPeriodHours: 1,
        allowedUses: CA_USES,
        isCaCertificate: true,
        subject: { commonName: "x" },
        ...extra,
      });
    for (const input of ["maxPathLength", "setSubjectKeyId", "setAuthorityKeyId"]) {
      await rejectsWith(
        ssc({ [input]: input === "maxPathLength" ? 1 : true }),
        new RegExp(`SelfSignedCert input ${input} is not emulated`),
      );
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
