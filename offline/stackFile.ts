// Reads a stack's config file (stacks/Pulumi.<stack>.yaml) without the Pulumi CLI, for the offline render, the cert
// diff and the tests. Only plain values are supported: the PKI config holds no secrets.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";

export const PROJECT = "kube-pki";
export const STACKS_DIR = resolve(__dirname, "..", "stacks");

export function stackNames(dir = STACKS_DIR): string[] {
  return readdirSync(dir).map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1]).filter((s): s is string => !!s).sort();
}

/** Parses a stack file's text and returns its `kube-pki:*` config values (without the prefix). */
export function parseStackConfig(text: string, source: string): Record<string, unknown> {
  const doc = parse(text) as { config?: Record<string, unknown> } | null;
  const config = doc?.config ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (!key.startsWith(`${PROJECT}:`)) continue;
    const encrypted = !!value && typeof value === "object" && "secure" in (value as object);
    // Secrets such as the SSH key are encrypted by `pulumi config set --secret`; the offline tools never need them.
    if (encrypted && key === `${PROJECT}:clusters`) {
      throw new Error(`${source}: ${key} is encrypted; the offline tools need it in plain text (it holds no secret)`);
    }
    if (!encrypted) out[key.slice(PROJECT.length + 1)] = value;
  }
  return out;
}

/** The stack's config, or a clear error naming the stacks that exist. */
export function readStackConfig(stack: string, dir = STACKS_DIR): Record<string, unknown> {
  const file = ["yaml", "yml"].map((ext) => join(dir, `Pulumi.${stack}.${ext}`)).find(existsSync);
  if (!file) {
    throw new Error(`unknown stack "${stack}": no ${join(dir, `Pulumi.${stack}.yaml`)}; stacks: ${stackNames(dir).join(", ") || "none"}`);
  }
  return parseStackConfig(readFileSync(file, "utf8"), file);
}
