// The stack file's JSON Schema (schema/stack.schema.json), read by an independent validator (ajv) as an editor would:
// it is the one the program checks against, it accepts every shipped stack and refuses the bad configs a schema can
// state, and the README's configuration table lists exactly its keys with its defaults.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv, { ValidateFunction } from "ajv";
import { parse } from "yaml";
import { KEYWORDS_READ } from "../components/model/config";
import { MIRRORED_KEYWORDS, VALUE_RULES } from "../components/model/configRules";
import { ClusterSchema, stackSchemaText } from "../components/model/configSchema";
import { isDns1123Label, isDns1123Subdomain } from "../components/model/net";
import { STACKS_DIR, stackNames } from "../offline/stackFile";
import { ARGS_FILE, SCHEMA_FILE } from "../scripts/schema";
import { clusterArgsText } from "../components/model/argsTypes";
import { BAD, RULE_LEVEL } from "./configCases";

const REPO = join(__dirname, "..");
const MODELINE = "# yaml-language-server: $schema=../schema/stack.schema.json";
/** Keywords that only describe: editors show them, nothing checks them. */
const ANNOTATIONS = ["$schema", "title", "description", "default", "errorMessage", "patternErrorMessage"];

let compiled: ValidateFunction | undefined;
/** The committed file, compiled by ajv in strict mode (an unknown keyword is an error) with kube-pki's messages. */
function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ strict: true, allErrors: true });
    ajv.addVocabulary(["errorMessage", "patternErrorMessage"]);
    compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, "utf8")));
  }
  return compiled;
}
/** Where and why the schema refuses a stack file: `<JSON pointer of the value> <message>`, none when it accepts it.
 * A missing or unknown key is placed at that key. */
const errorsOf = (stackFile: unknown) =>
  validator()(stackFile)
    ? []
    : validator().errors!.map((e) => {
        const key = e.params as { missingProperty?: string; additionalProperty?: string };
        return `${e.instancePath}${(key.missingProperty ?? key.additionalProperty) ? `/${key.missingProperty ?? key.additionalProperty}` : ""} ${e.message}`;
      });
const stackFileOf = (clusters: unknown) => ({ config: clusters === undefined ? {} : { "kube-pki:clusters": clusters } });
/** A problem's config path (`clusters[0].nodes[2].address`) as the JSON pointer of that value in the stack file. */
const pointerOf = (problem: string | RegExp) => {
  const path = (typeof problem === "string" ? problem : problem.source.replace(/\\/g, "")).split(": ")[0]!;
  return `/config/kube-pki:${path
    .replace(/\[(\d+)\]/g, ".$1")
    .split(".")
    .join("/")}`;
};

describe("components/package/clusterArgs.ts", () => {
  it("is what npm run schema writes from components/model/configSchema.ts", () => {
    assert.equal(readFileSync(ARGS_FILE, "utf8"), clusterArgsText(), "run npm run schema and commit components/package/clusterArgs.ts");
  });
});

describe("schema/stack.schema.json", () => {
  it("is what npm run schema writes from components/model/configSchema.ts", () => {
    assert.equal(readFileSync(SCHEMA_FILE, "utf8"), stackSchemaText(), "run npm run schema and commit schema/stack.schema.json");
  });

  for (const stack of stackNames()) {
    const file = join(STACKS_DIR, `Pulumi.${stack}.yaml`);
    it(`${stack}: names the schema in its first line`, () => {
      assert.equal(readFileSync(file, "utf8").split("\n")[0], MODELINE);
    });
    it(`${stack}: the schema accepts it`, () => {
      assert.deepEqual(errorsOf(parse(readFileSync(file, "utf8"))), []);
    });
  }

  it("accepts the project's secrets and other namespaces' keys beside the clusters", () => {
    const file = parse(readFileSync(join(STACKS_DIR, "Pulumi.dev.yaml"), "utf8"));
    file.encryptionsalt = "v1:abc";
    Object.assign(file.config, { "kube-pki:sshPrivateKey": { secure: "v1:abc" }, "kube-pki:note": "x", "aws:region": "eu-west-1" });
    assert.deepEqual(errorsOf(file), []);
  });

  it("refuses a list where a project key must be a string or a secret (kube-pki:cluster, a typo)", () => {
    const file = parse(readFileSync(join(STACKS_DIR, "Pulumi.dev.yaml"), "utf8"));
    file.config["kube-pki:cluster"] = file.config["kube-pki:clusters"];
    assert.notDeepEqual(errorsOf(file), []);
  });
});

