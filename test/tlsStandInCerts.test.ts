/**
 * Tests of emulator/tlsStandIn.ts against docs/tls-provider.md ("§n"): self-signed and locally signed certificates,
 * checked on the real artefacts by openssl, never against hard-coded outputs.
 */
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import { certificateRequestPem } from "../components/pki/csr";
import { isWrappedSecret } from "../emulator/secrets";
import { TLS_TYPES, TlsStandIn, formatGoTime } from "../emulator/tlsStandIn";
import {
  tmpFile,
  openssl,
  opensslDer,
  opensslStatus,
  plain,
  certText,
  asn1parse,
  extensionValue,
  objects,
  spkiDer,
  derOfPem,
  assertGoPem,
  FIXED_NOW,
  verifyArgs,
  CA_USES,
  SERVER_USES,
  Created,
  create,
  key,
  rejectsWith,
  assertSubjectOrder,
  selfSignedCa,
} from "./support-tls";

describe("tlsStandIn: SelfSignedCert (§5, §7)", () => {
  const s = new TlsStandIn({ now: () => FIXED_NOW });
  let caKey: Created;
  let ca: Created;
  let caText: string;
  before(async () => {
    ({ caKey, ca } = await selfSignedCa(s, "P384", { commonName: "kubernetes", organization: "kube-pki" }));
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
    assert.equal(
      openssl(["x509", "-noout", "-issuer"], ca.state.certPem).replace("issuer=", ""),
      openssl(["x509", "-noout", "-subject"], ca.state.certPem).replace("subject=", ""),
    );
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
      [1, 2, 3].map(() =>
        create(s, TLS_TYPES.selfSignedCert, { privateKeyPem: caKey.state.privateKeyPem, validityPeriodHours: 1, allowedUses: [] }),
      ),
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
    assert.ok(isWrappedSecret(ca.state.privateKeyPem));
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
    assert.deepEqual(exts, [
      "X509v3 Key Usage",
      "X509v3 Extended Key Usage",
      "X509v3 Basic Constraints",
      "X509v3 Subject Alternative Name",
    ]);
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
    assert.match(
      certText(dup.state.certPem),
      /TLS Web Client Authentication, TLS Web Server Authentication, TLS Web Client Authentication\n/,
    );
    assert.doesNotMatch(certText(dup.state.certPem), /X509v3 Key Usage/);
    const none = await create(s, TLS_TYPES.selfSignedCert, {
      privateKeyPem: caKey.state.privateKeyPem,
      validityPeriodHours: 1,
      allowedUses: [],
      subject: { commonName: "x" },
    });
    const text = certText(none.state.certPem);
    assert.doesNotMatch(text, /Key Usage/);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
  });

  it("empty subject: empty DN, SAN becomes critical (§7.1, §7.6)", async () => {
    const c = await create(s, TLS_TYPES.selfSignedCert, {
      privateKeyPem: caKey.state.privateKeyPem,
      validityPeriodHours: 1,
      allowedUses: SERVER_USES,
      dnsNames: ["only-san"],
    });
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
    assertSubjectOrder(parsed.slice(parsed.indexOf("UTCTIME")), "id-ecPublicKey"); // the subject follows the validity
    assert.match(parsed, /UTF8STRING\s+:\*\.example\.com/);
    assert.match(parsed, /PRINTABLESTRING\s+:NRW/);
    const emptyO = await create(s, TLS_TYPES.selfSignedCert, {
      privateKeyPem: caKey.state.privateKeyPem,
      validityPeriodHours: 1,
      allowedUses: [],
      subject: { organization: "" },
    });
    assert.match(asn1parse(emptyO.state.certPem), /OBJECT\s+:organizationName\s*\n.*PRINTABLESTRING\s*:?\s*\n/, "an empty O still counts");
  });

  it("errors: an invalid IP address (§5)", async () => {
    const base = {
      privateKeyPem: caKey.state.privateKeyPem,
      validityPeriodHours: 1,
      allowedUses: SERVER_USES,
      subject: { commonName: "x" },
    };
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
    const c = await create(late, TLS_TYPES.selfSignedCert, {
      privateKeyPem: caKey.state.privateKeyPem,
      validityPeriodHours: 48,
      allowedUses: [],
    });
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
  let caKey: Created;
  let ca: Created;
  let caFile: string;
  let leafKey: Created;
  let leaf: Created;
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
    ({ caKey, ca } = await selfSignedCa(s, "P256", { commonName: "kubernetes" }));
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
    assert.ok(isWrappedSecret(leaf.state.caPrivateKeyPem));
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
    assert.equal(
      openssl(["x509", "-noout", "-issuer"], c.state.certPem).replace("issuer=", ""),
      openssl(["x509", "-noout", "-subject"], caCertPem).replace("subject=", ""),
    );
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
    const interCsr = await create(s, TLS_TYPES.certRequest, {
      privateKeyPem: interKey.state.privateKeyPem,
      subject: { commonName: "etcd-ca" },
      dnsNames: ["etcd-ca"],
    });
    const inter = await sign({
      certRequestPem: interCsr.state.certRequestPem,
      isCaCertificate: true,
      allowedUses: [...CA_USES, "client_auth"],
    });
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
    const endCsr = await create(s, TLS_TYPES.certRequest, {
      privateKeyPem: endKey.state.privateKeyPem,
      subject: { commonName: "etcd-peer" },
    });
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
    const verified = opensslStatus([
      ...verifyArgs(),
      "-CAfile",
      caFile,
      "-untrusted",
      tmpFile(inter.state.certPem),
      tmpFile(end.state.certPem),
    ]);
    assert.match(verified.out, /: OK/);
  });
});

// ----- tlsDiff / dueForRenewal -----------------------------------------------------------------------------
