// Benchmark (not a test): wall time and peak memory of the offline render (offline/render.ts: the stack program under
// Pulumi's mock runtime with the tls stand-in, plus writing every node's files) against, in the same run,
//   openssl       the classic script: one key + CSR + signed certificate per catalog entry with the openssl CLI,
//                 one command after another (genrsa / ecparam -genkey, req -new -addext subjectAltName, x509 -req
//                 -CA -CAkey -extfile with the same key usages, EKUs, basic constraints, AKI, SANs and validity);
//   openssl-2way  the same commands, CAs first, then the leaves split over two shells running side by side;
//   stand-in      the tls stand-in driven directly (same resources, same concurrency, no Pulumi, no files);
//   raw           the floor: node:crypto alone, generateKeyPair per key and crypto.sign over a buffer of the
//                 certificate's (and CSR's) TBS size per signature, all in flight at once as in the render;
//                 no ASN.1, no PEM, no files.
// Every variant makes exactly the certificates of planClusters(...)[0].catalog.certificates plus the
// service-account key: same subjects, SANs, usages, validity and key algorithm.
// Each measurement runs in its own child process: a node variant's peak RSS is the child's own maxRSS; the openssl
// variants' peak is the largest process of the script (/usr/bin/time -f %M over the shell, which folds in the
// maxrss of every waited-for descendant), their time the whole script.
//
// Usage: npx ts-node -T bench/render.ts [--quick] [--all] [--only <substring of "scenario variant">] [--json <file>]
//   default: {3 + 2, 3 + 1,000 workers} x {ECDSA-P256, RSA-2048} x every variant, except stand-in and openssl-2way
//   for 3 + 1,000 RSA-2048 (~2,040 RSA keys: ~4 + ~9 more minutes on 2 cores; --all runs them too). About 25 min.
//   --quick: 3 + 2 and 3 + 100 workers (about 2 min).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { CertificateSpec } from "../components";

type Variant = "render" | "stand-in" | "openssl" | "openssl-2way" | "raw";
const VARIANTS: readonly Variant[] = ["render", "stand-in", "openssl", "openssl-2way", "raw"];

/** One catalog entry, as every variant needs it. */
type CertJob = Pick<
  CertificateSpec,
  "id" | "kind" | "signer" | "commonName" | "dnsNames" | "ipAddresses" | "allowedUses" | "validityHours"
> & { readonly organization?: string };

interface Spec {
  readonly scenario: string;
  readonly keyAlgorithm: "ECDSA-P256" | "RSA-2048";
  readonly raw: unknown;
  readonly certificates: readonly CertJob[];
}

interface Result {
  scenario: string;
  variant: Variant;
  certificates: number;
  keys: number;
  seconds: number;
  peakRssMiB: number;
  /** How the peak was measured. */
  peakOf: string;
  /** RSS right before the measured work (node variants: runtime + loaded modules). */
  baseRssMiB?: number;
  /** Child process wall time including its start-up (ts-node, module loading). */
  processSeconds?: number;
  load1?: number;
  note?: string;
}

const MiB = (kib: number) => kib / 1024;
const elapsed = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

// ---- the clusters -------------------------------------------------------------------------------------------------

function cluster(workers: number, keyAlgorithm: Spec["keyAlgorithm"]): unknown {
  return {
    name: "bench",
    serviceSubnet: "10.96.0.0/12",
    controlPlaneEndpoint: "api.bench.example:6443",
    keyAlgorithm,
    nodes: [
      ...[1, 2, 3].map((i) => ({ name: `cp-${i}`, role: "control-plane", address: `10.0.0.${10 + i}` })),
      ...Array.from({ length: workers }, (_, i) => ({
        name: `w-${i + 1}`,
        role: "worker",
        address: `10.0.${1 + Math.floor(i / 250)}.${(i % 250) + 1}`,
      })),
    ],
  };
}

