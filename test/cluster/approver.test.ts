// kube-pki's kubelet serving-certificate approver (approver/) against a real control plane (test/cluster/
// approverLab.ts): run with the kubeconfig kube-pki issues for it and the RBAC of components/model/approverRbac.ts,
// it approves a node's own serving CSR (which the controller-manager then signs) and denies each forged kind with
// its reason in the Denied condition and an event.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { APPROVER_NAME, APPROVER_USER } from "../../components/model/approverRbac";
import { ApproverLab, Auth, SERVING } from "./approverLab";

const SERVER_USAGES = ["digital signature", "server auth"];

describe("kube-pki-csr-approver on a real control plane", function () {
  this.timeout(300_000);
  let lab: ApproverLab;
  let w1: Auth, w2: Auth;
  const token = "abcdef.0123456789abcdef";

  before(async function () {
    this.timeout(600_000);
    lab = await ApproverLab.start();
    await lab.createNode("w-1", "10.88.0.21");
    await lab.createNode("w-2", "10.88.0.22");
    w1 = lab.nodeClient("w-1");
    w2 = lab.nodeClient("w-2");
    // A bootstrap token that may create CSRs, as kubeadm's kubeadm:kubelet-bootstrap binding allows.
    await lab.kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "v1",
            kind: "Secret",
            type: "bootstrap.kubernetes.io/token",
            metadata: { name: "bootstrap-token-abcdef", namespace: "kube-system" },
            stringData: {
              "token-id": "abcdef",
              "token-secret": "0123456789abcdef",
              "usage-bootstrap-authentication": "true",
              "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token",
            },
          },
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRoleBinding",
            metadata: { name: "kubeadm:kubelet-bootstrap" },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:node-bootstrapper" },
            subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:bootstrappers:kubeadm:default-node-token" }],
          },
        ],
      }),
    );
    lab.startApprover();
  });
  after(async () => {
    await lab?.stop();
  });

  /** Asserts that CSR `name` is Denied by the approver with `reason` in its condition and in a Warning event. */
  async function assertDenied(name: string, reason: RegExp): Promise<void> {
    const csr = await lab.decided(name);
    const denied = csr.status.conditions.find((c: any) => c.type === "Denied");
    assert.ok(denied, `not denied: ${JSON.stringify(csr.status)}`);
    assert.equal(
      csr.status.conditions.some((c: any) => c.type === "Approved"),
      false,
    );
    assert.equal(denied.reason, "KubePkiDenied");
    assert.match(denied.message, reason);
    assert.equal(csr.status.certificate, undefined);
    let events: any[] = [];
    for (let i = 0; i < 50 && events.length === 0; i++) {
      events = JSON.parse(
        await lab.kubectl(["get", "events", "-n", "default", "--field-selector", `involvedObject.name=${name}`, "-o", "json"]),
      ).items;
      if (events.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(events.length, 1, `events of ${name}: ${JSON.stringify(events)}`);
    assert.equal(events[0].type, "Warning");
    assert.equal(events[0].reason, "KubePkiDenied");
    assert.equal(events[0].source.component, APPROVER_NAME);
    assert.match(events[0].message, reason);
  }

  it("its user may approve and deny kubelet-serving CSRs only: not another signer's, not create CSRs, not read secrets or list nodes", async () => {
    /** A SubjectAccessReview for the approver's user, as the API server authorizes its requests. */
    const allowed = async (verb: string, group: string, resource: string, name?: string, namespace?: string, subresource?: string) => {
      const attributes = { verb, group, resource, name, namespace, subresource };
      const review = {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: { user: APPROVER_USER, resourceAttributes: attributes },
      };
      return JSON.parse(await lab.kubectl(["create", "-f", "-", "-o", "json"], JSON.stringify(review))).status.allowed as boolean;
    };
    const certs = "certificates.k8s.io";
    assert.equal(await allowed("approve", certs, "signers", SERVING), true);
    assert.equal(await allowed("update", certs, "certificatesigningrequests", "any", undefined, "approval"), true);
    assert.equal(await allowed("update", certs, "certificatesigningrequests", "any", undefined, "status"), false);
    assert.equal(await allowed("approve", certs, "signers", "kubernetes.io/kube-apiserver-client-kubelet"), false);
    assert.equal(await allowed("approve", certs, "signers", "kubernetes.io/kube-apiserver-client"), false);
    assert.equal(await allowed("create", certs, "certificatesigningrequests"), false);
    assert.equal(await allowed("get", "", "secrets", undefined, "kube-system"), false);
    assert.equal(await allowed("list", "", "nodes"), false);
    assert.equal(await allowed("update", "coordination.k8s.io", "leases", "kube-controller-manager", "kube-system"), false);
  });

  it("a node's own serving CSR (hostname and InternalIP) is approved, then signed by the controller-manager; the approver holds its Lease", async () => {
    await lab.submit(w1, "w-1-serving", lab.servingRequest("system:node:w-1", { dns: ["w-1"], ip: ["10.88.0.21"] }), SERVER_USAGES);
    const csr = await lab.decided("w-1-serving", true);
    const approved = csr.status.conditions.find((c: any) => c.type === "Approved");
    assert.equal(approved?.reason, "KubePkiApproved", JSON.stringify(csr.status.conditions));
    assert.equal(csr.spec.username, "system:node:w-1");
    const cert = new X509Certificate(Buffer.from(csr.status.certificate, "base64"));
    assert.ok(cert.verify(new X509Certificate(readFileSync(lab.path("etc/kubernetes/pki/ca-signer.crt"))).publicKey));
    assert.equal(cert.subjectAltName, "DNS:w-1, IP Address:10.88.0.21");
    const lease = JSON.parse(await lab.kubectl(["get", "lease", "-n", "kube-system", APPROVER_NAME, "-o", "json"]));
    assert.match(lease.spec.holderIdentity, /_/);
  });

  it("forged: another node's name and address (w-2 asks for a certificate for w-1) is denied", async () => {
    // NodeRestriction already refuses a node's CSR with another node's CN (v1.36); its SANs are the approver's to check.
    await lab.submit(w2, "forged-other-node", lab.servingRequest("system:node:w-2", { dns: ["w-1"], ip: ["10.88.0.21"] }), SERVER_USAGES);
    await assertDenied("forged-other-node", /DNS name "w-1" is not a Hostname, InternalDNS or ExternalDNS address of Node "w-2"/);
  });

  it("forged: an extra DNS SAN is denied", async () => {
    const request = lab.servingRequest("system:node:w-1", { dns: ["w-1", "kubernetes.default.svc"], ip: ["10.88.0.21"] });
    await lab.submit(w1, "forged-extra-san", request, SERVER_USAGES);
    await assertDenied(
      "forged-extra-san",
      /DNS name "kubernetes.default.svc" is not a Hostname, InternalDNS or ExternalDNS address of Node "w-1"/,
    );
  });

  it("forged: an IP that is not the Node's (w-2's address in w-1's CSR) is denied", async () => {
    await lab.submit(w1, "forged-foreign-ip", lab.servingRequest("system:node:w-1", { dns: ["w-1"], ip: ["10.88.0.22"] }), SERVER_USAGES);
    await assertDenied("forged-foreign-ip", /IP address 10.88.0.22 is not an InternalIP or ExternalIP address of Node "w-1"/);
  });

  it("forged: client auth usage is denied", async () => {
    await lab.submit(w1, "forged-client-usage", lab.servingRequest("system:node:w-1", { dns: ["w-1"] }), [...SERVER_USAGES, "client auth"]);
    await assertDenied(
      "forged-client-usage",
      /usages \[client auth digital signature server auth\] are not \[digital signature server auth\]/,
    );
  });

  it("forged: a bootstrap token as requester is denied", async () => {
    await lab.submit({ token }, "forged-bootstrap-token", lab.servingRequest("system:node:w-1", { dns: ["w-1"] }), SERVER_USAGES);
    await assertDenied("forged-bootstrap-token", /requested by "system:bootstrap:abcdef".*not by a node/);
  });
});