// Every bad config of test/config.test.ts: the schema-level ones the schema refuses (an editor flags them), the
// rule-level ones it accepts (RULE_LEVEL says why it cannot state them), so the line between the two stays true.
describe("schema/stack.schema.json and the bad configs of test/config.test.ts", () => {
  for (const [what, raw, expected] of BAD) {
    const why = RULE_LEVEL[what];
    if (why) {
      it(`rule-level: ${what}`, () => assert.deepEqual(errorsOf(stackFileOf(raw())), [], `RULE_LEVEL says: ${why}`));
      continue;
    }
    // Refused where the program reports it: at the value itself, or at the list or object holding it (uniqueItems,
    // if/then of a user).
    it(`refuses: ${what}`, () => {
      const errors = errorsOf(stackFileOf(raw()));
      const at = errors.map((e) => e.split(" ")[0]!);
      const unplaced = expected
        .map(pointerOf)
        .filter((p) => !at.some((a) => a === p || (p.startsWith(`${a}/`) && !p.slice(a.length + 1).includes("/"))));
      assert.deepEqual(unplaced, [], `the schema's errors:\n    ${errors.join("\n    ") || "none"}`);
    });
  }
});

type Schema = Record<string, any>;
/** Every key of the cluster schema by path (`nodes[].ssh.port`), with whether its object requires it. */
function keysOf(s: Schema, path = "", out = new Map<string, { schema: Schema; required: boolean }>()) {
  const node = s.type === "array" && s.items?.type === "object" ? s.items : s;
  const prefix = node === s ? path : `${path}[]`;
  for (const [key, child] of Object.entries<Schema>(node.properties ?? {})) {
    const at = prefix ? `${prefix}.${key}` : key;
    out.set(at, { schema: child, required: (node.required ?? []).includes(key) });
    keysOf(child, at, out);
  }
  return out;
}
const CLUSTER_KEYS = keysOf(ClusterSchema);
/** A key with keys of its own is an object; the others (and lists of plain values) are what the table must list. */
const isLeaf = (path: string) => ![...CLUSTER_KEYS.keys()].some((k) => k.startsWith(`${path}.`) || k.startsWith(`${path}[].`));

