// Editing kubeadm's ClusterConfiguration (the `ClusterConfiguration` key of ConfigMap kube-system/kubeadm-config) so
// that its SAN lists equal kube-pki's config: `kubeadm join --control-plane` and later kubeadm phases then compute
// the same SANs as the certificates have (docs/kubeadm.md §7, §10). Everything else in the document is kept. Pure.
import { parseDocument } from "yaml";

export interface KubeadmSans {
  readonly apiServerCertSANs: readonly string[];
  readonly etcdServerCertSANs: readonly string[];
  readonly etcdPeerCertSANs: readonly string[];
}

export function withCertSANs(clusterConfiguration: string, sans: KubeadmSans): string {
  const doc = parseDocument(clusterConfiguration);
  if (doc.errors.length > 0) throw new Error(`kubeadm-config ClusterConfiguration is not YAML: ${doc.errors[0]!.message}`);
  const kind = doc.get("kind");
  if (kind !== "ClusterConfiguration") throw new Error(`kubeadm-config holds kind ${JSON.stringify(kind)}, not ClusterConfiguration`);
  doc.setIn(["apiServer", "certSANs"], [...sans.apiServerCertSANs]);
  // Only stacked etcd has local SANs; an external etcd section is left alone.
  if (doc.hasIn(["etcd", "local"]) || !doc.hasIn(["etcd", "external"])) {
    doc.setIn(["etcd", "local", "serverCertSANs"], [...sans.etcdServerCertSANs]);
    doc.setIn(["etcd", "local", "peerCertSANs"], [...sans.etcdPeerCertSANs]);
  }
  return doc.toString();
}
