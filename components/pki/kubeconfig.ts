import * as pulumi from "@pulumi/pulumi";
import { CertificateArgs, formerlyBelow, IssuedCertificate, issueCertificate, Placement } from "./certificate";
import { renderKubeconfig } from "../model/kubeconfigYaml";
import { childName } from "../model/names";

export interface KubeconfigArgs extends CertificateArgs {
  /** kubeadm clusterName: the cluster entry's name (required). */
  readonly clusterName: string;
  /** API server URL, `https://host:port` (required). */
  readonly server: string;
  /** The CA certificates the kubeconfig trusts (default: the signer's certificate; during a rotation, both CAs). */
  readonly caBundle?: pulumi.Input<string>;
}

/** The type of the component that wrapped each kubeconfig until issue 21 (see FORMER_CERTIFICATE_TYPE). */
export const FORMER_KUBECONFIG_TYPE = "kube-pki:pki:Kubeconfig";

/**
 * A kubeconfig with an embedded client certificate, as kubeadm writes one: the certificate `<name>-client` (its own
 * key, CSR and certificate, CN = user) and the rendered file (`kubeconfig`), a secret because it holds the client key.
 */
export function issueKubeconfig(
  name: string,
  args: KubeconfigArgs,
  at: Placement,
): IssuedCertificate & { readonly kubeconfig: pulumi.Output<string> } {
  if (!/^https:\/\/[^/]+:\d+$/.test(args.server)) {
    throw new pulumi.ResourceError(
      `kubeconfig ${name}: server must look like https://host:port, got ${JSON.stringify(args.server)}`,
      at.parent,
    );
  }
  // Its client certificate was a component below the kubeconfig's component, `<name>-client`.
  const certificate = issueCertificate(childName(name, "client"), args, {
    parent: at.parent,
    formerOwners: formerlyBelow(name, FORMER_KUBECONFIG_TYPE, at.formerOwners),
  });
  const kubeconfig = pulumi.secret(
    pulumi
      .all([args.caBundle ?? args.signer.certPem, certificate.certPem, certificate.privateKeyPem])
      .apply(([caCertPem, clientCertPem, clientKeyPem]) =>
        renderKubeconfig({
          clusterName: args.clusterName,
          server: args.server,
          user: args.commonName,
          caCertPem,
          clientCertPem,
          clientKeyPem,
        }),
      ),
  );
  return { ...certificate, kubeconfig };
}
