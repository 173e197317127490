// Editing kubeadm's ClusterConfiguration (the `ClusterConfiguration` key of ConfigMap kube-system/kubeadm-config) so
// that its SAN lists equal kube-pki's config: `kubeadm join --control-plane` and later kubeadm phases then compute
// the same SANs as the certificates have (docs/kubeadm.md §7, §10), and the controller-manager flags the config implies
// (controlPlaneFlags.ts). Everything else in the document is kept. Pure.
import { parseDocument } from "yaml";
import type { Flag } from "./controlPlaneFlags";

export interface KubeadmSans {
  readonly apiServerCertSANs: readonly string[];
  readonly etcdServerCertSANs: readonly string[];
  readonly etcdPeerCertSANs: readonly string[];
}

function parseClusterConfiguration(clusterConfiguration: string) {
  const doc = parseDocument(clusterConfiguration);
  if (doc.errors.length > 0) throw new Error(`kubeadm-config ClusterConfiguration is not YAML: ${doc.errors[0]!.message}`);
  const kind = doc.get("kind");
  if (kind !== "ClusterConfiguration") throw new Error(`kubeadm-config holds kind ${JSON.stringify(kind)}, not ClusterConfiguration`);
  return doc;
}

export function withCertSANs(clusterConfiguration: string, sans: KubeadmSans): string {
  const doc = parseClusterConfiguration(clusterConfiguration);
  doc.setIn(["apiServer", "certSANs"], [...sans.apiServerCertSANs]);
  // Only stacked etcd has local SANs; an external etcd section is left alone.
  if (doc.hasIn(["etcd", "local"]) || !doc.hasIn(["etcd", "external"])) {
    doc.setIn(["etcd", "local", "serverCertSANs"], [...sans.etcdServerCertSANs]);
    doc.setIn(["etcd", "local", "peerCertSANs"], [...sans.etcdPeerCertSANs]);
  }
  return doc.toString();
}

/**
 * Sets `flags` in ClusterConfiguration's controllerManager.extraArgs (kubeadm's manifest for the next `kubeadm join
 * --control-plane` or upgrade then has them): v1beta4's list of {name, value}, one entry per name, or v1beta3's map.
 * Other arguments are kept; no flags leave the document as it is.
 */
export function withControllerManagerArgs(clusterConfiguration: string, flags: readonly Flag[]): string {
  if (flags.length === 0) return clusterConfiguration;
  const doc = parseClusterConfiguration(clusterConfiguration);
  const apiVersion = String(doc.get("apiVersion") ?? "");
  const path = ["controllerManager", "extraArgs"];
  if (apiVersion === "kubeadm.k8s.io/v1beta3") {
    for (const f of flags) doc.setIn([...path, f.name], f.value);
  } else if (apiVersion === "kubeadm.k8s.io/v1beta4") {
    const names = new Set(flags.map((f) => f.name));
    const current = (doc.getIn(path) as { toJSON(): unknown } | undefined)?.toJSON();
    const kept = Array.isArray(current) ? current.filter((a: { name?: unknown }) => !names.has(String(a?.name))) : [];
    doc.setIn(path, [...kept, ...flags.map((f) => ({ name: f.name, value: f.value }))]);
  } else {
    throw new Error(
      `kubeadm-config's ClusterConfiguration has apiVersion ${JSON.stringify(apiVersion)}: extraArgs are known for kubeadm.k8s.io/v1beta3 and v1beta4`,
    );
  }
  return doc.toString();
}
