// End-to-end: openssl reads every certificate, key and kubeconfig of the e2e cluster the real engine delivered (test/e2e/rendered.ts)
// and checks it against the reference (test/e2e/expected.ts, written from docs/kubeadm.md): chains and purposes
// (`openssl verify -x509_strict -purpose`), names (`-verify_hostname`/`-verify_ip`, positive and negative), key
// pairs, CA flags, and that nothing verifies against the wrong CA. Every check runs over the whole cluster and
// reports every mismatch at once. The number of certificates and openssl invocations is printed at the end.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CA_NAMES, CaName, CAS, ExpectedCert, expectedCertificates, expectedFiles, expectedMode, operatorAdminConf } from "./expected";
import { describe as showRun, makeTempDir, mapLimit, removeTempDir, requireProgram, run, RunResult } from "./proc";
import { decodeKubeconfig, NODES, OPERATOR, Rendered, deployed } from "./rendered";

/** One certificate as openssl sees it: files on the host. */
interface Subject {
  readonly exp: ExpectedCert;
  readonly cert: string;
  readonly key?: string;
  /** The CA certificate that must verify it: the node's copy of its signer, or the kubeconfig's embedded CA. */
  readonly ca?: string;
}

/** What `openssl x509 -noout -subject -issuer -dates -ext …` prints, parsed. */
interface CertInfo {
  readonly subject: Record<string, string>;
  readonly issuer: Record<string, string>;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Extension name (e.g. "X509v3 Basic Constraints") → its value lines joined, without "critical". */
  readonly ext: Record<string, string>;
}

const CONCURRENCY = 8;
/**
 * RFC 5280 profile checks on top of chain verification (e.g. a leaf must carry an Authority Key Identifier, which the
 * tls provider always sets under a CA with an SKI, docs/tls-provider.md §7.4). Python ≥ 3.13 clients verify this way by
 * default (ssl.VERIFY_X509_STRICT), so a certificate failing it breaks real clients.
 */
const STRICT = ["-x509_strict"];

