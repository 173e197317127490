// In-cluster publication under the mock runtime: kubeadm-config's certSANs kept equal to the config (the rest of the
// ClusterConfiguration untouched), and Cluster API secrets in a management cluster: names, namespace, labels, type,
// data keys, secret-ness; CA keys only on opt-in.
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { defineStack, planClusters } from "../components";
import { withCertSANs } from "../components/model/kubeadmConfig";
import { evaluate, isWrappedSecret, unwrapSecrets } from "../emulator/evaluate";
import { clusterConfig, find, plainState, T } from "./support";

const LIVE_CLUSTER_CONFIGURATION = `apiServer:
  certSANs:
  - old.example.com
  extraArgs:
  - name: authorization-mode
    value: Node,RBAC
apiVersion: kubeadm.k8s.io/v1beta4
clusterName: kubernetes
controlPlaneEndpoint: api.t.example:6443
etcd:
  local:
    dataDir: /var/lib/etcd
kind: ClusterConfiguration
kubernetesVersion: v1.34.2
networking:
  serviceSubnet: 10.96.0.0/12
`;

const env = {
  stack: "t",
  secret: (k: string) => (k === "managementKubeconfig" ? pulumi.secret("apiVersion: v1\nkind: Config\n") : undefined),
};

describe("publication into Kubernetes (@pulumi/kubernetes)", () => {
  it("withCertSANs replaces only the SAN lists", () => {
    const out = parse(
      withCertSANs(LIVE_CLUSTER_CONFIGURATION, {
        apiServerCertSANs: ["a.example.com", "192.0.2.1"],
        etcdServerCertSANs: ["e.example.com"],
        etcdPeerCertSANs: [],
      }),
    );
    const before = parse(LIVE_CLUSTER_CONFIGURATION);
    assert.deepEqual(out.apiServer.certSANs, ["a.example.com", "192.0.2.1"]);
    assert.deepEqual(out.etcd.local, { dataDir: "/var/lib/etcd", serverCertSANs: ["e.example.com"], peerCertSANs: [] });
    assert.deepEqual(
      { ...out, apiServer: { ...out.apiServer, certSANs: undefined }, etcd: undefined },
      { ...before, apiServer: { ...before.apiServer, certSANs: undefined }, etcd: undefined },
    );
    assert.throws(
      () => withCertSANs("kind: InitConfiguration\n", { apiServerCertSANs: [], etcdServerCertSANs: [], etcdPeerCertSANs: [] }),
      /not ClusterConfiguration/,
    );
  });

  it("is off by default: no kubernetes resource at all", async () => {
    const ev = await evaluate(() => defineStack(planClusters([clusterConfig("t", 1, 1)]), env));
    assert.equal(ev.resources.filter((r) => r.type.startsWith("kubernetes:") || r.type === "pulumi:providers:kubernetes").length, 0);
  });

  it("keeps kube-system/kubeadm-config's certSANs equal to the config, through the cluster's own admin.conf", async () => {
    const reads: string[] = [];
    const raw = clusterConfig("t", 3, 1, { publication: { kubeadmConfig: true }, etcd: { serverCertSANs: ["etcd.example.com"] } });
    const ev = await evaluate(() => defineStack(planClusters([raw]), env), {
      extra: {
        read: async (args) => {
          reads.push(`${args.type} ${args.id}`);
          return {
            metadata: { name: "kubeadm-config", namespace: "kube-system" },
            data: { ClusterConfiguration: LIVE_CLUSTER_CONFIGURATION },
          };
        },
      },
    });
    assert.deepEqual(reads, ["kubernetes:core/v1:ConfigMap kube-system/kubeadm-config"]);
    const patch = find(ev, "kubernetes:core/v1:ConfigMapPatch", "t-publication-kubeadm-config");
    const inputs = unwrapSecrets(patch.inputs) as any;
    assert.deepEqual(inputs.metadata, {
      name: "kubeadm-config",
      namespace: "kube-system",
      annotations: { "pulumi.com/patchForce": "true" },
    });
    const cc = parse(inputs.data.ClusterConfiguration);
    assert.deepEqual(cc.apiServer.certSANs, ["k8s.example.com", "192.0.2.10"]);
    assert.deepEqual(cc.etcd.local.serverCertSANs, ["etcd.example.com"]);
    assert.equal(cc.kubernetesVersion, "v1.34.2");
    // The provider talks to the cluster with its admin.conf, which stays secret.
    const provider = find(ev, "pulumi:providers:kubernetes", "t-publication-workload");
    assert.ok(isWrappedSecret((provider.inputs as any).kubeconfig), "the workload kubeconfig is secret");
    assert.match(String(unwrapSecrets((provider.inputs as any).kubeconfig)), /current-context: kubernetes-admin@kubernetes/);
  });

  it("exports Cluster API secrets to the management cluster, secret, CA keys only on opt-in", async () => {
    for (const includeCaKeys of [false, true]) {
      const raw = clusterConfig("t", 1, 1, {
        publication: { managementCluster: { namespace: "capi-system", clusterName: "workload-1", includeCaKeys } },
      });
      const ev = await evaluate(() => defineStack(planClusters([raw]), env));
      const provider = find(ev, "pulumi:providers:kubernetes", "t-publication-management");
      assert.ok(isWrappedSecret((provider.inputs as any).kubeconfig));
      const secrets = ev.resources.filter((r) => r.type === "kubernetes:core/v1:Secret");
      assert.deepEqual(secrets.map((r) => (r.inputs as any).metadata.name).sort(), [
        "workload-1-ca",
        "workload-1-etcd",
        "workload-1-kubeconfig",
        "workload-1-proxy",
        "workload-1-sa",
      ]);
      for (const s of secrets) {
        const inputs = s.inputs as any;
        assert.equal(inputs.metadata.namespace, "capi-system");
        assert.deepEqual(inputs.metadata.labels, { "cluster.x-k8s.io/cluster-name": "workload-1" });
        assert.equal(inputs.type, "cluster.x-k8s.io/secret");
        assert.ok(isWrappedSecret(inputs.stringData), `${inputs.metadata.name}: stringData is secret`);
      }
      const data = (name: string) =>
        unwrapSecrets((secrets.find((r) => (r.inputs as any).metadata.name === name)!.inputs as any).stringData) as Record<string, string>;
      const caCert = plainState(find(ev, T.selfSigned, "t-ca-cert")).certPem;
      assert.equal(data("workload-1-ca")["tls.crt"], caCert);
      assert.deepEqual(Object.keys(data("workload-1-ca")).sort(), includeCaKeys ? ["tls.crt", "tls.key"] : ["tls.crt"]);
      if (includeCaKeys) assert.equal(data("workload-1-ca")["tls.key"], plainState(find(ev, T.key, "t-ca-key")).privateKeyPem);
      assert.deepEqual(Object.keys(data("workload-1-sa")).sort(), ["tls.crt", "tls.key"]);
      assert.match(data("workload-1-sa")["tls.crt"]!, /BEGIN PUBLIC KEY/);
      assert.match(data("workload-1-kubeconfig").value!, /kubernetes-admin@kubernetes/);
    }
  });

  it("a missing management kubeconfig is a config error before anything is registered", async () => {
    let error: unknown;
    const ev = await evaluate(() => {
      try {
        defineStack(planClusters([clusterConfig("t", 1, 1, { publication: { managementCluster: {} } })]), { stack: "t" });
      } catch (e) {
        error = e;
      }
    });
    assert.match(
      String(error),
      /clusters\[0\]\.publication\.managementCluster\.kubeconfigConfig: the secret stack config "kube-pki:managementKubeconfig" is not set/,
    );
    assert.equal(ev.resources.length, 0);
  });
  describe("defects found by the audit (issue 12)", () => {
    const sshEnv = {
      stack: "t",
      secret: (k: string) =>
        k === "sshPrivateKey" || k === "managementKubeconfig" ? pulumi.secret("apiVersion: v1\nkind: Config\n") : undefined,
    };
    const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFwu3NorCnke+4W3tWap/t5afXAhZDpmCfHUfqO8PhAV";
    const published = (publication: Record<string, unknown>) => {
      const raw = clusterConfig("t", 3, 1, { publication, delivery: { mode: "ssh" } });
      raw.nodes.forEach((n: any) => {
        n.ssh = { hostKey };
      });
      return evaluate(() => defineStack(planClusters([raw]), sshEnv), {
        extra: { read: async () => ({ data: { ClusterConfiguration: LIVE_CLUSTER_CONFIGURATION } }) },
      });
    };

    it("removing the kubeadm-config patch (publication off, cluster removed, destroy) leaves the ConfigMap as it was", async () => {
      const ev = await published({ kubeadmConfig: true });
      const patch = find(ev, "kubernetes:core/v1:ConfigMapPatch", "t-publication-kubeadm-config");
      // Deleting a ConfigMapPatch relinquishes the fields it manages, i.e. the whole ClusterConfiguration key.
      assert.equal((patch as any).retainOnDelete, true, "the patch is never deleted from the cluster");
    });

    it("Cluster API secrets are updated in place, not deleted and re-created", async () => {
      const ev = await published({ managementCluster: {} });
      const provider = find(ev, "pulumi:providers:kubernetes", "t-publication-management");
      assert.equal(unwrapSecrets((provider.inputs as any).enableSecretMutable), "true", "enableSecretMutable on the management provider");
    });

    it("publication runs after the whole rollout: every push and restart of the cluster", async () => {
      const ev = await published({ kubeadmConfig: true, managementCluster: {} });
      const rollout = ev.resources.filter((r) => /^t-.*-(push|restart)-/.test(r.name)).map((r) => r.urn);
      assert.ok(
        rollout.some((u) => u.includes("restart-kube-apiserver")),
        "the cluster has restarts",
      );
      const publication = ev.resources.filter((r) => r.type.startsWith("kubernetes:") || r.type === "pulumi:providers:kubernetes");
      assert.equal(publication.length, 8);
      for (const r of publication) {
        const missing = rollout.filter((u) => !r.dependencies.includes(u));
        assert.deepEqual(missing, [], `${r.name} does not wait for ${missing.length} rollout step(s)`);
      }
    });
  });
});
