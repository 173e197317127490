// A team and its CI sharing one stack's state in PostgreSQL (the CLI's DIY backend, pkg/backend/diy/postgres), with
// the real CLI and kube-pki's program on a one-node cluster (local delivery), against a throwaway TLS-only server
// (test/support-postgres.ts) with the README's two roles. Interleavings are forced, not raced: a `flock` shim first on
// PATH (every install of the node program takes its node lock through it) holds each install while a `hold` file
// exists, with the update running and its lock row written.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, run } from "../e2e/proc";
import { clusterConfig } from "../support";
import { PostgresServer } from "../support-postgres";
import { changedSteps, CliResult, describeRun, Workspace } from "./workspace";

/** The deploy role's schema for stack `t` (README "CI/CD"). */
const SCHEMA = "kube_pki_t";

/** A `flock` that waits while `<dir>/hold` exists (after touching `<dir>/reached`), then runs the real one. */
async function flockShim(): Promise<{ dir: string; hold(): void; release(): void; reached(): Promise<void> }> {
  const dir = makeTempDir("flock-shim");
  const real = (await run("sh", ["-c", "command -v flock"])).stdout.trim();
  assert.ok(real, "flock (util-linux) is installed");
  writeFileSync(
    join(dir, "flock"),
    `#!/bin/sh\nif [ -e '${dir}/hold' ]; then : > '${dir}/reached'; while [ -e '${dir}/hold' ]; do sleep 0.05; done; fi\nexec '${real}' "$@"\n`,
    { mode: 0o755 },
  );
  return {
    dir,
    hold: () => {
      rmSync(join(dir, "reached"), { force: true });
      writeFileSync(join(dir, "hold"), "");
    },
    release: () => rmSync(join(dir, "hold"), { force: true }),
    reached: async () => {
      for (let i = 0; !existsSync(join(dir, "reached")); i++) {
        if (i > 1200) throw new Error("no install reached its node lock within 120 s");
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

/** Every process below `pid` (from /proc's parent links), at this moment. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      // Field 4 of stat, after the parenthesised command name (which may hold spaces).
      parent.set(
        Number(p),
        Number(
          readFileSync(`/proc/${p}/stat`, "utf8")
            .replace(/^.*\) /s, "")
            .split(" ")[1],
        ),
      );
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  for (let frontier = [pid]; frontier.length;) {
    frontier = [...parent].filter(([, pp]) => frontier.includes(pp)).map(([p]) => p);
    out.push(...frontier);
  }
  return out;
}

describe("engine: a team's shared PostgreSQL backend (real CLI, TLS, a deploy and a read-only preview role)", function () {
  this.timeout(600_000);
  let pg: PostgresServer;
  let ws: Workspace;
  let shim: Awaited<ReturnType<typeof flockShim>>;
  const sans = ["k8s.example.com"];
  const config = () => [
    clusterConfig("pg", 1, 0, { apiServer: { certSANs: [...sans] }, delivery: { mode: "local", localDirectory: "out" } }),
  ];
  const deploy = () => ({ ...pg.env("deploy"), PATH: `${shim.dir}:${ws.env.PATH}` });
  const preview = () => pg.env("preview");
  const apiserverCrt = () => new X509Certificate(readFileSync(join(ws.dir, "out/pg/cp-1/etc/kubernetes/pki/apiserver.crt")));
  const locks = () => pg.ok("deploy", "SELECT count(*) FROM pulumi_state WHERE key LIKE '%.pulumi/locks/%'");
  /** The deploy table as the preview role sees it, digested (what a refused write would have changed). */
  const tableDigest = () => pg.ok("preview", `SELECT md5(string_agg(key || data::text, ',' ORDER BY key)) FROM ${SCHEMA}.pulumi_state`);
  const deployment = async () => (await ws.exportState("t", { env: deploy() })).deployment;
  const urns = (xs: { urn: string }[]) => xs.map((x) => x.urn).sort();
  const refused = (r: CliResult, why: RegExp) => {
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stdout + r.stderr, why, describeRun(r));
  };

  before(async () => {
    pg = await PostgresServer.start("t");
    ws = await Workspace.create("postgres", { t: config() });
    shim = await flockShim();
    await ws.ok(["stack", "init", "t", "--non-interactive"], { env: deploy() });
  });

  after(async () => {
    shim?.release();
    await pg?.stop();
  });

  it("two ups at once: the second is refused by the first's lock (a read-only preview still runs); the first completes whole", async () => {
    const t0 = Date.now();
    shim.hold();
    const first = ws.up("t", [], { env: deploy() });
    await shim.reached();
    assert.equal(await locks(), "1", "the running up holds its lock row");
    refused(await ws.up("t", [], { env: deploy() }), /the stack is currently locked by 1 lock\(s\)[\s\S]*pulumi cancel/);
    // A preview neither takes nor checks the lock (diyBackend.Preview): the PR preview runs beside the update.
    await pg.ok("preview", "REFRESH MATERIALIZED VIEW pulumi_state");
    const during = await ws.preview("t", [], { env: preview() });
    assert.equal(during.exitCode, 0, JSON.stringify(during.diagnostics));
    shim.release();
    const r = await first;
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await locks(), "0");
    assert.match(apiserverCrt().subjectAltName!, /DNS:k8s\.example\.com/);
    // Nothing lost: the state holds every resource the preview planned, no more, nothing pending.
    const state = await deployment();
    const made = state.resources.filter((r: any) => !r.type.startsWith("pulumi:providers:"));
    assert.deepEqual(urns(made), urns(during.steps), `${made.length} resources`);
    assert.deepEqual(state.pending_operations ?? [], []);
    console.log(`      ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  it("an up killed mid-update keeps its lock; pulumi cancel, refresh, and the next up converge", async () => {
    const t0 = Date.now();
    sans.push("killed.example.com");
    ws.writeStack("t", config());
    shim.hold();
    let pid = 0;
    const killed = ws.up("t", [], { env: deploy(), checkpoints: true, onSpawn: (p) => (pid = p) });
    await shim.reached();
    // The runner dies: the CLI and every process it started (the plugins and their held installs, which the engine
    // may have put in process groups of their own).
    // A process may exit between the listing and its kill (a plugin whose engine just died): ESRCH is that, not an
    // error.
    for (const p of [pid, ...descendants(pid)]) {
      try {
        process.kill(p, "SIGKILL");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
      }
    }
    await killed;
    shim.release();
    assert.equal(await locks(), "1", "a killed up leaves its lock row");
    assert.doesNotMatch(apiserverCrt().subjectAltName!, /killed\.example\.com/, "nothing was swapped in");
    refused(await ws.up("t", [], { env: deploy() }), /the stack is currently locked by 1 lock\(s\)/);
    await ws.ok(["cancel", "--yes", "--stack", "t", "--non-interactive"], { env: deploy() });
    assert.equal(await locks(), "0");
    const pending = (await deployment()).pending_operations ?? [];
    assert.ok(pending.length > 0, "the killed up's checkpoint records its unfinished pushes");
    await ws.ok(["refresh", "--yes", "--stack", "t", "--non-interactive", "--skip-preview", "--clear-pending-creates"], { env: deploy() });
    assert.deepEqual((await deployment()).pending_operations ?? [], [], "refresh cleared them");
    const r = await ws.up("t", [], { env: deploy() });
    assert.equal(r.code, 0, describeRun(r));
    assert.match(apiserverCrt().subjectAltName!, /DNS:killed\.example\.com/);
    assert.equal(await locks(), "0");
    console.log(`      pending after the kill: ${pending.map((p: any) => `${p.type} ${p.resource.urn.split("::").pop()}`).join(", ")}`);
    console.log(`      ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  it("the read-only role: the PR preview shows the change; its up is refused by PostgreSQL, the state unchanged", async () => {
    const t0 = Date.now();
    sans.push("pr.example.com");
    ws.writeStack("t", config());
    await pg.ok("preview", "REFRESH MATERIALIZED VIEW pulumi_state");
    const before = await tableDigest();
    const pr = await ws.preview("t", [], { env: preview() });
    assert.equal(pr.exitCode, 0, JSON.stringify(pr.diagnostics));
    assert.deepEqual(changedSteps(pr), [
      "replace tls:index/certRequest:CertRequest::pg-apiserver-cp-1-csr",
      "replace tls:index/locallySignedCert:LocallySignedCert::pg-apiserver-cp-1-cert",
      "update command:local:Command::pg-cp-1-push-apiserver",
    ]);
    refused(await ws.up("t", [], { env: preview() }), /cannot change materialized view "pulumi_state"/);
    assert.equal(await tableDigest(), before, "the deploy table is unchanged");
    assert.doesNotMatch(apiserverCrt().subjectAltName!, /pr\.example\.com/);
    const direct = await pg.psql("preview", `DELETE FROM ${SCHEMA}.pulumi_state`);
    assert.match(direct.stderr, /permission denied for table pulumi_state/);
    console.log(`      ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});
