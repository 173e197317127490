import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { KeyAlgorithm } from "../model/config";
import { PRIVATE_KEY_SECRET_OUTPUTS, privateKeyInputs } from "../model/keyAlgorithm";
import { childName } from "../model/names";

export interface ServiceAccountKeyArgs {
  /** Key algorithm, kubeadm naming (required). */
  readonly keyAlgorithm: KeyAlgorithm;
}

/** The service-account signing key pair (sa.key / sa.pub, docs/kubeadm.md §5): a key, no certificate. */
export class ServiceAccountKey extends pulumi.ComponentResource {
  /** PEM private key for kube-controller-manager. Secret. */
  public readonly privateKeyPem: pulumi.Output<string>;
  /** PKIX `PUBLIC KEY` PEM for kube-apiserver. */
  public readonly publicKeyPem: pulumi.Output<string>;

  constructor(name: string, args: ServiceAccountKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kube-pki:pki:ServiceAccountKey", name, {}, opts);
    const key = new tls.PrivateKey(childName(name, "key"), privateKeyInputs(args.keyAlgorithm), {
      parent: this,
      additionalSecretOutputs: PRIVATE_KEY_SECRET_OUTPUTS,
    });
    this.privateKeyPem = pulumi.secret(key.privateKeyPem);
    this.publicKeyPem = key.publicKeyPem;
    this.registerOutputs({ privateKeyPem: this.privateKeyPem, publicKeyPem: this.publicKeyPem });
  }
}
