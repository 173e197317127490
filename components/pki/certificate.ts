import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { KeyAlgorithm } from "../model/config";
import { PRIVATE_KEY_SECRET_OUTPUTS, privateKeyInputs } from "../model/keyAlgorithm";
import { Signer } from "./certificateAuthority";
import { GroupsCertRequest, severalGroups } from "./groupsCertRequest";
import { childName } from "../model/names";

export interface CertificateArgs {
  /** Subject CN (required). */
  readonly commonName: string;
  /** Subject O values (Kubernetes groups); default none. Two or more need a GroupsCertRequest (see below). */
  readonly organizations?: readonly string[];
  /** DNS SANs, in the order they should appear. */
  readonly dnsNames?: readonly string[];
  /** IP SANs. */
  readonly ipAddresses?: readonly string[];
  /** tls provider allowedUses strings (snake_case), e.g. digital_signature, key_encipherment, server_auth (required). */
  readonly allowedUses: readonly string[];
  /** Validity in hours (required, > 0). */
  readonly validityHours: number;
  /** Re-issue on the first `pulumi up` this many hours before expiry (required, 0 ≤ x < validityHours). */
  readonly earlyRenewalHours: number;
  /** Key algorithm, kubeadm naming (required). */
  readonly keyAlgorithm: KeyAlgorithm;
  /** The CA that signs it (required). */
  readonly signer: Signer;
}

/**
 * A leaf certificate: its own tls.PrivateKey, a tls.CertRequest holding the subject and SANs, and a
 * tls.LocallySignedCert from the signer. A SAN change replaces only the CertRequest and the certificate; the key is
 * replaced only when the algorithm changes.
 */
export class Certificate extends pulumi.ComponentResource {
  public readonly certPem: pulumi.Output<string>;
  /** Secret. */
  public readonly privateKeyPem: pulumi.Output<string>;
  public readonly validityEndTime: pulumi.Output<string>;
  /** Decimal serial number (the provider's id). */
  public readonly serial: pulumi.Output<string>;

  constructor(name: string, args: CertificateArgs, opts?: pulumi.ComponentResourceOptions) {
    // No inputs recorded: the spec lives in the children (and the inventory output); recorded inputs would make
    // every spec change show the component itself as an extra "update" in `pulumi preview`.
    super("kube-pki:pki:Certificate", name, {}, opts);
    const organizations = args.organizations ?? [];
    const problems = [
      !args.commonName && "commonName is required",
      !(Number.isInteger(args.validityHours) && args.validityHours > 0) &&
        `validityHours must be a positive whole number, got ${args.validityHours}`,
      !(Number.isInteger(args.earlyRenewalHours) && args.earlyRenewalHours >= 0 && args.earlyRenewalHours < args.validityHours) &&
        `earlyRenewalHours must be a whole number from 0 to validityHours - 1, got ${args.earlyRenewalHours}`,
      args.allowedUses.length === 0 && "allowedUses must not be empty",
      severalGroups(organizations) &&
        ((args.dnsNames?.length ?? 0) > 0 || (args.ipAddresses?.length ?? 0) > 0) &&
        "a subject with several organizations cannot carry SANs here",
    ].filter((p): p is string => typeof p === "string");
    if (problems.length > 0) throw new pulumi.ResourceError(problems.join("; "), this);

    const key = new tls.PrivateKey(childName(name, "key"), privateKeyInputs(args.keyAlgorithm), {
      parent: this,
      additionalSecretOutputs: PRIVATE_KEY_SECRET_OUTPUTS,
    });
    const privateKeyPem = pulumi.secret(key.privateKeyPem);
    // tls.CertRequest carries one organization; a subject with several (a user in several groups) gets its CSR from
    // GroupsCertRequest, made once and kept in state. Only client certificates have several groups (no SANs).
    const csr = severalGroups(organizations)
      ? new GroupsCertRequest(childName(name, "csr"), { privateKeyPem, commonName: args.commonName, organizations }, { parent: this })
      : new tls.CertRequest(
          childName(name, "csr"),
          {
            privateKeyPem,
            subject:
              organizations.length === 0
                ? { commonName: args.commonName }
                : { commonName: args.commonName, organization: organizations[0] },
            dnsNames: args.dnsNames && args.dnsNames.length > 0 ? [...args.dnsNames] : undefined,
            ipAddresses: args.ipAddresses && args.ipAddresses.length > 0 ? [...args.ipAddresses] : undefined,
          },
          { parent: this },
        );
    const cert = new tls.LocallySignedCert(
      childName(name, "cert"),
      {
        certRequestPem: csr.certRequestPem,
        caCertPem: args.signer.certPem,
        caPrivateKeyPem: pulumi.secret(args.signer.privateKeyPem),
        allowedUses: [...args.allowedUses],
        validityPeriodHours: args.validityHours,
        earlyRenewalHours: args.earlyRenewalHours,
      },
      { parent: this },
    );
    this.certPem = cert.certPem;
    this.privateKeyPem = privateKeyPem;
    this.validityEndTime = cert.validityEndTime;
    this.serial = cert.id;
    this.registerOutputs({ certPem: this.certPem, privateKeyPem: this.privateKeyPem, validityEndTime: this.validityEndTime });
  }
}
