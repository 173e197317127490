// kube-pki's kubelet serving-certificate approver (approver/, Go): its policy's table tests run here, so `npm test`
// runs them; the real approver against a real control plane is test/cluster/approver.test.ts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { run } from "./e2e/proc";
import { planClusters } from "../components";
import { APPROVER_USER } from "../components/model/approverRbac";
import { clusterConfig } from "./support";

const APPROVER = join(__dirname, "..", "approver");
const GO = "/usr/local/go/bin/go";

describe("kube-pki-csr-approver (Go)", function () {
  this.timeout(900_000);

  it("go test ./... in approver/ passes, and its policy table ran (every approve and deny case)", async () => {
    const r = await run(GO, ["test", "-count=1", "-v", "./..."], {
      cwd: APPROVER,
      timeoutMs: 880_000,
      // As `npm run toolchain` compiled them (scripts/toolchain.sh, build_approver): the same flags, the same cache keys.
      env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=readonly", CGO_ENABLED: "0" },
    });
    assert.equal(r.code, 0, `go test failed:\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`);
    for (const t of [
      "TestDecide",
      "TestDecide/a_bootstrap_token_as_requester",
      "TestDecide/a_foreign_IP",
      "TestDecidedSkipsApprovedDeniedFailedAndIssued",
    ])
      assert.match(r.stdout, new RegExp(`--- PASS: ${t} `), `${t} did not run:\n${r.stdout.slice(-3000)}`);
  });

  it("the toolchain's kube-pki-csr-approver takes the flags the README and the systemd unit name", async () => {
    const r = await run("kube-pki-csr-approver", ["-h"], { timeoutMs: 30_000 });
    for (const flag of ["kubeconfig", "leader-elect", "qps", "burst", "workers", "healthz-bind-address"])
      assert.match(r.stderr, new RegExp(`-${flag}\\b`), `no -${flag} in:\n${r.stderr}`);
  });
});

describe("the approver's kubeconfig in the catalog", () => {
  const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKc0d2kaJ1rjbG5dNl5I6vvKyGFDDp0Q4z0FOh1lPdQ7";
  const plan = (workers: string) =>
    planClusters([clusterConfig("lab", 2, 1, { caKeys: "control-plane", workers, delivery: { mode: "local" } })])[0]!;

  it("workers: bootstrap issues kube-pki-csr-approver.conf per control-plane node (its user, no group, the node's own API server), pushed 0600 to that node only", () => {
    const { catalog } = plan("bootstrap");
    const certs = catalog.certificates.filter((c) => c.name === "kube-pki-csr-approver.conf");
    assert.deepEqual(
      certs.map((c) => [c.node, c.commonName, c.organizations, c.kubeconfig?.server]),
      [
        ["cp-1", APPROVER_USER, [], "https://10.0.0.11:6443"],
        ["cp-2", APPROVER_USER, [], "https://10.0.0.12:6443"],
      ],
    );
    const files = catalog.bundles.filter((b) => b.id.startsWith("kube-pki-csr-approver.conf"));
    assert.deepEqual(
      files.map((b) => [b.node, b.files.map((f) => [f.path, f.mode.toString(8)]), b.readers]),
      [
        ["cp-1", [["/etc/kubernetes/kube-pki-csr-approver.conf", "600"]], ["kube-pki-csr-approver"]],
        ["cp-2", [["/etc/kubernetes/kube-pki-csr-approver.conf", "600"]], ["kube-pki-csr-approver"]],
      ],
    );
  });

  it("workers: managed has no approver kubeconfig (a deployed managed stack gets no new resource)", () => {
    assert.deepEqual(
      plan("managed").catalog.certificates.filter((c) => c.name.startsWith("kube-pki-csr-approver")),
      [],
    );
  });

  it("over SSH its change restarts the approver one control-plane node at a time, with the default systemctl try-restart", () => {
    const p = planClusters([
      clusterConfig("lab", 2, 1, {
        caKeys: "control-plane",
        workers: "bootstrap",
        delivery: { mode: "ssh" },
        nodes: clusterConfig("lab", 2, 1).nodes.map((n: any) => ({ ...n, ssh: { hostKey: HOST_KEY } })),
      }),
    ])[0]!;
    const restarts = p.delivery.restarts.filter((r) => r.reader === "kube-pki-csr-approver");
    assert.deepEqual(
      restarts.map((r) => [r.node.name, r.command, r.previousNode ?? null]),
      [
        ["cp-1", "systemctl try-restart kube-pki-csr-approver", null],
        ["cp-2", "systemctl try-restart kube-pki-csr-approver", restarts[0]!.resourceName],
      ],
    );
  });
});
