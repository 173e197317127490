// workers: bootstrap in the API, under the mock runtime: the RBAC table (kubeadm's names and subjects, nothing more;
// test/cluster checks it against the real kubeadm), cluster-info as kubeadm writes it, the controller-manager flags
// and where they are published (kubeadm-config's extraArgs, the stack output), and the ClusterBootstrap component:
// upsert over kubeadm's objects, kept on delete, after the delivery, through admin.conf.
import assert from "node:assert/strict";
import { approverRbacObjects } from "../components/model/approverRbac";
import { parse } from "yaml";
import {
  BOOTSTRAP_RBAC,
  clusterInfoKubeconfig,
  controllerManagerFlags,
  defineStack,
  planClusters,
  withControllerManagerArgs,
} from "../components";
import { evaluate, unwrapSecrets, valueOf } from "../emulator/evaluate";
import { clusterConfig, find, plainState, T } from "./support";

const bootstrapCluster = (extra: Record<string, unknown> = {}) =>
  clusterConfig("t", 1, 2, { workers: "bootstrap", caKeys: "control-plane", delivery: { mode: "local" }, ...extra });
const V1BETA4 = `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
controllerManager:
  extraArgs:
  - name: bind-address
    value: 0.0.0.0
  - name: cluster-signing-duration
    value: 8760h
`;
const BOOTSTRAP_CM_TYPES = ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].map(
  (k) => `kubernetes:rbac.authorization.k8s.io/v1:${k}`,
);

