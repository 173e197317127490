import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { KeyAlgorithm } from "../model/config";
import { PRIVATE_KEY_SECRET_OUTPUTS, privateKeyInputs } from "../model/keyAlgorithm";
import { USES } from "../model/catalog";
import { childName } from "../model/names";

export interface CertificateAuthorityArgs {
  /** Subject CN; also the CA's one DNS SAN, as kubeadm makes it (required). */
  readonly commonName: string;
  /** Key algorithm, kubeadm naming (required). */
  readonly keyAlgorithm: KeyAlgorithm;
  /** Validity in hours (required, > 0). The CA is never renewed early: replacing it re-issues every leaf. */
  readonly validityHours: number;
}

/** Something that signs certificates: a CA's certificate and (secret) private key. */
export interface Signer {
  readonly certPem: pulumi.Output<string>;
  readonly privateKeyPem: pulumi.Output<string>;
}

/** A self-signed CA: tls.PrivateKey + tls.SelfSignedCert. `protect` given to it flows to both children. */
export class CertificateAuthority extends pulumi.ComponentResource implements Signer {
  public readonly certPem: pulumi.Output<string>;
  /** Secret. */
  public readonly privateKeyPem: pulumi.Output<string>;
  public readonly validityEndTime: pulumi.Output<string>;
  /** Decimal serial number (the provider's id). */
  public readonly serial: pulumi.Output<string>;

  constructor(name: string, args: CertificateAuthorityArgs, opts?: pulumi.ComponentResourceOptions) {
    // No inputs recorded: the spec lives in the children; recorded inputs would show the component itself as an extra
    // "update" in `pulumi preview` on every spec change.
    super("kube-pki:pki:CertificateAuthority", name, {}, opts);
    if (!args.commonName) throw new pulumi.ResourceError("commonName is required", this);
    if (!Number.isInteger(args.validityHours) || args.validityHours <= 0) {
      throw new pulumi.ResourceError(`validityHours must be a positive whole number, got ${args.validityHours}`, this);
    }
    const key = new tls.PrivateKey(childName(name, "key"), privateKeyInputs(args.keyAlgorithm), {
      parent: this,
      additionalSecretOutputs: PRIVATE_KEY_SECRET_OUTPUTS,
    });
    const cert = new tls.SelfSignedCert(
      childName(name, "cert"),
      {
        privateKeyPem: pulumi.secret(key.privateKeyPem),
        subject: { commonName: args.commonName },
        dnsNames: [args.commonName],
        isCaCertificate: true,
        allowedUses: [...USES.ca],
        validityPeriodHours: args.validityHours,
        earlyRenewalHours: 0,
      },
      { parent: this },
    );
    this.certPem = cert.certPem;
    this.privateKeyPem = pulumi.secret(key.privateKeyPem);
    this.validityEndTime = cert.validityEndTime;
    this.serial = cert.id;
    this.registerOutputs({ certPem: this.certPem, privateKeyPem: this.privateKeyPem, validityEndTime: this.validityEndTime });
  }
}
