import * as pulumi from "@pulumi/pulumi";
import { certificateRequestPem } from "./csr";

export interface GroupsCertRequestArgs {
  /** The subject's private key (secret) (required). */
  readonly privateKeyPem: pulumi.Input<string>;
  /** Subject CN (required). */
  readonly commonName: string;
  /** Subject O values, two or more (Kubernetes groups) (required). */
  readonly organizations: SeveralGroups;
}

/** Two or more groups: what tls.CertRequest cannot carry. */
export type SeveralGroups = readonly [string, string, ...string[]];
export const severalGroups = (organizations: readonly string[]): organizations is SeveralGroups => organizations.length > 1;

/** Dynamic-provider inputs and outputs as the provider sees them (plain values). */
interface Inputs {
  privateKeyPem: string;
  commonName: string;
  organizations: string[];
}

/**
 * Made once on create and kept in state, so the CSR (whose ECDSA signature is random) stays the same on every
 * `pulumi up` and the certificate signed from it is re-issued only when the key, the CN or the groups change.
 */
const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Inputs) {
    const pem = certificateRequestPem(inputs.privateKeyPem, inputs.commonName, inputs.organizations);
    return { id: `${inputs.commonName}-${Date.now().toString(36)}`, outs: { ...inputs, certRequestPem: pem } };
  },
  async diff(_id: string, olds: Inputs, news: Inputs) {
    const replaces = (["privateKeyPem", "commonName", "organizations"] as const).filter(
      (k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
    );
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },
};

/**
 * A certificate request with several O values, which tls.CertRequest cannot make (it has one `organization`):
 * tls.LocallySignedCert copies the parsed subject, so every group reaches the certificate.
 */
export class GroupsCertRequest extends pulumi.dynamic.Resource {
  // `declare`: a class field would be re-initialised to undefined after super() (ES2022 class fields).
  declare public readonly certRequestPem: pulumi.Output<string>;

  constructor(name: string, args: GroupsCertRequestArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      {
        privateKeyPem: pulumi.secret(args.privateKeyPem),
        commonName: args.commonName,
        organizations: [...args.organizations],
        certRequestPem: undefined,
      },
      { ...opts, additionalSecretOutputs: ["privateKeyPem"] },
      "kube-pki",
      "GroupsCertRequest",
    );
  }
}
