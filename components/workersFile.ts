// The edge of `workersFile` (README, "Workers"): the model validates what this reads. A fleet's nodes live in a file
// beside the stack because Pulumi hands the whole stack config to the program in one environment variable
// (PULUMI_CONFIG), and Linux caps one such string at 128 KiB (MAX_ARG_STRLEN): ~740 workers with ssh blocks.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";
import { WorkersFileReader } from "./model/config";

/**
 * Reads workers files relative to `projectDir` (where Pulumi.yaml is: the program's working directory); `textOf`
 * replaces the read of the working tree (the cert diff reads a git revision's).
 */
export function readWorkersFile(
  projectDir: string,
  textOf = (path: string) => readFileSync(resolve(projectDir, path), "utf8"),
): WorkersFileReader {
  return (path) => {
    let text: string;
    try {
      text = textOf(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!code) throw e;
      throw new Error(
        `${path}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : `cannot be read (${code})`}`,
        { cause: e },
      );
    }
    try {
      // JSON.parse for .json: a 10,000-worker file parses in milliseconds; YAML (a superset) for anything else.
      return path.endsWith(".json") ? JSON.parse(text) : parse(text, { schema: "core" });
    } catch (e) {
      throw new Error(`${path}: not valid ${path.endsWith(".json") ? "JSON" : "YAML"}: ${(e as Error).message.split("\n")[0]}`, {
        cause: e,
      });
    }
  };
}
