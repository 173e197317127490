import * as pulumi from "@pulumi/pulumi";
import { Certificate, CertificateArgs } from "./certificate";
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

/**
 * A kubeconfig with an embedded client certificate, as kubeadm writes one: a Certificate (its own key, CSR and
 * certificate, CN = user) and the rendered file, which is a secret because it holds the client key.
 */
export class Kubeconfig extends pulumi.ComponentResource {
  /** The kubeconfig YAML. Secret. */
  public readonly content: pulumi.Output<string>;
  public readonly certificate: Certificate;

  constructor(name: string, args: KubeconfigArgs, opts?: pulumi.ComponentResourceOptions) {
    // No inputs recorded (see Certificate): a preview lists only the resources that change.
    super("kube-pki:pki:Kubeconfig", name, {}, opts);
    if (!/^https:\/\/[^/]+:\d+$/.test(args.server)) {
      throw new pulumi.ResourceError(`server must look like https://host:port, got ${JSON.stringify(args.server)}`, this);
    }
    this.certificate = new Certificate(childName(name, "client"), args, { parent: this });
    this.content = pulumi.secret(
      pulumi
        .all([args.caBundle ?? args.signer.certPem, this.certificate.certPem, this.certificate.privateKeyPem])
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
    this.registerOutputs({ content: this.content });
  }
}