describe("TLS bootstrap in the API (workers: bootstrap)", () => {
  it("the RBAC table is kubeadm's bootstrap-token objects, each binding one subject: the token group to the CSR roles and get-nodes, system:nodes to renewal, anonymous to cluster-info", () => {
    assert.deepEqual(
      BOOTSTRAP_RBAC.map((m) => [
        m.kind,
        m.metadata.namespace ?? "",
        m.metadata.name,
        "roleRef" in m ? `${m.roleRef.name} ← ${m.subjects.map((s) => `${s.kind} ${s.name}`).join(", ")}` : JSON.stringify(m.rules),
      ]),
      [
        [
          "ClusterRoleBinding",
          "",
          "kubeadm:kubelet-bootstrap",
          "system:node-bootstrapper ← Group system:bootstrappers:kubeadm:default-node-token",
        ],
        [
          "ClusterRoleBinding",
          "",
          "kubeadm:node-autoapprove-bootstrap",
          "system:certificates.k8s.io:certificatesigningrequests:nodeclient ← Group system:bootstrappers:kubeadm:default-node-token",
        ],
        [
          "ClusterRoleBinding",
          "",
          "kubeadm:node-autoapprove-certificate-rotation",
          "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient ← Group system:nodes",
        ],
        ["ClusterRole", "", "kubeadm:get-nodes", '[{"apiGroups":[""],"resources":["nodes"],"verbs":["get"]}]'],
        ["ClusterRoleBinding", "", "kubeadm:get-nodes", "kubeadm:get-nodes ← Group system:bootstrappers:kubeadm:default-node-token"],
        [
          "Role",
          "kube-public",
          "kubeadm:bootstrap-signer-clusterinfo",
          '[{"apiGroups":[""],"resources":["configmaps"],"verbs":["get"],"resourceNames":["cluster-info"]}]',
        ],
        [
          "RoleBinding",
          "kube-public",
          "kubeadm:bootstrap-signer-clusterinfo",
          "kubeadm:bootstrap-signer-clusterinfo ← User system:anonymous",
        ],
      ],
    );
  });

  it("cluster-info's kubeconfig is kubeadm's text: one cluster named \"\" with the endpoint and the CA bundle, no user, no context", () => {
    assert.equal(
      clusterInfoKubeconfig("https://10.0.0.1:6443", "PEM\n"),
      'apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: UEVNCg==\n    server: https://10.0.0.1:6443\n  name: ""\ncontexts: null\ncurrent-context: ""\nkind: Config\nusers: null\n',
    );
  });

  it("the controller-manager signs kubelet certificates with ca-signer.crt and ca.key for signingHours, runs the token controllers, at 500 QPS; managed workers imply no flag", () => {
    assert.deepEqual(controllerManagerFlags({ workers: "bootstrap", bootstrap: { tokenHours: 168, signingHours: 24 } }), [
      { name: "cluster-signing-cert-file", value: "/etc/kubernetes/pki/ca-signer.crt" },
      { name: "cluster-signing-key-file", value: "/etc/kubernetes/pki/ca.key" },
      { name: "cluster-signing-duration", value: "24h" },
      { name: "controllers", value: "*,bootstrapsigner,tokencleaner" },
      { name: "kube-api-qps", value: "500" },
      { name: "kube-api-burst", value: "1000" },
    ]);
    assert.deepEqual(controllerManagerFlags({ workers: "managed", bootstrap: { tokenHours: 168, signingHours: 24 } }), []);
  });

  it("kubeadm-config v1beta4: the flags replace same-named extraArgs, others stay, one entry per name", () => {
    const flags = [
      { name: "cluster-signing-duration", value: "72h" },
      { name: "kube-api-qps", value: "500" },
    ];
    assert.deepEqual(parse(withControllerManagerArgs(V1BETA4, flags)).controllerManager.extraArgs, [
      { name: "bind-address", value: "0.0.0.0" },
      ...flags,
    ]);
  });

  it("kubeadm-config v1beta3: the flags set keys of the extraArgs map; another apiVersion is an error naming it", () => {
    const v1beta3 =
      "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\ncontrollerManager:\n  extraArgs:\n    bind-address: 0.0.0.0\n";
    assert.deepEqual(parse(withControllerManagerArgs(v1beta3, [{ name: "kube-api-qps", value: "500" }])).controllerManager.extraArgs, {
      "bind-address": "0.0.0.0",
      "kube-api-qps": "500",
    });
    assert.throws(
      () => withControllerManagerArgs("apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\n", [{ name: "a", value: "b" }]),
      /apiVersion "kubeadm\.k8s\.io\/v1beta2"/,
    );
  });

  it("ClusterBootstrap applies every object with patchForce (upsert over kubeadm's), keeps it on delete, after the delivery; under local delivery rendered as manifests, never with the kubeconfig beside", async () => {
    const ev = await evaluate(() => defineStack(planClusters([bootstrapCluster()]), { stack: "t" }));
    assert.deepEqual(ev.failures, []);
    const objects = ev.resources.filter((r) => BOOTSTRAP_CM_TYPES.includes(r.type) || r.type === "kubernetes:core/v1:ConfigMap");
    assert.equal(objects.length, BOOTSTRAP_RBAC.length + approverRbacObjects().length + 1);
    const provider = find(ev, "pulumi:providers:kubernetes", "t-cluster-bootstrap-workload");
    // The real control-plane test (test/cluster/controlPlane.test.ts) writes them through admin.conf.
    assert.deepEqual(
      [(provider.inputs as any).renderYamlToDirectory, (provider.inputs as any).kubeconfig],
      ["out/t/t/_bootstrap", undefined],
    );
    // A component in dependsOn stands for its resources: the last push of the delivery is one of them.
    const push = find(ev, "command:local:Command", "t-cp-1-push-sa");
    for (const r of objects) {
      assert.equal((r.inputs as any).metadata.annotations["pulumi.com/patchForce"], "true", r.name);
      assert.ok(r.retainOnDelete, `${r.name}: retained`);
      assert.ok(r.dependencies.includes(push.urn), `${r.name}: after the delivery`);
    }
    const info = find(ev, "kubernetes:core/v1:ConfigMap", "t-cluster-bootstrap-configmap-kube-public-cluster-info");
    assert.deepEqual((info.inputs as any).metadata, {
      name: "cluster-info",
      namespace: "kube-public",
      annotations: { "pulumi.com/patchForce": "true" },
    });
    const caCert = plainState(find(ev, T.selfSigned, "t-ca-cert")).certPem as string;
    assert.equal((info.inputs as any).data.kubeconfig, clusterInfoKubeconfig("https://api.t.example:6443", caCert));
  });

  it("managed workers: no ClusterBootstrap, and the stack output controlPlaneFlags lists no flag", async () => {
    const ev = await evaluate(() => defineStack(planClusters([clusterConfig("t", 1, 1, { delivery: { mode: "local" } })]), { stack: "t" }));
    assert.equal(ev.resources.filter((r) => r.type === "kube-pki:bootstrap:ClusterBootstrap").length, 0);
    assert.deepEqual(await valueOf(ev.result.outputs.controlPlaneFlags), { t: { "kube-controller-manager": [] } });
  });

  it("bootstrap workers: the stack output controlPlaneFlags is the flags as a command line has them", async () => {
    const ev = await evaluate(() => defineStack(planClusters([bootstrapCluster({ bootstrap: { signingHours: 48 } })]), { stack: "t" }));
    assert.deepEqual((await valueOf(ev.result.outputs.controlPlaneFlags)) as any, {
      t: {
        "kube-controller-manager": [
          "--cluster-signing-cert-file=/etc/kubernetes/pki/ca-signer.crt",
          "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key",
          "--cluster-signing-duration=48h",
          "--controllers=*,bootstrapsigner,tokencleaner",
          "--kube-api-qps=500",
          "--kube-api-burst=1000",
        ],
      },
    });
  });

  it("with publication.kubeadmConfig, kubeadm-config's controllerManager.extraArgs get the flags", async () => {
    const ev = await evaluate(
      () => defineStack(planClusters([bootstrapCluster({ publication: { kubeadmConfig: true } })]), { stack: "t" }),
      {
        extra: {
          read: async () => ({ metadata: { name: "kubeadm-config", namespace: "kube-system" }, data: { ClusterConfiguration: V1BETA4 } }),
        },
      },
    );
    const patch = find(ev, "kubernetes:core/v1:ConfigMapPatch", "t-publication-kubeadm-config");
    const args = parse((unwrapSecrets(patch.inputs) as any).data.ClusterConfiguration).controllerManager.extraArgs;
    assert.deepEqual(args, [
      { name: "bind-address", value: "0.0.0.0" },
      ...controllerManagerFlags({ workers: "bootstrap", bootstrap: { tokenHours: 168, signingHours: 72 } }),
    ]);
  });
});