describe("components/model/configSchema.ts", () => {
  it("uses only keywords config.ts reads, annotations, or keywords a rule mirrors (MIRRORED_KEYWORDS)", () => {
    const known = new Set<string>([...KEYWORDS_READ, ...ANNOTATIONS, ...MIRRORED_KEYWORDS]);
    const unknown = new Set<string>();
    const visit = (s: Schema) => {
      for (const [keyword, value] of Object.entries(s)) {
        if (!known.has(keyword)) unknown.add(keyword);
        if (keyword === "properties") Object.values<Schema>(value).forEach(visit);
        if (keyword === "items" || keyword === "not") visit(value);
      }
    };
    visit(JSON.parse(JSON.stringify(ClusterSchema)));
    assert.deepEqual([...unknown], []);
  });

  it("requires no key that has a default (the default would never apply)", () => {
    assert.deepEqual(
      [...CLUSTER_KEYS].filter(([, k]) => k.required && k.schema.default !== undefined).map(([path]) => path),
      [],
    );
  });

  it("every value rule names a string key of the cluster schema", () => {
    const strings = new Set(
      [...CLUSTER_KEYS].flatMap(([path, k]) =>
        k.schema.type === "string" ? [path] : k.schema.items?.type === "string" ? [`${path}[]`] : [],
      ),
    );
    assert.deepEqual(
      Object.keys(VALUE_RULES).filter((at) => !strings.has(at)),
      [],
    );
  });

  it("its RFC 1123 label and subdomain patterns are net.ts's rules (one is the schema's, the other the rules')", () => {
    const samples = [
      "a",
      "dev",
      "dev-1",
      "-dev",
      "dev-",
      "Dev",
      "dev_1",
      "a.b",
      "a..b",
      ".a",
      "a.",
      "",
      "a".repeat(63),
      "a".repeat(64),
      `${"a".repeat(63)}.b`,
      `${"a".repeat(64)}.b`,
      [..."abcd"].map((c) => c.repeat(63)).join("."),
      [..."abcd"]
        .map((c) => c.repeat(63))
        .join(".")
        .slice(0, 253),
      `${"a".repeat(62)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(62)}`,
      "1.2.3.4",
      "*.a",
    ];
    const pattern = (key: "name" | "clusterName") => new RegExp(ClusterSchema.properties[key].pattern as string, "u");
    const disagree = samples.filter(
      (s) => pattern("name").test(s) !== isDns1123Label(s) || pattern("clusterName").test(s) !== isDns1123Subdomain(s),
    );
    assert.deepEqual(disagree, []);
  });
});

describe("README, Configuration", () => {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Configuration\n"), readme.indexOf("### Why ECDSA-P256"));
  /** [key, default cell] for every key a row names; `a.{b,c}.d` names a.b.d and a.c.d. */
  const rows = section
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .flatMap((line) => {
      const [keys, dflt] = line.slice(2).split(" | ") as [string, string];
      const names = [...keys.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      return names.flatMap((name, i) => {
        const brace = /\{([^}]+)\}/.exec(name);
        const expanded = brace ? brace[1]!.split(",").map((alt) => name.replace(brace[0], alt)) : [name];
        return expanded.map((key) => [key, dflt, i, names.length] as const);
      });
    });
  /** The restart commands' block below the table, as paths. */
  const below = new Map<string, unknown>();
  const flatten = (v: unknown, path: string): void => {
    if (typeof v === "object" && v !== null) Object.entries(v).forEach(([k, x]) => flatten(x, path ? `${path}.${k}` : k));
    else below.set(path, v);
  };
  flatten(parse(/```yaml\n([\s\S]*?)```/.exec(section)![1]!), "");

  it("its table names exactly the schema's keys: every one a value is given to, and objects only as keys that exist", () => {
    const listed = new Set(rows.map(([key]) => key));
    assert.deepEqual(
      {
        missing: [...CLUSTER_KEYS.keys()].filter((k) => isLeaf(k) && !listed.has(k)),
        notInSchema: [...listed].filter((k) => !CLUSTER_KEYS.has(k)),
      },
      { missing: [], notInSchema: [] },
    );
  });

  it("its table shows the schema's defaults: required, the default (in code, or in the block below), or words when there is none", () => {
    const wrong = rows.flatMap(([key, cell, i, n]) => {
      const k = CLUSTER_KEYS.get(key);
      if (!k) return [];
      const dflt = k.schema.default;
      const spans = /^`[^`]*`(, `[^`]*`)*/
        .exec(cell)?.[0]
        .split(", ")
        .map((s) => parse(s.slice(1, -1)));
      const shown = cell.startsWith("required")
        ? "required"
        : cell === "below"
          ? below.get(key)
          : spans
            ? spans.length === n
              ? spans[i]
              : spans[0]
            : undefined;
      const expected = k.required ? "required" : dflt;
      return JSON.stringify(shown) === JSON.stringify(expected)
        ? []
        : [`${key}: README ${JSON.stringify(shown ?? cell)}, schema ${JSON.stringify(expected)}`];
    });
    assert.deepEqual(wrong, []);
  });
});
