// Rendering a kubeconfig exactly as kubeadm writes one (docs/kubeadm.md §4; K5 CreateWithCerts): cluster named after
// clusterName, user named after the certificate CN, context `<user>@<cluster>`, everything embedded as base64 data.
// Pure code, rendered with `yaml`.
import { stringify } from "yaml";

export interface KubeconfigInput {
  readonly clusterName: string;
  readonly server: string;
  readonly user: string;
  readonly caCertPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
}

const base64 = (pem: string) => Buffer.from(pem, "utf8").toString("base64");

export function renderKubeconfig(k: KubeconfigInput): string {
  const context = `${k.user}@${k.clusterName}`;
  return stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ cluster: { "certificate-authority-data": base64(k.caCertPem), server: k.server }, name: k.clusterName }],
      contexts: [{ context: { cluster: k.clusterName, user: k.user }, name: context }],
      "current-context": context,
      preferences: {},
      users: [{ name: k.user, user: { "client-certificate-data": base64(k.clientCertPem), "client-key-data": base64(k.clientKeyPem) } }],
    },
    { lineWidth: 0 },
  );
}
