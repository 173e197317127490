// kube-pki's kubelet serving-certificate approver (approver/, Go): its policy's table tests run here, so `npm test`
// runs them; the real approver against a real control plane is test/cluster/approver.test.ts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { run } from "./e2e/proc";

const APPROVER = join(__dirname, "..", "approver");
const GO = "/usr/local/go/bin/go";

describe("kube-pki-csr-approver (Go)", function () {
  this.timeout(900_000);

  it("go test ./... in approver/ passes, and its policy table ran (every approve and deny case)", async () => {
    const r = await run(GO, ["test", "-count=1", "-v", "./..."], {
      cwd: APPROVER,
      timeoutMs: 880_000,
      env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=readonly" },
    });
    assert.equal(r.code, 0, `go test failed:\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-3000)}`);
    for (const t of ["TestDecide", "TestDecide/a_bootstrap_token_as_requester", "TestDecide/a_foreign_IP", "TestDecidedSkipsApprovedDeniedFailedAndIssued"])
      assert.match(r.stdout, new RegExp(`--- PASS: ${t} `), `${t} did not run:\n${r.stdout.slice(-3000)}`);
  });

  it("the toolchain's kube-pki-csr-approver takes the flags the README and the systemd unit name", async () => {
    const r = await run("kube-pki-csr-approver", ["-h"], { timeoutMs: 30_000 });
    for (const flag of ["kubeconfig", "leader-elect", "qps", "burst", "workers", "healthz-bind-address"])
      assert.match(r.stderr, new RegExp(`-${flag}\\b`), `no -${flag} in:\n${r.stderr}`);
  });
});
