// The control-plane flags a cluster's config implies beyond kubeadm's manifests. With `workers: bootstrap` the
// kube-controller-manager is the kubelets' client-certificate signer: it signs with the cluster CA's key (caKeys:
// control-plane) and the certificate of that key alone (ca-signer.crt: ca.crt is a bundle during a rotation), for
// bootstrap.signingHours, runs the bootstrap-token controllers, and talks to the API server fast enough to approve and
// sign a fleet's CSRs. Published into kubeadm's ClusterConfiguration (controllerManager.extraArgs) and as the stack
// output `controlPlaneFlags`. Pure code.
import type { ClusterSpec } from "./config";
import { CA_SIGNER_PATH, KEY_PAIR_PATHS } from "./names";

/** One command-line flag, as kubeadm's v1beta4 extraArgs lists it. */
export interface Flag {
  readonly name: string;
  readonly value: string;
}

/** The CSR signing of `workers: bootstrap` (README, "Workers"); none otherwise. */
export function controllerManagerFlags(cluster: Pick<ClusterSpec, "workers" | "bootstrap">): Flag[] {
  if (cluster.workers !== "bootstrap") return [];
  return [
    { name: "cluster-signing-cert-file", value: CA_SIGNER_PATH },
    { name: "cluster-signing-key-file", value: KEY_PAIR_PATHS.ca.key },
    // Short-lived kubelet client certificates: the kubelet rotates at 70–90 % of this, so a CA rotation's drop can
    // tell when no kubelet can hold a certificate of the old CA any more.
    { name: "cluster-signing-duration", value: `${cluster.bootstrap?.signingHours ?? 72}h` },
    // kubeadm's own list: every default controller, plus the two that sign cluster-info and remove expired tokens.
    { name: "controllers", value: "*,bootstrapsigner,tokencleaner" },
    // Every CSR costs the csrapprover a SubjectAccessReview and an approval update, and the signer an update, under the
    // client's rate limit (default 20 QPS, burst 30): ~10 CSRs/s, 10,000 nodes in ~16 min. With these, 10,000 in 44 s
    // (issue 21). A ceiling, not a rate: an idle controller-manager sends no more, and the API server's priority and
    // fairness still orders what it does send.
    { name: "kube-api-qps", value: "500" },
    { name: "kube-api-burst", value: "1000" },
  ];
}

/** As a command line has them: `--name=value`. */
export const flagArgs = (flags: readonly Flag[]): string[] => flags.map((f) => `--${f.name}=${f.value}`);

/** The stack output `controlPlaneFlags` of one cluster: by component, the flags to add to kubeadm's manifest. */
export const controlPlaneFlags = (cluster: Pick<ClusterSpec, "workers" | "bootstrap">) => ({
  "kube-controller-manager": flagArgs(controllerManagerFlags(cluster)),
});
