// Shared helpers for tests that evaluate the real stack program under Pulumi's mock runtime.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTempDir } from "./e2e/proc";
import { defineStack, planClusters, StackProgram } from "../components";
import { evaluate, EvaluateOptions, Evaluation, RegisteredResource } from "../emulator/evaluate";
import { unwrapSecrets } from "../emulator/secrets";
import { TLS_TYPES } from "../emulator/tlsStandIn";

export const T = {
  key: TLS_TYPES.privateKey,
  csr: TLS_TYPES.certRequest,
  selfSigned: TLS_TYPES.selfSignedCert,
  signed: TLS_TYPES.locallySignedCert,
} as const;

export function runStack(raw: unknown, opts: EvaluateOptions = {}): Promise<Evaluation<StackProgram>> {
  return evaluate(() => defineStack(planClusters(raw)), opts);
}

export function find(ev: Evaluation<unknown>, type: string, name: string): RegisteredResource {
  const r = ev.resources.find((x) => x.type === type && x.name === name);
  assert.ok(
    r,
    `no ${type} named ${name}; have ${ev.resources
      .filter((x) => x.type === type)
      .map((x) => x.name)
      .join(", ")}`,
  );
  return r;
}

export const plain = (r: RegisteredResource): Record<string, any> => unwrapSecrets(r.inputs) as Record<string, any>;
export const plainState = (r: RegisteredResource): Record<string, any> => unwrapSecrets(r.state) as Record<string, any>;

/** A cluster of `cp` control-plane and `workers` worker nodes at 10.0.0.1x / 10.0.0.2x (or 10.x.y.z beyond 9). */
export function clusterConfig(name: string, cp: number, workers: number, extra: Record<string, unknown> = {}): any {
  const ip = (base: number, i: number) => `10.${base}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  return {
    name,
    serviceSubnet: "10.96.0.0/12",
    controlPlaneEndpoint: `api.${name}.example:6443`,
    apiServer: { certSANs: ["k8s.example.com", "192.0.2.10"] },
    nodes: [
      ...Array.from({ length: cp }, (_, i) => ({ name: `cp-${i + 1}`, role: "control-plane", address: ip(0, 10 + i) })),
      ...Array.from({ length: workers }, (_, i) => ({ name: `w-${i + 1}`, role: "worker", address: ip(1, i) })),
    ],
    ...extra,
  };
}

/** What protectCAs protects in a cluster, by resource name (sorted): the three CAs' key and certificate, and the service-account key. */
export const protectedByProtectCAs = (cluster: string) =>
  ["ca-cert", "ca-key", "etcd-ca-cert", "etcd-ca-key", "front-proxy-ca-cert", "front-proxy-ca-key", "sa-key"].map((r) => `${cluster}-${r}`);

/** A self-signed EC P-256 key (PKCS#8) and certificate made by `openssl req -x509 -newkey`; `addext`: extensions to add. */
export function opensslSelfSigned(cn: string, opts: { days?: number; addext?: string[] } = {}): { cert: string; key: string } {
  const dir = makeTempDir("self-signed");
  execFileSync(
    "openssl",
    [
      ..."req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes".split(" "),
      ...["-subj", `/CN=${cn}`, ...(opts.addext ?? []).flatMap((e) => ["-addext", e]), "-days", String(opts.days ?? 1)],
      ...["-keyout", join(dir, "k"), "-out", join(dir, "c")],
    ],
    { stdio: "pipe" },
  );
  return { cert: readFileSync(join(dir, "c"), "utf8"), key: readFileSync(join(dir, "k"), "utf8") };
}

/** A CA made by openssl (as kubeadm's would be on disk): certificate and key PEM. */
export function opensslCa(cn: string, opts: { rsaBits?: number; leaf?: boolean; days?: number } = {}): { cert: string; key: string } {
  const dir = makeTempDir("ca");
  const key = join(dir, "k");
  if (opts.rsaBits) execFileSync("openssl", ["genrsa", "-traditional", "-out", key, String(opts.rsaBits)], { stdio: "pipe" });
  else execFileSync("openssl", ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", key], { stdio: "pipe" });
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-new",
      "-key",
      key,
      "-subj",
      `/CN=${cn}`,
      "-days",
      String(opts.days ?? 3650),
      "-out",
      join(dir, "c"),
      "-addext",
      `basicConstraints=critical,CA:${opts.leaf ? "FALSE" : "TRUE"}`,
      "-addext",
      "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
    ],
    { stdio: "pipe" },
  );
  return { cert: readFileSync(join(dir, "c"), "utf8"), key: readFileSync(key, "utf8") };
}

/**
 * Runs a CLI script (scripts/<name>.ts) with `args`, its stdin a non-blocking pipe that is still empty when the tool
 * starts reading, as spawnSync and other callers hand stdin over: `input` is written only once the tool has exited
 * or waits idle (in poll) for it (`idle`: it did; a tool that spins on the empty pipe never does, for 60 s). A
 * synchronous read of such a stdin fails with EAGAIN, or spins.
 */
export async function runWithLateStdin(
  script: string,
  args: readonly string[],
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string; idle: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), "kube-pki-late-stdin-"));
  const fifo = join(dir, "stdin");
  execFileSync("mkfifo", [fifo]);
  const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const wr = openSync(fifo, constants.O_WRONLY);
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", join(__dirname, "..", "scripts", `${script}.ts`), ...args],
    {
      stdio: [rd, "pipe", "pipe"],
    },
  );
  closeSync(rd);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (b) => (stdout += b));
  child.stderr!.on("data", (b) => (stderr += b));
  const closed = new Promise<number | null>((r) => child.on("close", r));
  const waiting = () => /poll/.test(readFileSync(`/proc/${child.pid}/wchan`, "utf8"));
  let idle = false;
  for (let i = 0; i < 600 && child.exitCode === null && !(idle = waiting()); i++) await new Promise((r) => setTimeout(r, 100));
  if (child.exitCode === null) writeSync(wr, input);
  closeSync(wr);
  const code = await closed;
  rmSync(dir, { recursive: true, force: true });
  return { code, stdout, stderr, idle };
}
