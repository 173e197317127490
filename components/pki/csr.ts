// A PKCS#10 certificate request whose subject carries several O values (Kubernetes groups), which tls.CertRequest
// cannot express (one `organization` string). Built from ASN.1 structures and signed with the subject's own key, as
// Go's x509.CreateCertificateRequest would: the subject in Go's attribute order (O before CN, all O values in one
// multi-valued RDN), SHA-256 with RSA or ECDSA by curve. Pure code; no Pulumi.
import { createPrivateKey, createPublicKey, sign } from "node:crypto";
import { CertificationRequest, CertificationRequestInfo } from "@peculiar/asn1-csr";
import { AsnConvert } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
} from "@peculiar/asn1-x509";

const OID = { organization: "2.5.4.10", commonName: "2.5.4.3" };

/** Go's DirectoryString choice: PrintableString when every character allows it, else UTF8String. */
function attribute(type: string, value: string): AttributeTypeAndValue {
  const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value);
  return new AttributeTypeAndValue({ type, value: new AttributeValue(printable ? { printableString: value } : { utf8String: value }) });
}

/** A multi-valued RDN is a DER SET OF: its members sorted by their encoding. */
function rdn(values: AttributeTypeAndValue[]): RelativeDistinguishedName {
  const der = (v: AttributeTypeAndValue) => Buffer.from(AsnConvert.serialize(v));
  return new RelativeDistinguishedName([...values].sort((a, b) => Buffer.compare(der(a), der(b))));
}

/** The signature algorithm of a key: RSA → sha256WithRSAEncryption, ECDSA P-256/P-384 → ecdsa-with-SHA256/384. */
function signatureOf(keyPem: string): { algorithm: AlgorithmIdentifier; hash: string } {
  const key = createPrivateKey(keyPem);
  if (key.asymmetricKeyType === "rsa")
    return { algorithm: new AlgorithmIdentifier({ algorithm: "1.2.840.113549.1.1.11", parameters: null }), hash: "sha256" };
  if (key.asymmetricKeyType !== "ec") throw new Error(`certificate request: unsupported key type ${key.asymmetricKeyType}`);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === "secp384r1") return { algorithm: new AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.3.3" }), hash: "sha384" };
  if (curve === "prime256v1") return { algorithm: new AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.3.2" }), hash: "sha256" };
  throw new Error(`certificate request: unsupported curve ${curve}`);
}

/** PEM `CERTIFICATE REQUEST` for CN=`commonName`, O=each of `organizations`, signed with `privateKeyPem`. */
export function certificateRequestPem(privateKeyPem: string, commonName: string, organizations: readonly string[]): string {
  const spki = createPublicKey(privateKeyPem).export({ type: "spki", format: "der" });
  const subject = new Name([
    ...(organizations.length ? [rdn(organizations.map((o) => attribute(OID.organization, o)))] : []),
    rdn([attribute(OID.commonName, commonName)]),
  ]);
  const info = new CertificationRequestInfo({ subject, subjectPKInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo) });
  const { algorithm, hash } = signatureOf(privateKeyPem);
  const signature = sign(hash, Buffer.from(AsnConvert.serialize(info)), privateKeyPem);
  const der = Buffer.from(
    AsnConvert.serialize(
      new CertificationRequest({
        certificationRequestInfo: info,
        signatureAlgorithm: algorithm,
        signature: signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength) as ArrayBuffer,
      }),
    ),
  );
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n")}\n-----END CERTIFICATE REQUEST-----\n`;
}