describe("e2e: openssl accepts the PKI pulumi up delivered", function () {
  this.timeout(300_000);
  let r: Rendered;
  let work: string;
  const subjects: Subject[] = [];
  const info = new Map<string, CertInfo>();
  const stats = { invocations: 0, cas: 0, leaves: 0, kubeconfigs: 0, keyPairs: 0, namesOk: 0, namesRefused: 0, wrongCa: 0, purposes: 0 };

  const openssl = async (args: string[]): Promise<RunResult> => {
    stats.invocations++;
    return run("openssl", args, { timeoutMs: 15_000 });
  };
  /** Runs `check` for every item and fails once with all problems it reported. */
  async function forAll<T>(items: readonly T[], check: (item: T, problems: string[]) => Promise<void>): Promise<void> {
    const problems: string[] = [];
    await mapLimit(items, CONCURRENCY, (item) => check(item, problems));
    if (problems.length > 0) assert.fail(`${problems.length} problem(s):\n${problems.join("\n")}`);
  }
  const signerFile = (node: string, ca: CaName) => r.file(node === OPERATOR ? "cp-1" : node, CAS[ca].path);

  before(async function () {
    await requireProgram("openssl", ["version"], "apt-get install openssl");
    r = await deployed();
    work = makeTempDir("openssl");
    // Kubeconfigs embed their client certificate, key and CA as base64 data: write them out for openssl, and trust
    // the embedded CA (what kubectl trusts), which another test compares with the node's ca.crt.
    for (const exp of [...expectedCertificates(), operatorAdminConf()]) {
      if (exp.kind !== "kubeconfig") {
        subjects.push({
          exp,
          cert: r.file(exp.node, exp.path),
          key: exp.keyPath && r.file(exp.node, exp.keyPath),
          ca: exp.signer && signerFile(exp.node, exp.signer),
        });
        continue;
      }
      const kc = decodeKubeconfig(r.read(exp.node, exp.path));
      const base = join(work, exp.id.replace(/[^A-Za-z0-9.-]/g, "_"));
      writeFileSync(`${base}.crt`, kc.certPem);
      writeFileSync(`${base}.key`, kc.keyPem, { mode: 0o600 });
      writeFileSync(`${base}.ca.crt`, kc.caPem);
      subjects.push({ exp, cert: `${base}.crt`, key: `${base}.key`, ca: `${base}.ca.crt` });
    }
    // Read every certificate once; the checks below use the parsed fields.
    await mapLimit(subjects, CONCURRENCY, async (s) => {
      const out = await openssl([
        "x509",
        "-in",
        s.cert,
        "-noout",
        "-subject",
        "-issuer",
        "-startdate",
        "-enddate",
        "-nameopt",
        "RFC2253",
        "-ext",
        "basicConstraints,keyUsage,extendedKeyUsage,subjectAltName",
      ]);
      assert.equal(out.code, 0, `${s.exp.id}: openssl cannot read ${s.cert}\n${showRun(out)}`);
      info.set(s.exp.id, parseInfo(out.stdout));
    });
    for (const s of subjects) stats[s.exp.kind === "ca" ? "cas" : s.exp.kind === "leaf" ? "leaves" : "kubeconfigs"]++;
  });

  after(function () {
    const total = stats.cas + stats.leaves + stats.kubeconfigs;
    console.log(
      `      openssl checked ${total} certificates (${stats.cas} CA copies, ${stats.leaves} leaf certificates, ` +
        `${stats.kubeconfigs} kubeconfig client certificates), ${stats.keyPairs} key pairs, ${stats.purposes} purpose checks, ` +
        `${stats.namesOk} names accepted + ${stats.namesRefused} refused, ${stats.wrongCa} wrong-CA refusals; ` +
        `${stats.invocations} openssl invocations`,
    );
    if (work) removeTempDir(work);
  });

  it("puts exactly the reference's files on every node, with the reference's modes and truthful manifests", async function () {
    const problems: string[] = [];
    for (const node of NODES) {
      const manifest = r.manifest(node.name);
      const have = manifest.map((e) => e.path).sort();
      const want = expectedFiles(node);
      for (const p of want.filter((p) => !have.includes(p))) problems.push(`${node.name}: missing ${p}`);
      for (const p of have.filter((p) => !want.includes(p))) problems.push(`${node.name}: unexpected ${p}`);
      for (const e of manifest) {
        const host = r.file(node.name, e.path);
        if (!existsSync(host)) {
          problems.push(`${node.name}: manifest lists ${e.path} but it was not written`);
          continue;
        }
        if (e.mode !== expectedMode(e.path)) problems.push(`${node.name}:${e.path} mode ${e.mode}, want ${expectedMode(e.path)}`);
        const sha = createHash("sha256").update(readFileSync(host)).digest("hex");
        if (sha !== e.sha256) problems.push(`${node.name}:${e.path} sha256 differs from the manifest`);
      }
    }
    if (problems.length > 0) assert.fail(`${problems.length} problem(s):\n${problems.join("\n")}`);
  });

  it("has three self-signed CAs (CA:TRUE, certSign), identical on every node that has them", async function () {
    await forAll(
      subjects.filter((s) => s.exp.kind === "ca"),
      async (s, problems) => {
        const i = info.get(s.exp.id)!;
        const bc = i.ext["X509v3 Basic Constraints"] ?? "";
        if (!/\bCA:TRUE\b/.test(bc)) problems.push(`${s.exp.id}: basicConstraints "${bc}", want CA:TRUE`);
        if (!(i.ext["X509v3 Key Usage"] ?? "").includes("Certificate Sign")) problems.push(`${s.exp.id}: keyUsage lacks Certificate Sign`);
        if (i.subject.CN !== s.exp.cn || i.issuer.CN !== s.exp.cn)
          problems.push(
            `${s.exp.id}: subject ${JSON.stringify(i.subject)} issuer ${JSON.stringify(i.issuer)}, want CN=${s.exp.cn} for both`,
          );
        checkSans(s, i, problems);
        checkValidity(s, i, problems);
        const self = await openssl(["verify", ...STRICT, "-CAfile", s.cert, s.cert]);
        if (self.code !== 0) problems.push(`${s.exp.id}: does not verify against itself\n${showRun(self)}`);
        const first = r.read("cp-1", s.exp.path);
        if (readFileSync(s.cert, "utf8") !== first) problems.push(`${s.exp.id}: differs from cp-1's ${s.exp.path}`);
      },
    );
  });

  it("gives every leaf and kubeconfig client certificate the reference's subject, usages and validity, and no CA flag", async function () {
    await forAll(
      subjects.filter((s) => s.exp.kind !== "ca"),
      async (s, problems) => {
        const i = info.get(s.exp.id)!;
        const { exp } = s;
        const wantSubject: Record<string, string> = exp.o ? { CN: exp.cn, O: exp.o } : { CN: exp.cn };
        if (JSON.stringify(sorted(i.subject)) !== JSON.stringify(sorted(wantSubject))) {
          problems.push(`${exp.id}: subject ${JSON.stringify(i.subject)}, want ${JSON.stringify(wantSubject)}`);
        }
        if (i.issuer.CN !== CAS[exp.signer!].cn)
          problems.push(`${exp.id}: issuer ${JSON.stringify(i.issuer)}, want CN=${CAS[exp.signer!].cn}`);
        if (/\bCA:TRUE\b/.test(i.ext["X509v3 Basic Constraints"] ?? "")) problems.push(`${exp.id}: a leaf with CA:TRUE`);
        const ku = i.ext["X509v3 Key Usage"] ?? "";
        if (!ku.includes("Digital Signature") || ku.includes("Certificate Sign")) problems.push(`${exp.id}: keyUsage "${ku}"`);
        const eku = (i.ext["X509v3 Extended Key Usage"] ?? "").split(/,\s*/).filter(Boolean).sort();
        const wantEku = [
          ...(exp.serverAuth ? ["TLS Web Server Authentication"] : []),
          ...(exp.clientAuth ? ["TLS Web Client Authentication"] : []),
        ].sort();
        if (JSON.stringify(eku) !== JSON.stringify(wantEku))
          problems.push(`${exp.id}: extendedKeyUsage ${JSON.stringify(eku)}, want ${JSON.stringify(wantEku)}`);
        checkSans(s, i, problems);
        checkValidity(s, i, problems);
      },
    );
  });

  it("verifies every leaf and kubeconfig client certificate against its own CA for its purposes, and not for the others", async function () {
    await forAll(
      subjects.filter((s) => s.exp.kind !== "ca"),
      async (s, problems) => {
        for (const [purpose, allowed] of [
          ["sslserver", s.exp.serverAuth],
          ["sslclient", s.exp.clientAuth],
        ] as const) {
          stats.purposes++;
          const v = await openssl(["verify", ...STRICT, "-CAfile", s.ca!, "-purpose", purpose, s.cert]);
          if (allowed && v.code !== 0) problems.push(`${s.exp.id}: does not verify for ${purpose}\n${showRun(v)}`);
          // openssl 3.0 says "unsuitable certificate purpose" (X509_V_ERR_INVALID_PURPOSE, error 26).
          if (!allowed && (v.code === 0 || !/(unsuitable|unsupported) certificate purpose/.test(v.stdout + v.stderr))) {
            problems.push(`${s.exp.id}: must not verify for ${purpose} (want an unsuitable-purpose error)\n${showRun(v)}`);
          }
        }
      },
    );
  });

  it("verifies every server certificate for each of its names and IPs, and refuses names it must not have", async function () {
    await forAll(
      subjects.filter((s) => s.exp.serverAuth),
      async (s, problems) => {
        const checks: [flag: string, name: string, ok: boolean][] = [
          ...s.exp.dns.map((n) => ["-verify_hostname", n, true] as [string, string, boolean]),
          ...s.exp.ips.map((n) => ["-verify_ip", n, true] as [string, string, boolean]),
          ...s.exp.notDns.map((n) => ["-verify_hostname", n, false] as [string, string, boolean]),
          ...s.exp.notIps.map((n) => ["-verify_ip", n, false] as [string, string, boolean]),
        ];
        assert.ok(checks.some((c) => c[2]) && checks.some((c) => !c[2]), `${s.exp.id}: expectations list no names`);
        for (const [flag, name, ok] of checks) {
          const v = await openssl(["verify", ...STRICT, "-CAfile", s.ca!, "-purpose", "sslserver", flag, name, s.cert]);
          if (ok) {
            stats.namesOk++;
            if (v.code !== 0) problems.push(`${s.exp.id}: not valid for ${name}\n${showRun(v)}`);
          } else {
            stats.namesRefused++;
            if (v.code === 0 || !/(hostname|IP address) mismatch/.test(v.stdout + v.stderr)) {
              problems.push(`${s.exp.id}: must not be valid for ${name} (want a mismatch error)\n${showRun(v)}`);
            }
          }
        }
      },
    );
  });

  it("has a private key matching every certificate (and sa.pub matching sa.key)", async function () {
    const pubOfKey = async (key: string) => openssl(["pkey", "-in", key, "-pubout"]);
    await forAll(
      subjects.filter((s) => s.key),
      async (s, problems) => {
        stats.keyPairs++;
        const [fromCert, fromKey] = await Promise.all([openssl(["x509", "-in", s.cert, "-noout", "-pubkey"]), pubOfKey(s.key!)]);
        if (fromCert.code !== 0 || fromKey.code !== 0) {
          problems.push(`${s.exp.id}: cannot read the public keys\n${showRun(fromCert)}\n${showRun(fromKey)}`);
        } else if (fromCert.stdout.trim() !== fromKey.stdout.trim()) {
          problems.push(`${s.exp.id}: the key ${s.key} does not belong to the certificate ${s.cert}`);
        }
      },
    );
    await forAll(
      NODES.filter((n) => n.role === "control-plane"),
      async (n, problems) => {
        stats.keyPairs++;
        const fromKey = await pubOfKey(r.file(n.name, "/etc/kubernetes/pki/sa.key"));
        const pub = await openssl(["pkey", "-pubin", "-in", r.file(n.name, "/etc/kubernetes/pki/sa.pub"), "-pubout"]);
        if (fromKey.code !== 0 || pub.code !== 0 || fromKey.stdout.trim() !== pub.stdout.trim()) {
          problems.push(`${n.name}: sa.pub is not the public half of sa.key\n${showRun(fromKey)}\n${showRun(pub)}`);
        }
        if (r.read(n.name, "/etc/kubernetes/pki/sa.key") !== r.read("cp-1", "/etc/kubernetes/pki/sa.key")) {
          problems.push(`${n.name}: sa.key differs from cp-1's (§5: identical on every control-plane node)`);
        }
      },
    );
  });

  it("refuses every certificate checked against a CA other than its own", async function () {
    await forAll(subjects, async (s, problems) => {
      for (const other of CA_NAMES.filter((c) => c !== (s.exp.signer ?? caNameOf(s.exp)))) {
        stats.wrongCa++;
        const v = await openssl(["verify", ...STRICT, "-CAfile", r.file("cp-1", CAS[other].path), s.cert]);
        if (v.code === 0 || !/unable to get local issuer certificate|self-signed certificate/.test(v.stdout + v.stderr)) {
          problems.push(`${s.exp.id}: must not verify against ${other} (want an untrusted-issuer error)\n${showRun(v)}`);
        }
      }
    });
  });

  it("embeds the node's cluster CA in every kubeconfig", async function () {
    await forAll(
      subjects.filter((s) => s.exp.kind === "kubeconfig"),
      async (s, problems) => {
        const nodeCa = r.read(s.exp.node === OPERATOR ? "cp-1" : s.exp.node, CAS.ca.path);
        if (readFileSync(s.ca!, "utf8").trim() !== nodeCa.trim())
          problems.push(`${s.exp.id}: certificate-authority-data is not the node's ca.crt`);
      },
    );
  });
});

