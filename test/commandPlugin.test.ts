// The command provider stand-in as the engine runs it (emulator/commandPlugin.ts started the way the toolchain's
// pulumi-resource-command wrapper starts it, driven over its gRPC interface as the engine drives it) with a remote
// command that logs in with `connection.privateKey`, against a loopback sshd. The deploy key must never reach a file:
// not while the plugin serves, not after the engine stops it with a signal (SIGINT; SIGTERM and SIGHUP alike), and a
// plugin killed outright (SIGKILL, no handler runs) leaves nothing the next one does not clear away.
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { chownSync, cpSync, existsSync, lstatSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { providerRpc } from "../emulator/sdkInternals";
import { makeTempDir } from "./e2e/proc";
import { SshCluster } from "./support-sshd";

const grpc = require("@grpc/grpc-js");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

const ROOT = join(__dirname, "..");
const SCRATCH = /^kube-pki-ssh-/;

interface Plugin {
  readonly child: ChildProcess;
  readonly client: any;
  readonly stderr: () => string;
}

/** Starts the plugin as scripts/toolchain.sh's wrapper does (node + ts-node from the project), with its own TMPDIR. */
async function startPlugin(tmp: string): Promise<Plugin> {
  const child = spawn(process.execPath, ["-r", "./node_modules/ts-node/register", "./emulator/commandPlugin.ts"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TMPDIR: tmp, TS_NODE_PROJECT: join(ROOT, "tsconfig.json"), TS_NODE_TRANSPILE_ONLY: "true" },
  });
  let err = "";
  child.stderr!.on("data", (b) => {
    err += b;
  });
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the plugin printed no port in 60 s:\n${err}`)), 60_000);
    child.stdout!.on("data", (b) => {
      out += b;
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolve(out.trim());
      }
    });
    child.once("exit", (code) => reject(new Error(`the plugin exited (${code}):\n${err}`)));
  });
  const client = new providerRpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return { child, client, stderr: () => err };
}

/** One Create of a `command:remote:Command`, as the engine sends it; resolves with the outputs. */
function create(p: Plugin, name: string, inputs: Record<string, unknown>): Promise<Record<string, any>> {
  const req = new providerRpc.CreateRequest();
  req.setUrn(`urn:pulumi:t::kube-pki::command:remote:Command::${name}`);
  req.setProperties(Struct.fromJavaScript(inputs));
  return new Promise((resolve, reject) =>
    p.client.create(req, (e: Error | null, r: any) =>
      e ? reject(new Error(`${e.message}\n${p.stderr()}`)) : resolve(r.getProperties().toJavaScript()),
    ),
  );
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

/** Every regular file under `dir` that holds a line of the key's base64 body. */
function filesHoldingKey(dir: string, key: string): string[] {
  const lines = key.split("\n").filter((l) => l && !l.startsWith("-----"));
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && lines.some((l) => readFileSync(p, "utf8").includes(l))) found.push(p);
    }
  };
  walk(dir);
  return found;
}

/** Pids of live ssh-agents whose command line names a path under `dir`. */
function agentsUnder(dir: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        const state = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "")[0];
        return state !== "Z" && cmd[0]!.endsWith("ssh-agent") && cmd.some((a) => a.startsWith(`${dir}/`));
      } catch {
        return false;
      } // gone meanwhile
    })
    .map(Number);
}

async function eventually(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what} (after ${ms} ms)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const scratchDirs = (tmp: string) => readdirSync(tmp).filter((n) => SCRATCH.test(n));

describe("command plugin: the deploy key (connection.privateKey) never lands in a file", function () {
  this.timeout(180_000);
  let cluster: SshCluster;
  let inputs: (command: string) => Record<string, unknown>;
  const plugins: Plugin[] = [];

  before(async () => {
    // Its own address and ports: other test runs on this machine use the default cluster's.
    cluster = await SshCluster.start({
      nodes: [{ name: "n-1", role: "worker", address: "127.0.0.71" }],
      port: 2271,
      apiServerPort: 16471,
      label: "plugin",
    });
    const n = cluster.node("n-1");
    inputs = (command) => ({
      create: command,
      connection: { host: n.address, port: n.port, user: "root", hostKey: n.hostKey, privateKey: cluster.clientKey },
    });
  });
  after(async () => {
    for (const p of plugins) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await cluster?.stop();
  });

  async function servingPlugin(tmp: string): Promise<Plugin> {
    const p = await startPlugin(tmp);
    plugins.push(p);
    const outs = await create(p, "push-apiserver", inputs("echo delivered"));
    assert.equal(outs.stdout?.value ?? outs.stdout, "delivered\n", "the remote command ran, logged in with the key");
    return p;
  }

  it("while the plugin serves: no file under its temp dir holds the key", async () => {
    const tmp = makeTempDir("plugin-serving");
    const p = await servingPlugin(tmp);
    assert.deepEqual(filesHoldingKey(tmp, cluster.clientKey), []);
    p.child.kill("SIGTERM");
    await exited(p.child);
  });

  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    it(`stopped with ${signal}: it dies of it and leaves no key, no scratch directory and no ssh-agent`, async () => {
      const tmp = makeTempDir(`plugin-${signal}`);
      const p = await servingPlugin(tmp);
      p.child.kill(signal);
      assert.deepEqual(await exited(p.child), { code: null, signal }, "ends as the signal's default action would");
      assert.deepEqual(filesHoldingKey(tmp, cluster.clientKey), []);
      assert.deepEqual(scratchDirs(tmp), []);
      await eventually("no ssh-agent left", () => agentsUnder(tmp).length === 0);
    });
  }

  it("killed outright (SIGKILL): the next plugin removes what it left, and only this user's dead plugins' directories", async () => {
    const tmp = makeTempDir("plugin-sweep");
    const running = await servingPlugin(tmp);
    const [runningDir] = scratchDirs(tmp);
    const killed = await servingPlugin(tmp);
    const killedDir = scratchDirs(tmp).find((d) => d !== runningDir)!;
    assert.equal(agentsUnder(join(tmp, killedDir)).length, 1, "the plugin about to be killed has its ssh-agent");
    killed.child.kill("SIGKILL");
    await exited(killed.child);
    assert.ok(existsSync(join(tmp, killedDir)), "the killed plugin left its scratch directory (no handler runs on SIGKILL)");
    // The same leftover owned by someone else: not this user's to remove.
    const foreign = join(tmp, `${killedDir}-foreign`);
    cpSync(join(tmp, killedDir), foreign, { recursive: true, filter: (f) => !lstatSync(f).isSocket() });
    chownSync(foreign, 65534, 65534);

    const next = await servingPlugin(tmp);
    // Its agent would end by itself 10 s after its parent; the next plugin stops it at once.
    await eventually("the dead plugin's ssh-agent is stopped", () => agentsUnder(join(tmp, killedDir)).length === 0, 2_000);
    assert.ok(!existsSync(join(tmp, killedDir)), "the dead plugin's directory is removed");
    assert.ok(existsSync(join(tmp, runningDir!)), "a running plugin's directory is kept");
    assert.equal(lstatSync(foreign).uid, 65534, "another user's directory is kept");
    assert.deepEqual(filesHoldingKey(tmp, cluster.clientKey), []);
    for (const p of [running, next]) {
      p.child.kill("SIGTERM");
      await exited(p.child);
    }
    rmSync(foreign, { recursive: true, force: true });
    await eventually("no ssh-agent left", () => agentsUnder(tmp).length === 0);
  });
});
