// The identity and RBAC of kube-pki's kubelet serving-certificate approver (approver/, README "Workers"), as plain
// Kubernetes objects: its user (a client certificate, kubeconfig kube-pki-csr-approver.conf on control-plane nodes)
// may read kubelet CSRs, set their approval for the kubelet-serving signer only, read Nodes, and nothing else but
// its events and its leader-election Lease. Pure: the bootstrap component creates these objects with admin.conf.

import type { RbacManifest } from "./bootstrapRbac";

/** The approver's user: the CN of its kubeconfig's client certificate (no group: it holds no other binding). */
export const APPROVER_USER = "kube-pki:csr-approver";
/** The program, its kubeconfig (kubeconfigPath) and its Lease in kube-system share this name. */
export const APPROVER_NAME = "kube-pki-csr-approver";
export const KUBELET_SERVING_SIGNER = "kubernetes.io/kubelet-serving";

const subjects = [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: APPROVER_USER }] as const;
const role = (kind: "ClusterRole" | "Role") => ({ apiGroup: "rbac.authorization.k8s.io", kind, name: APPROVER_NAME }) as const;
const meta = (namespace?: string) => ({
  name: APPROVER_NAME,
  ...(namespace ? { namespace } : {}),
  labels: { "app.kubernetes.io/managed-by": "kube-pki" },
});

/**
 * What approving takes (Kubernetes docs, "Certificate Signing Requests", Authorization): read CSRs, update their
 * `approval` subresource, and `approve` on the signer by name; the same rights deny. Nodes are only read one by one
 * (get), events go to `default` (where the events of cluster-scoped objects such as CSRs land), the Lease is the
 * approver's own (`create` cannot be limited to a name).
 */
export function approverRbacObjects(): readonly RbacManifest[] {
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: meta(),
      rules: [
        { apiGroups: ["certificates.k8s.io"], resources: ["certificatesigningrequests"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["certificates.k8s.io"], resources: ["certificatesigningrequests/approval"], verbs: ["update"] },
        { apiGroups: ["certificates.k8s.io"], resources: ["signers"], resourceNames: [KUBELET_SERVING_SIGNER], verbs: ["approve"] },
        { apiGroups: [""], resources: ["nodes"], verbs: ["get"] },
      ],
    },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: meta(), roleRef: role("ClusterRole"), subjects },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta("kube-system"),
      rules: [
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
        { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [APPROVER_NAME], verbs: ["get", "update"] },
      ],
    },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: meta("kube-system"), roleRef: role("Role"), subjects },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: meta("default"),
      rules: [{ apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] }],
    },
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: meta("default"), roleRef: role("Role"), subjects },
  ];
}
