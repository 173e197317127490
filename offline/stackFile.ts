// Reads a stack's config file (stacks/Pulumi.<stack>.yaml, or any file in that format) without the Pulumi CLI, for
// the offline render, the cert diff and the tests. Only plain values are read: the PKI config holds no secrets.
// Errors are one line each and name the file (and the line and column, and the config path where there is one).
//
// Pulumi reads stack files with Go's gopkg.in/yaml.v3, which still resolves YAML 1.1 forms (0720 is octal 464, 1_000
// is 1000, 0b101 is 5, 2001-12-14 is a date, `<<` merges); the `yaml` package here, like most YAML 1.2 readers,
// reads them as 720 or as text. A value that the two read differently is refused, so `render --check` and the cert
// diff never validate a config other than the one `pulumi up` deploys (test/stackFile.test.ts feeds the same files to
// the real CLI).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar } from "yaml";
import { suggestion } from "../components/model/config";

export const PROJECT = "kube-pki";
export const STACKS_DIR = resolve(__dirname, "..", "stacks");
/** Where Pulumi.yaml is: a cluster's workersFile is relative to it, as for the program that pulumi up runs there. */
export const PROJECT_DIR = resolve(__dirname, "..");
const CLUSTERS_KEY = `${PROJECT}:clusters`;

