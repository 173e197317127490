// What docs/kubeadm.md says, restated once for the tests that check kube-pki against it (the mock-runtime table of
// test/pki.test.ts and the e2e expectations of test/e2e/expected.ts): written from the document, never imported from
// components/, so that a mistake in the catalog fails those tests instead of moving with them.

/** §2 rule 1: the API server certificate's DNS names on a node, with the default dnsDomain (cluster.local). */
export const apiServerDnsNames = (node: string) => [
  node,
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
];
