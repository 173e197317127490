// Subject Alternative Name rules, exactly as kubeadm computes them (docs/kubeadm.md §2; K2 GetAPIServerAltNames,
// getAltNames, appendSANsToAltNames, RemoveDuplicateAltNames). Pure code.
import { ClusterSpec, NodeSpec } from "./config";
import { canonicalIp, cidrAddress, isIpAddress } from "./net";

export interface AltNames {
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/** kubeadm's RemoveDuplicateAltNames: DNS names deduplicated and sorted, IPs deduplicated in first-seen order. */
function altNames(entries: readonly string[]): AltNames {
  const dns = new Set<string>();
  const ips: string[] = [];
  for (const entry of entries) {
    if (isIpAddress(entry)) {
      const ip = canonicalIp(entry);
      if (!ips.includes(ip)) ips.push(ip);
    } else {
      dns.add(entry);
    }
  }
  return { dnsNames: [...dns].sort(), ipAddresses: ips };
}

/** The `kubernetes` service VIP: offset 1 of the first service CIDR only, also with dual-stack (K3). */
export function apiServerVirtualIp(cluster: ClusterSpec): string {
  const first = cluster.serviceSubnets[0];
  if (!first) throw new Error(`cluster ${cluster.name} has no service subnet`);
  return cidrAddress(first, 1);
}

/** apiserver.crt of one control-plane node (§2 rules 1–6). */
export function apiServerAltNames(cluster: ClusterSpec, node: NodeSpec): AltNames {
  return altNames([
    node.name,
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    `kubernetes.default.svc.${cluster.dnsDomain}`,
    apiServerVirtualIp(cluster),
    node.address,
    ...(cluster.controlPlaneEndpoint ? [cluster.controlPlaneEndpoint.host] : []),
    ...cluster.apiServer.certSANs,
  ]);
}

/** etcd/server.crt and etcd/peer.crt of one control-plane node: the same defaults plus the extra SANs of each. */
export function etcdAltNames(node: NodeSpec, extraSans: readonly string[]): AltNames {
  return altNames([node.name, "localhost", node.address, "127.0.0.1", "::1", ...extraSans]);
}

/** The kubelet serving certificate: the node's name and address (what kubelet-serving CSR approvers check, §6). */
export function kubeletServingAltNames(node: NodeSpec): AltNames {
  return altNames([node.name, node.address]);
}