export function stackNames(dir = STACKS_DIR): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: no such directory (the stack files live in stacks/)`);
  return readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => !!s)
    .sort();
}

/** Parses a stack file's text and returns its `kube-pki:*` config values (without the prefix). */
export function parseStackConfig(text: string, source: string): Record<string, unknown> {
  const { config, refused } = readStackText(text, source);
  if (refused.length) throw new Error(refused.join("\n"));
  return config;
}

/**
 * A stack file's `kube-pki:*` values as this package reads them, and one message for each value Pulumi reads
 * differently (`refused`; the values are to be used only when there is none). Syntax errors and a file that is not
 * a stack file throw.
 */
export function readStackText(text: string, source: string): { config: Record<string, unknown>; refused: string[] } {
  const lineCounter = new LineCounter();
  // The YAML 1.2 core schema whatever a %YAML directive says: Pulumi's reader ignores the directive.
  const doc = parseDocument(text, { lineCounter, schema: "core" });
  const error = doc.errors[0];
  if (error) {
    const line = error.linePos?.[0];
    throw new Error(
      `${source}${line ? `:${line.line}:${line.col}` : ""}: not valid YAML: ${error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`,
    );
  }
  const root = doc.toJS() as { config?: unknown } | null;
  if (root !== null && (typeof root !== "object" || Array.isArray(root)))
    throw new Error(`${source}: not a Pulumi stack file (a YAML mapping with config:)`);
  const config = (root?.config ?? {}) as Record<string, unknown>;
  if (typeof config !== "object" || Array.isArray(config))
    throw new Error(`${source}: config must be a mapping of "<project>:<key>" to values`);
  const configNode = doc.get("config", true);
  const out: Record<string, unknown> = {};
  const refused: string[] = [];
  for (const [rawKey, value] of Object.entries(config)) {
    // Pulumi reads a key without a namespace as the project's own.
    const key = rawKey.includes(":") ? rawKey : `${PROJECT}:${rawKey}`;
    if (!key.startsWith(`${PROJECT}:`)) continue;
    const encrypted = !!value && typeof value === "object" && "secure" in (value as object);
    // Secrets such as the SSH key are encrypted by `pulumi config set --secret`; the offline tools never need them.
    if (encrypted && key === CLUSTERS_KEY) {
      throw new Error(`${source}: ${key} is encrypted; the offline tools need it in plain text (it holds no secret)`);
    }
    if (encrypted) continue;
    out[key.slice(PROJECT.length + 1)] = value;
    const pair = isMap(configNode) ? configNode.items.find((p) => isScalar(p.key) && String(p.key.value) === rawKey) : undefined;
    if (pair)
      unlikePulumi(doc, pair.value, key, (node, problem) => {
        const at = lineCounter.linePos(node.range?.[0] ?? 0);
        refused.push(`${source}:${at.line}:${at.col}: ${problem}`);
      });
  }
  if (out.clusters === undefined) {
    const near = suggestion(Object.keys(config), CLUSTERS_KEY, (k) => k.replace(/[-_]/g, ""));
    throw new Error(`${source}: no ${CLUSTERS_KEY} in config${near ? ` (did you mean "${CLUSTERS_KEY}" instead of "${near}"?)` : ""}`);
  }
  // The program reads the clusters with config.getObject, which parses a string value as JSON.
  if (typeof out.clusters === "string") {
    try {
      out.clusters = JSON.parse(out.clusters);
    } catch (e) {
      throw new Error(`${source}: ${CLUSTERS_KEY} is a string, which Pulumi reads as JSON: ${(e as Error).message}`, { cause: e });
    }
  }
  return { config: out, refused };
}

/** What Pulumi makes of a date: Go's time text ("2001-12-14 00:00:00 +0000 UTC"), not the text written. */
const DATE = Symbol("a date");
type GoValue = null | boolean | number | string | typeof DATE;

const GO_WORDS: Record<string, GoValue> = {
  "": null,
  "~": null,
  null: null,
  Null: null,
  NULL: null,
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
  ".nan": NaN,
  ".NaN": NaN,
  ".NAN": NaN,
  ".inf": Infinity,
  ".Inf": Infinity,
  ".INF": Infinity,
  "+.inf": Infinity,
  "+.Inf": Infinity,
  "+.INF": Infinity,
  "-.inf": -Infinity,
  "-.Inf": -Infinity,
  "-.INF": -Infinity,
};
const GO_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const GO_DATE =
  /^(\d{4})-(\d\d?)-(\d\d?)(?:(?:[Tt](\d\d?):(\d\d?):(\d\d?)(?:[.,]\d+)?(?:Z|[-+]\d\d:\d\d))|(?: (\d\d?):(\d\d?):(\d\d?)(?:[.,]\d+)?))?$/;

/** Go's strconv.ParseInt(s, base, 64), or ParseUint without `signed`; base 0 takes 0x, 0o, 0b and a leading 0 (octal). */
function goInt(s: string, base: number, signed = true): bigint | undefined {
  const sign = signed && /^[-+]/.test(s) ? s[0]! : "";
  let digits = s.slice(sign.length).toLowerCase();
  if (base === 0) {
    const prefixed = /^0[xob]./.test(digits);
    base = prefixed ? { x: 16, o: 8, b: 2 }[digits[1] as "x"] : /^0./.test(digits) ? 8 : 10;
    digits = digits.slice(prefixed ? 2 : base === 8 ? 1 : 0);
  }
  const alphabet = "0123456789abcdef".slice(0, base);
  if (!digits || [...digits].some((c) => !alphabet.includes(c))) return undefined;
  const magnitude = [...digits].reduce((n, c) => n * BigInt(base) + BigInt(alphabet.indexOf(c)), 0n);
  const n = sign === "-" ? -magnitude : magnitude;
  return (signed ? BigInt.asIntN(64, n) === n : BigInt.asUintN(64, n) === n) ? n : undefined;
}

/** A valid date and time of day, as Go's time.Parse checks them. */
function goDate(s: string): boolean {
  const m = GO_DATE.exec(s);
  if (!m) return false;
  const [year, month, day, h, min, sec] = [m[1], m[2], m[3], m[4] ?? m[7], m[5] ?? m[8], m[6] ?? m[9]].map((x) => Number(x ?? 0));
  const leap = year! % 4 === 0 && (year! % 100 !== 0 || year! % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month! - 1];
  return days !== undefined && day! >= 1 && day! <= days && h! < 24 && min! < 60 && sec! < 60;
}

/** What gopkg.in/yaml.v3 (resolve.go), and so Pulumi, makes of a plain scalar without a tag. */
export function pulumiReading(s: string): GoValue {
  if (s in GO_WORDS) return GO_WORDS[s]!;
  if (s.startsWith(".")) {
    const float = /^\.[0-9]+(_[0-9]+)*([eE][-+]?[0-9]+(_[0-9]+)*)?$/.test(s) ? Number(s.replace(/_/g, "")) : NaN;
    return Number.isFinite(float) ? float : s;
  }
  if (!/^[-+0-9]/.test(s)) return s;
  if (goDate(s)) return DATE;
  const plain = s.replace(/_/g, "");
  const int = goInt(plain, 0) ?? goInt(plain, 0, false);
  if (int !== undefined) return Number(int);
  const float = GO_FLOAT.test(plain) ? Number(plain) : NaN;
  if (Number.isFinite(float)) return float;
  const prefixed = /^(-?)0([bo])(.*)$/.exec(plain);
  const digits = prefixed && goInt(prefixed[3]!, prefixed[2] === "b" ? 2 : 8);
  if (digits !== undefined && digits !== null) return Number(prefixed![1] ? BigInt.asIntN(64, -digits) : digits);
  return s;
}

const show = (v: unknown) => (v === DATE ? "a date" : typeof v === "string" ? `the text ${JSON.stringify(v)}` : String(v));
const child = (path: string, key: string) => (/^[A-Za-z_][\w-]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);

/**
 * Reports every part of a config value that Pulumi reads differently from the `yaml` package: a plain scalar the two
 * resolve differently (or to infinity or NaN, which Pulumi cannot pass to the program), a key that is not plain text
 * to both, a merge key (`<<`, merged by Pulumi only), an explicit tag, an alias of its own ancestor.
 */
function unlikePulumi(
  doc: Document,
  node: unknown,
  path: string,
  report: (node: { range?: readonly number[] | null }, problem: string) => void,
  ancestors: unknown[] = [],
): void {
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (ancestors.includes(target)) report(node, `${path}: the alias *${node.source} is inside the value it names; Pulumi refuses it`);
    else unlikePulumi(doc, target, path, report, ancestors);
    return;
  }
  if (isScalar(node) || isMap(node) || isSeq(node)) {
    if (node.tag) return report(node, `${path}: the tag ${node.tag} is not read alike by Pulumi and other YAML readers: remove it`);
  }
  if (isScalar(node)) {
    if (node.type !== Scalar.PLAIN) return;
    const src = String(node.source);
    const [pulumi, here] = [pulumiReading(src), node.value];
    if (pulumi === here && (typeof here !== "number" || Number.isFinite(here))) return;
    if (typeof pulumi === "number" && !Number.isFinite(pulumi)) {
      return report(node, `${path}: ${src} is ${pulumi}, which Pulumi cannot pass to the program (pulumi up fails): write a number`);
    }
    return report(
      node,
      `${path}: ${src} is read as ${show(pulumi)} by Pulumi and as ${show(here)} by the offline tools and other YAML 1.2 ` +
        `readers: ${typeof pulumi === "number" ? `write ${pulumi}, or quote it for the text` : "quote it"}`,
    );
  }
  const inside = [...ancestors, node];
  if (isSeq(node)) node.items.forEach((item, i) => unlikePulumi(doc, item, `${path}[${i}]`, report, inside));
  if (!isMap(node)) return;
  for (const { key, value } of node.items) {
    const name = isScalar(key) ? String(key.value) : String(key);
    if (!isScalar(key)) {
      report(
        isAlias(key) || isMap(key) || isSeq(key) ? key : node,
        `${path}: a key that is not plain text (Pulumi refuses or rewrites it): write a name`,
      );
    } else if (key.tag) {
      report(key, `${path}: the tag ${key.tag} is not read alike by Pulumi and other YAML readers: remove it`);
    } else if (key.value === "<<") {
      report(key, `${path}: the merge key << is merged by Pulumi and read as a key named "<<" by other YAML readers: write the keys out`);
    } else if (key.type === Scalar.PLAIN && (pulumiReading(String(key.source)) !== key.source || key.value !== key.source)) {
      const pulumi = pulumiReading(String(key.source));
      report(
        key,
        `${path}: the key ${key.source} is read as ${show(pulumi)} by Pulumi${pulumi === key.value ? "" : ` and as ${show(key.value)} by other YAML readers`}, ` +
          `not as its text: quote it`,
      );
    }
    unlikePulumi(doc, value, child(path, name), report, inside);
  }
}

/** A stack file's config by path; one-line errors for a missing or unreadable file. */
export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  if (statSync(path).isDirectory()) throw new Error(`${path}: is a directory, not a stack file`);
  return parseStackConfig(readFileSync(path, "utf8"), path);
}

/** The stack's config, or a clear error naming the stacks that exist. */
export function readStackConfig(stack: string, dir = STACKS_DIR): Record<string, unknown> {
  const file = ["yaml", "yml"].map((ext) => join(dir, `Pulumi.${stack}.${ext}`)).find(existsSync);
  if (!file) {
    throw new Error(`unknown stack "${stack}": no ${join(dir, `Pulumi.${stack}.yaml`)}; stacks: ${stackNames(dir).join(", ") || "none"}`);
  }
  return readConfigFile(file);
}