function makeSpec(scenario: string, workers: number, keyAlgorithm: Spec["keyAlgorithm"]): Spec {
  const { planClusters } = require("../components") as typeof import("../components");
  const raw = cluster(workers, keyAlgorithm);
  const [plan] = planClusters([raw]);
  const certificates = plan!.catalog.certificates.map((c): CertJob => ({
    id: c.id,
    kind: c.kind,
    signer: c.signer,
    commonName: c.commonName,
    organization: c.organizations[0],
    dnsNames: c.dnsNames,
    ipAddresses: c.ipAddresses,
    allowedUses: c.allowedUses,
    validityHours: c.validityHours,
  }));
  return { scenario, keyAlgorithm, raw, certificates };
}

// ---- variants (each in its own child process) ----------------------------------------------------------------------

function nodeResult(spec: Spec, variant: Variant, start: bigint, baseRssKiB: number, certificates: number, keys: number): Result {
  return {
    scenario: spec.scenario,
    variant,
    certificates,
    keys,
    seconds: elapsed(start),
    peakRssMiB: MiB(process.resourceUsage().maxRSS),
    peakOf: "child maxRSS",
    baseRssMiB: MiB(baseRssKiB),
  };
}

async function runRender(spec: Spec): Promise<Result> {
  const { renderClusters } = require("../offline/render") as typeof import("../offline/render");
  const out = mkdtempSync(join(tmpdir(), "bench-render-"));
  try {
    const base = process.resourceUsage().maxRSS;
    const start = process.hrtime.bigint();
    const [rendered] = await renderClusters([spec.raw], out);
    const r = nodeResult(spec, "render", start, base, rendered!.certificates, rendered!.certificates + 1);
    const files = Object.values(rendered!.nodes).reduce((n, e) => n + e.length, 0);
    r.note = `${files} files written`;
    return r;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The same tls resources the program registers, straight into the stand-in: CA key + self-signed cert first,
 * then every leaf's key, CSR and locally signed cert, all chains in flight at once (as Pulumi runs them). */
async function runStandIn(spec: Spec): Promise<Result> {
  const { TlsStandIn, TLS_TYPES } = require("../emulator/tlsStandIn") as typeof import("../emulator/tlsStandIn");
  const { privateKeyInputs } = require("../components/model/keyAlgorithm") as typeof import("../components/model/keyAlgorithm");
  const base = process.resourceUsage().maxRSS;
  const start = process.hrtime.bigint();
  const tls = new TlsStandIn();
  const keyInputs = { ...privateKeyInputs(spec.keyAlgorithm) };
  const plain = (v: unknown) => (v && typeof v === "object" && "value" in (v as object) ? (v as { value: unknown }).value : v);
  let certs = 0;
  let keys = 0;
  const newKey = async (name: string) => {
    keys++;
    return plain((await tls.newResource({ type: TLS_TYPES.privateKey, name, inputs: keyInputs })).state.privateKeyPem);
  };
  const cas = new Map<string, { certPem: unknown; keyPem: unknown }>();
  await Promise.all(
    spec.certificates
      .filter((c) => c.kind === "ca")
      .map(async (c) => {
        const keyPem = await newKey(`${c.id}-key`);
        const cert = await tls.newResource({
          type: TLS_TYPES.selfSignedCert,
          name: `${c.id}-cert`,
          inputs: {
            privateKeyPem: keyPem,
            subject: { commonName: c.commonName },
            dnsNames: [...c.dnsNames],
            isCaCertificate: true,
            allowedUses: [...c.allowedUses],
            validityPeriodHours: c.validityHours,
            earlyRenewalHours: 0,
          },
        });
        certs++;
        cas.set(c.id, { certPem: cert.state.certPem, keyPem });
      }),
  );
  await Promise.all([
    newKey("sa-key"),
    ...spec.certificates
      .filter((c) => c.kind !== "ca")
      .map(async (c) => {
        const keyPem = await newKey(`${c.id}-key`);
        const csr = await tls.newResource({
          type: TLS_TYPES.certRequest,
          name: `${c.id}-csr`,
          inputs: {
            privateKeyPem: keyPem,
            subject:
              c.organization === undefined ? { commonName: c.commonName } : { commonName: c.commonName, organization: c.organization },
            dnsNames: c.dnsNames.length > 0 ? [...c.dnsNames] : undefined,
            ipAddresses: c.ipAddresses.length > 0 ? [...c.ipAddresses] : undefined,
          },
        });
        const ca = cas.get(c.signer!)!;
        await tls.newResource({
          type: TLS_TYPES.locallySignedCert,
          name: `${c.id}-cert`,
          inputs: {
            certRequestPem: csr.state.certRequestPem,
            caCertPem: ca.certPem,
            caPrivateKeyPem: ca.keyPem,
            allowedUses: [...c.allowedUses],
            validityPeriodHours: c.validityHours,
            earlyRenewalHours: 720,
          },
        });
        certs++;
      }),
  ]);
  return nodeResult(spec, "stand-in", start, base, certs, keys);
}

/** node:crypto alone: a key pair per key, one signature per CSR and per certificate over a buffer of the size the
 * real TBS would have (SPKI + names + SANs + fixed fields). RSA keys and RSA signatures go to the libuv pool (as the
 * stand-in does), ECDSA signatures are inline. No ASN.1, no PEM, no files: the floor under any implementation. */
async function runRaw(spec: Spec): Promise<Result> {
  const crypto = require("node:crypto") as typeof import("node:crypto");
  type Key = import("node:crypto").KeyPairKeyObjectResult;
  const rsa = spec.keyAlgorithm === "RSA-2048";
  const base = process.resourceUsage().maxRSS;
  const start = process.hrtime.bigint();
  const generate = (): Promise<Key> =>
    new Promise((resolve, reject) => {
      const cb = (err: Error | null, publicKey: import("node:crypto").KeyObject, privateKey: import("node:crypto").KeyObject) =>
        err ? reject(err) : resolve({ publicKey, privateKey });
      if (rsa) crypto.generateKeyPair("rsa", { modulusLength: 2048, publicExponent: 0x10001 }, cb);
      else crypto.generateKeyPair("ec", { namedCurve: "prime256v1" }, cb);
    });
  const sign = (key: import("node:crypto").KeyObject, bytes: number): Promise<Buffer> => {
    const data = crypto.randomBytes(bytes);
    if (!rsa) return Promise.resolve(crypto.sign("sha256", data, key));
    return new Promise((resolve, reject) => crypto.sign("sha256", data, key, (e, s) => (e ? reject(e) : resolve(s))));
  };
  const spkiBytes = rsa ? 294 : 91;
  const nameBytes = (c: CertJob) => 13 + c.commonName.length + (c.organization ? 13 + c.organization.length : 0);
  const sanBytes = (c: CertJob) =>
    c.dnsNames.reduce((n, d) => n + d.length + 2, 0) + c.ipAddresses.reduce((n, ip) => n + (ip.includes(":") ? 18 : 6), 0);
  let certs = 0;
  let keys = 0;
  let signatures = 0;
  const cas = new Map<string, Key>();
  await Promise.all(
    spec.certificates
      .filter((c) => c.kind === "ca")
      .map(async (c) => {
        const key = await generate();
        keys++;
        await sign(key.privateKey, 120 + 2 * nameBytes(c) + spkiBytes + sanBytes(c) + 60);
        signatures++;
        certs++;
        cas.set(c.id, key);
      }),
  );
  await Promise.all([
    generate().then(() => {
      keys++;
    }),
    ...spec.certificates
      .filter((c) => c.kind !== "ca")
      .map(async (c) => {
        const key = await generate();
        keys++;
        await sign(key.privateKey, 30 + nameBytes(c) + spkiBytes + sanBytes(c)); // the CSR
        await sign(cas.get(c.signer!)!.privateKey, 170 + nameBytes(c) + 20 + spkiBytes + sanBytes(c)); // the certificate
        signatures += 2;
        certs++;
      }),
  ]);
  const r = nodeResult(spec, "raw", start, base, certs, keys);
  r.note = `${signatures} signatures`;
  return r;
}

// ---- openssl --------------------------------------------------------------------------------------------------------

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const subj = (c: CertJob) =>
  `${c.organization ? `/O=${c.organization.replace(/[/\\]/g, "\\$&")}` : ""}/CN=${c.commonName.replace(/[/\\]/g, "\\$&")}`;
const sanValue = (c: CertJob) => [...c.dnsNames.map((d) => `DNS:${d}`), ...c.ipAddresses.map((ip) => `IP:${ip}`)].join(",");
const days = (hours: number) => Math.ceil(hours / 24); // openssl 3.0 has -days only; the catalog's hours are whole days
const OPENSSL_USES: Record<string, [ku?: string, eku?: string]> = {
  digital_signature: ["digitalSignature"],
  key_encipherment: ["keyEncipherment"],
  cert_signing: ["keyCertSign"],
  server_auth: [undefined, "serverAuth"],
  client_auth: [undefined, "clientAuth"],
};
const serial = () => `0x${require("node:crypto").randomBytes(16).toString("hex")}`;

function genKey(spec: Spec, file: string): string {
  return spec.keyAlgorithm === "RSA-2048"
    ? `openssl genrsa -traditional -out ${file} 2048` // PKCS#1, as the provider's privateKeyPem
    : `openssl ecparam -genkey -name prime256v1 -noout -out ${file}`; // SEC1, as the provider's privateKeyPem
}

/** Extension lines for a certificate, the provider's set (§7.6): KU critical, EKU, BC critical, SKI on CAs only,
 * AKI from the issuer on leaves, SANs. */
function extLines(c: CertJob): string[] {
  const ku = c.allowedUses.map((u) => OPENSSL_USES[u]?.[0]).filter(Boolean);
  const eku = c.allowedUses.map((u) => OPENSSL_USES[u]?.[1]).filter(Boolean);
  const unknown = c.allowedUses.filter((u) => !OPENSSL_USES[u]);
  if (unknown.length > 0) throw new Error(`no openssl name for ${unknown.join(", ")}`);
  const ca = c.kind === "ca";
  return [
    ...(ku.length ? [`keyUsage=critical,${ku.join(",")}`] : []),
    ...(eku.length ? [`extendedKeyUsage=${eku.join(",")}`] : []),
    `basicConstraints=critical,CA:${ca ? "TRUE" : "FALSE"}`,
    ca ? "subjectKeyIdentifier=hash" : "subjectKeyIdentifier=none", // openssl 3 x509 -req would add an SKI otherwise
    ...(ca ? [] : ["authorityKeyIdentifier=keyid"]),
    ...(sanValue(c) ? [`subjectAltName=${sanValue(c)}`] : []),
  ];
}

/** The classic per-certificate script, as lines: CAs (+ SA key) and leaves separately, so they can be split. */
function opensslScript(spec: Spec): { head: string[]; leaves: string[][] } {
  const head: string[] = [];
  const caFile = new Map<string, string>();
  spec.certificates.forEach((c, i) => {
    if (c.kind !== "ca") return;
    const f = `ca${i}`;
    caFile.set(c.id, f);
    head.push(genKey(spec, `${f}.key`));
    head.push(
      `openssl req -x509 -new -key ${f}.key -subj ${q(subj(c))} -days ${days(c.validityHours)} -sha256 ` +
        `-set_serial ${serial()} ${extLines(c)
          .map((l) => `-addext ${q(l)}`)
          .join(" ")} -out ${f}.crt`,
    );
  });
  head.push(genKey(spec, "sa.key"), "openssl pkey -in sa.key -pubout -out sa.pub");
  const leaves = spec.certificates.flatMap((c, i) => {
    if (c.kind === "ca") return [];
    const f = `c${i}`;
    const ca = caFile.get(c.signer!)!;
    const san = sanValue(c);
    return [
      [
        genKey(spec, `${f}.key`),
        `openssl req -new -key ${f}.key -subj ${q(subj(c))}${san ? ` -addext ${q(`subjectAltName=${san}`)}` : ""} -out ${f}.csr`,
        `printf '%s\\n' ${extLines(c).map(q).join(" ")} > ${f}.ext`,
        `openssl x509 -req -in ${f}.csr -CA ${ca}.crt -CAkey ${ca}.key -set_serial ${serial()} -days ${days(c.validityHours)} ` +
          `-sha256 -extfile ${f}.ext -out ${f}.crt 2>/dev/null`, // "Certificate request self-signature ok" on stderr
      ],
    ];
  });
  return { head, leaves };
}

function runOpenssl(spec: Spec, ways: 1 | 2): Result {
  const variant: Variant = ways === 1 ? "openssl" : "openssl-2way";
  const dir = mkdtempSync(join(tmpdir(), "bench-openssl-"));
  try {
    // A config of our own: no distro defaults (req's v3_ca section) slip extensions in.
    writeFileSync(join(dir, "openssl.cnf"), "[req]\ndistinguished_name = dn\n[dn]\n");
    const { head, leaves } = opensslScript(spec);
    const script = (lines: string[]) => `set -e\ncd ${q(dir)}\n${lines.join("\n")}\n`;
    writeFileSync(join(dir, "head.sh"), script(head));
    const parts = Array.from({ length: ways }, (_, w) => leaves.filter((_, i) => i % ways === w).flat());
    parts.forEach((lines, w) => writeFileSync(join(dir, `leaves${w}.sh`), script(lines)));
    writeFileSync(
      join(dir, "all.sh"),
      ways === 1
        ? "set -e\nbash head.sh\nbash leaves0.sh\n"
        : "set -e\nbash head.sh\nbash leaves0.sh & a=$!\nbash leaves1.sh & b=$!\nwait $a\nwait $b\n",
    );
    const env = { ...process.env, OPENSSL_CONF: join(dir, "openssl.cnf") };
    const haveTime = existsSync("/usr/bin/time");
    const start = process.hrtime.bigint();
    const proc = haveTime
      ? spawnSync("/usr/bin/time", ["-f", "%M", "-o", join(dir, "time.txt"), "bash", join(dir, "all.sh")], {
          cwd: dir,
          env,
          encoding: "utf8",
        })
      : spawnSync("bash", [join(dir, "all.sh")], { cwd: dir, env, encoding: "utf8" });
    const seconds = elapsed(start);
    if (proc.status !== 0) throw new Error(`openssl script failed (${proc.status}): ${proc.stderr.slice(-2000)}`);
    const certs = readdirSync(dir).filter((f) => f.endsWith(".crt")).length;
    const keys = readdirSync(dir).filter((f) => f.endsWith(".key")).length;
    // One sample of each kind must verify against its CA (outside the timing).
    const sample = spec.certificates.findIndex((c) => c.kind === "leaf");
    const caIndex = spec.certificates.findIndex((c) => c.id === spec.certificates[sample]!.signer);
    const verify = spawnSync("openssl", ["verify", "-CAfile", `ca${caIndex}.crt`, `c${sample}.crt`], { cwd: dir, env, encoding: "utf8" });
    if (verify.status !== 0) throw new Error(`openssl verify failed: ${verify.stdout}${verify.stderr}`);
    const commands = head.length + leaves.reduce((n, l) => n + l.length - 1, 0); // printf is a shell builtin
    const peakKiB = haveTime
      ? Number(readFileSync(join(dir, "time.txt"), "utf8").trim().split("\n").pop())
      : process.resourceUsage().maxRSS;
    return {
      scenario: spec.scenario,
      variant,
      certificates: certs,
      keys,
      seconds,
      peakRssMiB: MiB(peakKiB),
      peakOf: haveTime ? "largest process (/usr/bin/time %M)" : "node driver maxRSS (no /usr/bin/time)",
      note: `${commands} openssl processes${ways === 2 ? ", leaves on 2 shells" : ""}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- driver ---------------------------------------------------------------------------------------------------------

async function child(variant: Variant, specFile: string): Promise<void> {
  const spec = JSON.parse(readFileSync(specFile, "utf8")) as Spec;
  const result =
    variant === "render"
      ? await runRender(spec)
      : variant === "stand-in"
        ? await runStandIn(spec)
        : variant === "raw"
          ? await runRaw(spec)
          : runOpenssl(spec, variant === "openssl" ? 1 : 2);
  console.log(JSON.stringify(result));
}

function measure(spec: Spec, specFile: string, variant: Variant): Result {
  const load1 = loadavg()[0]!;
  const start = process.hrtime.bigint();
  const proc = spawnSync(process.execPath, [...process.execArgv, __filename, "--child", variant, specFile], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
  });
  const processSeconds = elapsed(start);
  if (proc.status !== 0) throw new Error(`${spec.scenario} ${variant} failed (${proc.status}):\n${proc.stderr}`);
  const r = JSON.parse(proc.stdout.trim().split("\n").pop()!) as Result;
  const expected = spec.certificates.length;
  if (r.certificates !== expected || r.keys !== expected + 1) {
    throw new Error(
      `${spec.scenario} ${variant}: made ${r.certificates} certificates / ${r.keys} keys, expected ${expected} / ${expected + 1}`,
    );
  }
  return { ...r, processSeconds, load1 };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}x` : "-");

function printRow(r: Result): void {
  console.log(
    `${r.scenario.padEnd(24)} ${r.variant.padEnd(13)} ${pad(r.certificates, 6)} ${pad(r.keys, 6)} ` +
      `${pad(r.seconds.toFixed(2), 9)} ${pad(r.peakRssMiB.toFixed(0), 8)} ${pad(r.baseRssMiB?.toFixed(0) ?? "-", 6)} ` +
      `${pad(r.load1?.toFixed(1) ?? "-", 5)}  ${r.note ?? ""}`,
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--child") return child(args[1] as Variant, args[2]!);
  const quick = args.includes("--quick");
  const all = args.includes("--all");
  const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const only = flag("--only");
  const jsonOut = flag("--json");
  const workersList = quick ? [2, 100] : [2, 1000];
  const algorithms: Spec["keyAlgorithm"][] = ["ECDSA-P256", "RSA-2048"];
  const openssl = spawnSync("openssl", ["version"], { encoding: "utf8" }).stdout.trim();
  console.log(
    `bench-render ${new Date().toISOString()}: node ${process.version}, ${openssl}, ${cpus().length} CPUs ` +
      `(${cpus()[0]?.model ?? "?"}), UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? "4 (default)"}`,
  );
  console.log(
    `peak: node variants = the child's own maxRSS; openssl = the largest single process of the script ` +
      `(${existsSync("/usr/bin/time") ? "/usr/bin/time -f %M" : "NO /usr/bin/time: node driver maxRSS instead"}). ` +
      `wall: the work only (child start-up excluded). load = 1-min load average before the run.`,
  );
  console.log(
    `${"scenario".padEnd(24)} ${"variant".padEnd(13)} ${pad("certs", 6)} ${pad("keys", 6)} ${pad("wall s", 9)} ` +
      `${pad("peak MiB", 8)} ${pad("base", 6)} ${pad("load", 5)}  note`,
  );
  const results: Result[] = [];
  const work = mkdtempSync(join(tmpdir(), "bench-spec-"));
  try {
    for (const workers of workersList) {
      for (const alg of algorithms) {
        const scenario = `3+${workers} ${alg}`;
        const spec = makeSpec(scenario, workers, alg);
        const specFile = join(work, `${workers}-${alg}.json`);
        writeFileSync(specFile, JSON.stringify(spec));
        for (const variant of VARIANTS) {
          if (only && !`${scenario} ${variant}`.includes(only)) continue;
          if (!all && !quick && workers >= 1000 && alg === "RSA-2048" && (variant === "stand-in" || variant === "openssl-2way")) {
            console.log(`${scenario.padEnd(24)} ${variant.padEnd(13)} skipped (RSA key generation dominates; --all runs it)`);
            continue;
          }
          const r = measure(spec, specFile, variant);
          results.push(r);
          printRow(r);
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log("\nratios (render / other): wall time, peak memory");
  for (const scenario of [...new Set(results.map((r) => r.scenario))]) {
    const get = (v: Variant) => results.find((r) => r.scenario === scenario && r.variant === v);
    const render = get("render");
    const parts = (["openssl", "openssl-2way", "stand-in", "raw"] as const).map(
      (v) => `/${v} ${ratio(render?.seconds, get(v)?.seconds)} time, ${ratio(render?.peakRssMiB, get(v)?.peakRssMiB)} mem`,
    );
    console.log(`${scenario.padEnd(24)} ${parts.join("; ")}`);
  }
  if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
