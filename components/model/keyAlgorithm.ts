// kubeadm's algorithm names mapped onto tls.PrivateKey inputs. ECDSA always gets an explicit curve: the provider's
// default is P224, which Go's crypto/tls (kube-apiserver, etcd, kubelet) refuses (docs/tls-provider.md §11.1).
import { KeyAlgorithm } from "./config";

export interface PrivateKeyInputs {
  readonly algorithm: "RSA" | "ECDSA";
  readonly rsaBits?: number;
  readonly ecdsaCurve?: "P256" | "P384";
}

export function privateKeyInputs(algorithm: KeyAlgorithm): PrivateKeyInputs {
  switch (algorithm) {
    case "RSA-2048":
      return { algorithm: "RSA", rsaBits: 2048 };
    case "RSA-3072":
      return { algorithm: "RSA", rsaBits: 3072 };
    case "RSA-4096":
      return { algorithm: "RSA", rsaBits: 4096 };
    case "ECDSA-P256":
      return { algorithm: "ECDSA", ecdsaCurve: "P256" };
    case "ECDSA-P384":
      return { algorithm: "ECDSA", ecdsaCurve: "P384" };
  }
}

/** The tls.PrivateKey outputs that hold key material; declared secret on every key we create. */
export const PRIVATE_KEY_SECRET_OUTPUTS = ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"];
