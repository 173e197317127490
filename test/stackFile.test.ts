// The offline tools (render --check, cert-diff) read a stack file as `pulumi up` does. The same files go to the real
// Pulumi CLI of the toolchain (which reads stack files with gopkg.in/yaml.v3, YAML 1.1 forms included) and to
// offline/stackFile.ts: every value is read alike by both, or the offline reader refuses it, naming the file, line,
// column and config path. A missing toolchain fails these tests (never a skip).
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parseStackConfig, readConfigFile, readStackText } from "../offline/stackFile";
import { makeTempDir } from "./e2e/proc";
import { cli, describeRun, REPO, toolchain } from "./engine/workspace";

const SOURCE = "stacks/Pulumi.t.yaml";

/** The real CLI on a copy of the project with one stack, t, whose stack file each read replaces. */
async function pulumiReader(): Promise<(text: string) => Promise<{ clusters?: unknown; error?: string }>> {
  const dir = makeTempDir("stack-file");
  copyFileSync(join(REPO, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  mkdirSync(join(dir, "stacks"));
  for (const d of ["home", "state"]) mkdirSync(join(dir, d));
  const env = {
    ...process.env,
    PATH: `${toolchain()}:${process.env.PATH}`,
    PULUMI_HOME: join(dir, "home"),
    PULUMI_BACKEND_URL: `file://${join(dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: "kube-pki stack file tests",
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  const init = await cli(["stack", "init", "t", "--non-interactive"], { cwd: dir, env, timeoutMs: 60_000 });
  if (init.code !== 0) throw new Error(describeRun(init));
  return async (text) => {
    writeFileSync(join(dir, SOURCE), text);
    const r = await cli(["config", "--json", "--stack", "t"], { cwd: dir, env, timeoutMs: 60_000 });
    if (r.code !== 0) return { error: r.stderr.trim() };
    // `value` is the text the program receives; config.getObject("clusters") parses it as JSON.
    return { clusters: JSON.parse(JSON.parse(r.stdout)["kube-pki:clusters"].value) };
  };
}

/** The offline reading as the program would receive it through JSON; infinities and NaN stand out (JSON has none). */
const asJson = (v: unknown): unknown =>
  typeof v === "number"
    ? Number.isFinite(v)
      ? v + 0
      : `<${v}>`
    : Array.isArray(v)
      ? v.map(asJson)
      : v && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asJson(x)]))
        : v;

/** A stack file whose kube-pki:clusters lists the items (YAML text, possibly several lines), and each item's lines. */
function stackFile(items: readonly string[], preamble = ""): { text: string; lines: [number, number][] } {
  let text = `${preamble}config:\n  kube-pki:clusters:\n`;
  const lines = items.map((item): [number, number] => {
    const first = text.split("\n").length;
    text += `    - ${item.replace(/\n/g, "\n      ")}\n`;
    return [first, first + item.split("\n").length - 1];
  });
  return { text, lines };
}

/** The refusals about the item at kube-pki:clusters[i], each checked to point into the item's lines. */
function refusalsOf(refused: readonly string[], i: number, lines: [number, number]): string[] {
  const mine = refused.filter((m) => m.split(": ")[1]!.startsWith(`kube-pki:clusters[${i}]`));
  for (const m of mine) {
    const line = Number(new RegExp(`^${SOURCE.replace(/\./g, "\\.")}:(\\d+):\\d+: `).exec(m)?.[1]);
    assert.ok(line >= lines[0] && line <= lines[1], `${m}: names the file and a line of the item (${lines[0]}-${lines[1]})`);
  }
  return mine;
}

// Plain scalars: every form yaml.v3 resolves (YAML 1.1 octal, binary, underscores, signed and capital prefixes,
// dates, out-of-range numbers) beside look-alikes that are text to both.
const PLAIN = [
  "0",
  "00",
  "07",
  "-0",
  "+7",
  "-7",
  "720",
  "0720",
  "-0720",
  "+0720",
  "08",
  "0789",
  "0o720",
  "0O720",
  "-0o720",
  "+0o720",
  "0x1F",
  "0X1F",
  "-0x1F",
  "+0x1F",
  "0b101",
  "0B101",
  "-0b101",
  "0b-1",
  "0o-7",
  "1_000",
  "1__0",
  "1_",
  "-1_0",
  "_1",
  "1.5",
  "1.",
  ".5",
  "-.5",
  "+.5",
  "1e3",
  "1E3",
  "+1e3",
  "1.5e-3",
  "08.5",
  "0720.5",
  "1_0.5",
  ".5_0",
  "1.5e3_0",
  "1e400",
  ".5e400",
  "-0.0",
  "9223372036854775807",
  "9223372036854775808",
  "18446744073709551616",
  "-9223372036854775809",
  "0xFFFFFFFFFFFFFFFF",
  "0x1FFFFFFFFFFFFFFFF",
  "99999999999999999999999",
  "9007199254740993",
  "true",
  "True",
  "TRUE",
  "tRUE",
  "false",
  "FALSE",
  "yes",
  "No",
  "on",
  "OFF",
  "y",
  "n",
  "null",
  "Null",
  "NULL",
  "~",
  "nULL",
  "inf",
  "nan",
  ".Nan",
  "Infinity",
  "<<",
  "=",
  "2001-12-14",
  "2001-1-2",
  "2001-12-14T21:59:43Z",
  "2001-12-14t21:59:43.10-05:00",
  "2001-12-14 21:59:43.10",
  "2001-12-14 21:59:43,5",
  "2001-12-14 21:59:43.10 -5",
  "2001-02-29",
  "2000-02-29",
  "2001-13-01",
  "2001-12-14T25:00:00Z",
  "12:30",
  "1:20:30",
  "190:20:30.15",
  "0x",
  "0b",
  "0o",
  "0xg",
  "0b102",
  "1,000",
  "12h",
  "v1.2",
  "1-",
  "+",
  "--1",
  "1e",
  ".e3",
  "0.5.5",
  "10.0.0.1",
  "10.96.0.0/12",
  "fd00::10",
  "api.dev.k8s.internal:6443",
  "a\n  b",
];
// The same texts quoted: text to both, never refused (quoting is the fix the refusals give).
const QUOTED = [...PLAIN.map((s) => JSON.stringify(s.replace(/\n {2}/, " "))), "'0720'", "'it''s'"];
// Keys, aliases, merges, tags, block scalars and escapes.
const STRUCTURE = [
  "{0720: a}",
  "{1_0: a}",
  "{true: a}",
  "{~: a}",
  "{2001-12-14: a}",
  "{7: a}",
  "{\"0720\": a, '1_0': b}",
  "{a: &x 0720, b: *x}",
  "{a: &y 1, b: *y}",
  "[&m {a: 1, b: 2}, {<<: *m, b: 3}]",
  '{"<<": {a: 1}}',
  "!!int 0720",
  "!!str 0720",
  "!!binary aGVsbG8=",
  "!!timestamp 2001-12-14",
  "!custom x",
  "! 0720",
  "!!map {a: 1}",
  "|+\n  keep\n",
  ">-\n  fold\n  ed\n\n  para",
  '"x\\ty\\u00e9\\x41\\N\\_ \\\n  z"',
  "a # comment",
  '"\\U0001F600"',
];
// Read alike by both and refused anyway: a tag or a key that is not text has no use in a stack file, and refusing
// them all keeps the rule short.
const REFUSED_ANYWAY = new Set(["{7: a}", "{true: a}", "!!str 0720", "!custom x", "!!map {a: 1}"]);

describe("stack files: the offline reader reads what Pulumi reads, or refuses the value", function () {
  this.timeout(300_000);
  const ITEMS = [...PLAIN, ...QUOTED, ...STRUCTURE];
  const { text, lines } = stackFile(ITEMS);
  let read: (text: string) => Promise<{ clusters?: unknown; error?: string }>;
  let pulumi: unknown[];
  let offline: ReturnType<typeof readStackText>;

  before(async () => {
    read = await pulumiReader();
    const r = await read(text);
    assert.ok(r.clusters, `Pulumi reads the corpus: ${r.error}`);
    pulumi = r.clusters as unknown[];
    assert.equal(pulumi.length, ITEMS.length);
    offline = readStackText(text, SOURCE);
  });

  ITEMS.forEach((item, i) => {
    it(`${JSON.stringify(item)}: read alike, or refused with its line and path`, () => {
      const refusals = refusalsOf(offline.refused, i, lines[i]!);
      const here = asJson((offline.config.clusters as unknown[])[i]);
      if (!isDeepStrictEqual(here, pulumi[i])) {
        assert.ok(
          refusals.length > 0,
          `Pulumi reads ${JSON.stringify(pulumi[i])}, the offline reader ${JSON.stringify(here)}: not refused`,
        );
      } else if (REFUSED_ANYWAY.has(item)) {
        assert.ok(refusals.length > 0, "refused although read alike (a tag or a key that is not text)");
      } else {
        assert.deepEqual(refusals, [], "read alike by both: not refused");
      }
      // What a refusal of a plain scalar says Pulumi reads is what it reads.
      const claim =
        i >= PLAIN.length ? undefined : refusals.map((m) => /: \S+ is read as (.+?) by Pulumi/.exec(m)?.[1]).find((c) => c !== undefined);
      if (claim === "a date") assert.match(String(pulumi[i]), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [-+]\d{4} /);
      else if (claim?.startsWith("the text ")) assert.equal(pulumi[i], JSON.parse(claim.slice("the text ".length)));
      else if (claim !== undefined) assert.equal(String(pulumi[i]), claim);
    });
  });

  // Values Pulumi cannot read at all: pulumi up fails on the file; the offline reader refuses the value.
  for (const item of [".inf", "-.Inf", "+.INF", ".nan", ".NaN", "&a [1, *a]", "!!bool yes", "{? [a, b] : c}"]) {
    it(`${JSON.stringify(item)}: Pulumi fails on it; the offline reader refuses it with its line and path`, async () => {
      const file = stackFile(["ok", item]);
      const r = await read(file.text);
      assert.ok(r.error, `Pulumi fails: read ${JSON.stringify(r.clusters)}`);
      assert.ok(refusalsOf(readStackText(file.text, SOURCE).refused, 1, file.lines[1]!).length > 0, "refused");
    });
  }

  it("a %YAML 1.1 directive changes neither reading (yes stays text, 0720 stays refused)", async () => {
    const file = stackFile(["yes", "on", "0720", "1:20"], "%YAML 1.1\n---\n");
    const r = await read(file.text);
    const mine = readStackText(file.text, SOURCE);
    assert.deepEqual(r.clusters, ["yes", "on", 464, "1:20"]);
    assert.deepEqual(
      (mine.config.clusters as unknown[]).filter((_, i) => i !== 2),
      ["yes", "on", "1:20"],
    );
    assert.deepEqual(
      mine.refused.map((m) => m.split(": ")[1]),
      ["kube-pki:clusters[2]"],
    );
  });

  it("kube-pki:clusters written as a JSON string: both read the list in it (config.getObject parses it)", async () => {
    const text = `config:\n  kube-pki:clusters: '[{"name": "a", "validity": {"leafHours": 720}}]'\n`;
    const r = await read(text);
    assert.deepEqual(r.clusters, [{ name: "a", validity: { leafHours: 720 } }]);
    assert.deepEqual(parseStackConfig(text, SOURCE).clusters, r.clusters);
  });
});

describe("stack files: refusals", () => {
  const dev = readFileSync(join(REPO, "stacks", "Pulumi.dev.yaml"), "utf8");

  it("a leading-zero number: file:line:column, the config path, both readings and the fix", () => {
    const text = dev.replace("leafHours: 8760", "leafHours: 0720");
    const line = text.split("\n").findIndex((l) => l.includes("leafHours: 0720")) + 1;
    assert.throws(() => parseStackConfig(text, "stacks/Pulumi.x.yaml"), {
      message:
        `stacks/Pulumi.x.yaml:${line}:20: kube-pki:clusters[0].validity.leafHours: 0720 is read as 464 by Pulumi and as 720 by ` +
        "the offline tools and other YAML 1.2 readers: write 464, or quote it for the text",
    });
  });

  it("every refused value of a file at once, one line each (render --check reads files this way)", () => {
    const dir = makeTempDir("stack-file-refusals");
    const file = join(dir, "lab.yaml");
    const text = dev
      .replace("caHours: 87600", "caHours: 87_600")
      .replace("- 192.0.2.10", "- 2001-12-14")
      .replace("- { name: alice", "- { <<: {}, name: alice");
    writeFileSync(file, text);
    // Lines as the shipped dev stack file has them (it may gain or lose lines above these).
    const lineOf = (needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;
    assert.throws(
      () => readConfigFile(file),
      (e: Error) => {
        assert.deepEqual(
          e.message.split("\n").map((m) => m.replace(`${file}:`, "").replace(/ is read as .*| by Pulumi .*/, "")),
          [
            `${lineOf("- 2001-12-14")}:13: kube-pki:clusters[0].apiServer.certSANs[1]: 2001-12-14`,
            `${lineOf("caHours: 87_600")}:18: kube-pki:clusters[0].validity.caHours: 87_600`,
            `${lineOf("<<: {}")}:13: kube-pki:clusters[0].users[0]: the merge key << is merged`,
          ],
        );
        return true;
      },
    );
  });
});