function caNameOf(exp: ExpectedCert): CaName {
  return CA_NAMES.find((c) => CAS[c].path === exp.path)!;
}

function sorted(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
}

/** openssl prints IPv6 SANs in full ("0:0:0:0:0:0:0:1"); compare in the short form the reference uses. */
function shortIp(ip: string): string {
  if (!ip.includes(":")) return ip;
  return ip === "0:0:0:0:0:0:0:1" ? "::1" : ip.toLowerCase();
}

function checkSans(s: Subject, i: CertInfo, problems: string[]): void {
  const entries = (i.ext["X509v3 Subject Alternative Name"] ?? "").split(/,\s*/).filter(Boolean);
  const dns = entries
    .filter((e) => e.startsWith("DNS:"))
    .map((e) => e.slice(4))
    .sort();
  const ips = entries
    .filter((e) => e.startsWith("IP Address:"))
    .map((e) => shortIp(e.slice(11)))
    .sort();
  const other = entries.filter((e) => !e.startsWith("DNS:") && !e.startsWith("IP Address:"));
  const want = { dns: [...s.exp.dns].sort(), ips: [...s.exp.ips].sort() };
  if (JSON.stringify({ dns, ips }) !== JSON.stringify(want) || other.length > 0) {
    problems.push(`${s.exp.id}: SANs ${JSON.stringify({ dns, ips, other })}, want exactly ${JSON.stringify(want)}`);
  }
}

