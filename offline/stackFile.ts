// Reads a stack's config file (stacks/Pulumi.<stack>.yaml, or any file in that format) without the Pulumi CLI, for
// the offline render, the cert diff and the tests. Only plain values are read: the PKI config holds no secrets.
// Errors are one line and name the file (and for YAML syntax errors the line).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { suggestion } from "../components/config";

export const PROJECT = "kube-pki";
export const STACKS_DIR = resolve(__dirname, "..", "stacks");
const CLUSTERS_KEY = `${PROJECT}:clusters`;

export function stackNames(dir = STACKS_DIR): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir}: no such directory (the stack files live in stacks/)`);
  return readdirSync(dir).map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1]).filter((s): s is string => !!s).sort();
}

/** Parses a stack file's text and returns its `kube-pki:*` config values (without the prefix). */
export function parseStackConfig(text: string, source: string): Record<string, unknown> {
  const doc = parseDocument(text);
  const error = doc.errors[0];
  if (error) {
    const line = error.linePos?.[0];
    throw new Error(`${source}${line ? `:${line.line}:${line.col}` : ""}: not valid YAML: ${error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`);
  }
  const root = doc.toJS() as { config?: unknown } | null;
  if (root !== null && (typeof root !== "object" || Array.isArray(root))) throw new Error(`${source}: not a Pulumi stack file (a YAML mapping with config:)`);
  const config = (root?.config ?? {}) as Record<string, unknown>;
  if (typeof config !== "object" || Array.isArray(config)) throw new Error(`${source}: config must be a mapping of "<project>:<key>" to values`);
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(config)) {
    // Pulumi reads a key without a namespace as the project's own.
    const key = rawKey.includes(":") ? rawKey : `${PROJECT}:${rawKey}`;
    if (!key.startsWith(`${PROJECT}:`)) continue;
    const encrypted = !!value && typeof value === "object" && "secure" in (value as object);
    // Secrets such as the SSH key are encrypted by `pulumi config set --secret`; the offline tools never need them.
    if (encrypted && key === CLUSTERS_KEY) {
      throw new Error(`${source}: ${key} is encrypted; the offline tools need it in plain text (it holds no secret)`);
    }
    if (!encrypted) out[key.slice(PROJECT.length + 1)] = value;
  }
  if (out.clusters === undefined) {
    const near = suggestion(Object.keys(config), CLUSTERS_KEY, (k) => k.replace(/[-_]/g, ""));
    throw new Error(`${source}: no ${CLUSTERS_KEY} in config${near ? ` (did you mean "${CLUSTERS_KEY}" instead of "${near}"?)` : ""}`);
  }
  return out;
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
