// What a cluster in `workers: bootstrap` needs in the API besides its tokens: the RBAC that kubeadm creates for
// bootstrap tokens and nodes, and the kube-public/cluster-info ConfigMap that joining nodes discover the cluster from.
// One table of plain manifests, as `kubeadm init phase bootstrap-token` (v1.36.3, phases/bootstraptoken/node/
// tlsbootstrap.go and clusterinfo/clusterinfo.go) creates them, checked against the Kubernetes docs (bootstrap-tokens,
// kubelet-tls-bootstrapping) and, in test/cluster, against what the real kubeadm creates. Nothing more:
// - kubeadm:apiserver-kubelet-client (user kube-apiserver-kubelet-client → system:kubelet-api-admin), which the same
//   phase creates, is for the API server, not for tokens or nodes; kube-pki's apiserver-kubelet-client certificate
//   carries O=kubeadm:cluster-admins and needs no binding.
// - kubeadm:kubelet-config and kubeadm:nodes-kubeadm-config (kube-system Roles letting nodes and tokens read the
//   kubelet-config and kubeadm-config ConfigMaps) belong to kubeadm's upload-config phases, with the ConfigMaps they
//   expose; kube-pki writes neither ConfigMap, so it makes no role for them (an adopted kubeadm cluster keeps its own).
// Pure code.
import { stringify } from "yaml";

/** The group kubeadm's bootstrap tokens carry (auth-extra-groups), which its bindings name: an adopted cluster's keep working. */
export const BOOTSTRAP_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token";
/** Every node's group once it holds its client certificate. */
export const NODES_GROUP = "system:nodes";
export const CLUSTER_INFO = { namespace: "kube-public", name: "cluster-info" } as const;

const RBAC = "rbac.authorization.k8s.io";
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}
export interface Subject {
  readonly kind: "Group" | "User";
  readonly name: string;
  readonly apiGroup: typeof RBAC;
}
interface Metadata {
  readonly name: string;
  readonly namespace?: string;
}
export type RbacManifest =
  | {
      readonly apiVersion: `${typeof RBAC}/v1`;
      readonly kind: "ClusterRole" | "Role";
      readonly metadata: Metadata;
      readonly rules: readonly PolicyRule[];
    }
  | {
      readonly apiVersion: `${typeof RBAC}/v1`;
      readonly kind: "ClusterRoleBinding" | "RoleBinding";
      readonly metadata: Metadata;
      readonly roleRef: { readonly apiGroup: typeof RBAC; readonly kind: "ClusterRole" | "Role"; readonly name: string };
      readonly subjects: readonly Subject[];
    };

const group = (name: string): Subject => ({ kind: "Group", name, apiGroup: RBAC });
const user = (name: string): Subject => ({ kind: "User", name, apiGroup: RBAC });
const binding = (name: string, clusterRole: string, subject: Subject): RbacManifest => ({
  apiVersion: `${RBAC}/v1`,
  kind: "ClusterRoleBinding",
  metadata: { name },
  roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: clusterRole },
  subjects: [subject],
});

/**
 * The bindings name only roles the API server bootstraps itself (system:node-bootstrapper: create/get/list/watch CSRs;
 * …:nodeclient and …:selfnodeclient: the csrapprover's permission to approve a token's first and a node's renewal
 * client CSR) and the two roles made here. Nothing binds a bootstrap group to anything else.
 */
export const BOOTSTRAP_RBAC: readonly RbacManifest[] = [
  binding("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", group(BOOTSTRAP_TOKEN_GROUP)),
  binding(
    "kubeadm:node-autoapprove-bootstrap",
    "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
    group(BOOTSTRAP_TOKEN_GROUP),
  ),
  binding(
    "kubeadm:node-autoapprove-certificate-rotation",
    "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
    group(NODES_GROUP),
  ),
  // A joining kubelet reads its Node (kubeadm join checks that no Node of its name is Ready yet).
  {
    apiVersion: `${RBAC}/v1`,
    kind: "ClusterRole",
    metadata: { name: "kubeadm:get-nodes" },
    rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }],
  },
  binding("kubeadm:get-nodes", "kubeadm:get-nodes", group(BOOTSTRAP_TOKEN_GROUP)),
  // Discovery: before it trusts anything, a joining node reads cluster-info anonymously and checks its JWS signature.
  {
    apiVersion: `${RBAC}/v1`,
    kind: "Role",
    metadata: { name: "kubeadm:bootstrap-signer-clusterinfo", namespace: CLUSTER_INFO.namespace },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: [CLUSTER_INFO.name] }],
  },
  {
    apiVersion: `${RBAC}/v1`,
    kind: "RoleBinding",
    metadata: { name: "kubeadm:bootstrap-signer-clusterinfo", namespace: CLUSTER_INFO.namespace },
    roleRef: { apiGroup: RBAC, kind: "Role", name: "kubeadm:bootstrap-signer-clusterinfo" },
    subjects: [user("system:anonymous")],
  },
];

/**
 * cluster-info's `kubeconfig`, byte for byte as kubeadm v1.36 writes it (clientcmd.Write of a Config whose only
 * cluster, named "", is admin.conf's; the test diffs the two): the control-plane endpoint and the cluster CA's trust bundle (both generations during a rotation).
 * The controller-manager's bootstrapsigner adds a `jws-kubeconfig-<token id>` key per signing token, which is its own.
 */
export function clusterInfoKubeconfig(server: string, caBundlePem: string): string {
  return stringify(
    {
      apiVersion: "v1",
      clusters: [{ cluster: { "certificate-authority-data": Buffer.from(caBundlePem, "utf8").toString("base64"), server }, name: "" }],
      contexts: null,
      "current-context": "",
      kind: "Config",
      users: null,
    },
    // Go's YAML: sequences not indented, long values on one line.
    { lineWidth: 0, indentSeq: false },
  );
}

/**
 * A resource name for a manifest, below its component: `clusterrolebinding-kubeadm-get-nodes`, and with its namespace
 * for a namespaced one (`role-kube-system-kube-pki-csr-approver`): one name may be used in several namespaces.
 */
export const manifestSlug = (m: { readonly kind: string; readonly metadata: Metadata }) =>
  [m.kind, m.metadata.namespace, m.metadata.name]
    .filter((p) => p !== undefined)
    .map((p) => p.toLowerCase().replace(/[^a-z0-9-]+/g, "-"))
    .join("-");