function checkValidity(s: Subject, i: CertInfo, problems: string[]): void {
  const hours = (i.notAfter.getTime() - i.notBefore.getTime()) / 3_600_000;
  // kubeadm backdates NotBefore by 5 minutes (§3), the tls provider cannot: accept either.
  if (Math.abs(hours - s.exp.validityHours) > 5 / 60 + 1 / 3600) {
    problems.push(`${s.exp.id}: valid for ${hours.toFixed(3)} h, want ${s.exp.validityHours} h`);
  }
  const now = Date.now();
  if (i.notBefore.getTime() > now + 60_000 || i.notAfter.getTime() < now)
    problems.push(`${s.exp.id}: not valid now (${i.notBefore.toISOString()} .. ${i.notAfter.toISOString()})`);
}

function parseDn(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function parseInfo(stdout: string): CertInfo {
  const lines = stdout.split("\n");
  const field = (prefix: string) => lines.find((l) => l.startsWith(prefix))?.slice(prefix.length) ?? "";
  const ext: Record<string, string> = {};
  let current: string | undefined;
  for (const line of lines) {
    const header = /^(X509v3 [^:]+):/.exec(line);
    if (header) {
      current = header[1]!;
      ext[current] = "";
      continue;
    }
    if (current && /^\s+/.test(line)) ext[current] = [ext[current], line.trim()].filter(Boolean).join(", ");
    else current = undefined;
  }
  return {
    subject: parseDn(field("subject=")),
    issuer: parseDn(field("issuer=")),
    notBefore: new Date(field("notBefore=")),
    notAfter: new Date(field("notAfter=")),
    ext,
  };
}
