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

/** Where a key pair's resources are registered. */
export interface Placement {
  /** The component they belong to (the cluster's ClusterPki). */
  readonly parent: pulumi.Resource;
  /**
   * URNs of what the component that wrapped a key pair until issue 21 was registered below (the ClusterPki under each
   * type token it had, or a former kubeconfig component): each makes an alias, so a deployed stack keeps its keys and
   * certificates when their wrapper is gone.
   */
  readonly formerOwners: readonly pulumi.Input<string>[];
}

/** An issued leaf: what its readers need. */
export interface IssuedCertificate {
  readonly certPem: pulumi.Output<string>;
  /** Secret. */
  readonly privateKeyPem: pulumi.Output<string>;
  readonly validityEndTime: pulumi.Output<string>;
  /** Decimal serial number (the provider's id). */
  readonly serial: pulumi.Output<string>;
}

/**
 * The type of the component that wrapped each key pair until issue 21. It had no behaviour and cost the engine a
 * registration per certificate in every preview; its name lives on in the aliases of the resources it held.
 */
export const FORMER_CERTIFICATE_TYPE = "kube-pki:pki:Certificate";

/** The URNs a component `name` of `type` had below each of `owners`: the parent its former children alias. */
export const formerlyBelow = (name: string, type: string, owners: readonly pulumi.Input<string>[]): pulumi.Input<string>[] =>
  owners.map((owner) => pulumi.createUrn(name, type, owner));

/**
 * A leaf certificate: its own tls.PrivateKey, a tls.CertRequest holding the subject and SANs, and a
 * tls.LocallySignedCert from the signer, named `<name>-key`, `-csr`, `-cert`, directly below `at.parent`. A SAN
 * change replaces only the CertRequest and the certificate; the key is replaced only when the algorithm changes.
 */
export function issueCertificate(name: string, args: CertificateArgs, at: Placement): IssuedCertificate {
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
  if (problems.length > 0) throw new pulumi.ResourceError(`certificate ${name}: ${problems.join("; ")}`, at.parent);

  const opts = { parent: at.parent, aliases: formerlyBelow(name, FORMER_CERTIFICATE_TYPE, at.formerOwners).map((parent) => ({ parent })) };
  const key = new tls.PrivateKey(childName(name, "key"), privateKeyInputs(args.keyAlgorithm), {
    ...opts,
    additionalSecretOutputs: PRIVATE_KEY_SECRET_OUTPUTS,
  });
  const privateKeyPem = pulumi.secret(key.privateKeyPem);
  // tls.CertRequest carries one organization; a subject with several (a user in several groups) gets its CSR from
  // GroupsCertRequest, made once and kept in state. Only client certificates have several groups (no SANs).
  const csr = severalGroups(organizations)
    ? new GroupsCertRequest(childName(name, "csr"), { privateKeyPem, commonName: args.commonName, organizations }, opts)
    : new tls.CertRequest(
        childName(name, "csr"),
        {
          privateKeyPem,
          subject:
            organizations.length === 0 ? { commonName: args.commonName } : { commonName: args.commonName, organization: organizations[0] },
          dnsNames: args.dnsNames && args.dnsNames.length > 0 ? [...args.dnsNames] : undefined,
          ipAddresses: args.ipAddresses && args.ipAddresses.length > 0 ? [...args.ipAddresses] : undefined,
        },
        opts,
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
    opts,
  );
  return { certPem: cert.certPem, privateKeyPem, validityEndTime: cert.validityEndTime, serial: cert.id };
}
