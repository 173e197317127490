// Reading a directory tree (paths, modes, contents) to compare what delivery wrote with what the render writes.
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

export interface TreeEntry {
  mode: string;
  sha: string;
}

export function readTree(root: string, opts: { skip?: RegExp } = {}): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      const rel = `/${relative(root, full)}`;
      if (opts.skip?.test(rel)) continue;
      const st = lstatSync(full);
      if (st.isDirectory()) walk(full);
      else
        out[rel] = {
          mode: `0${(st.mode & 0o777).toString(8)}`,
          sha: require("node:crypto").createHash("sha256").update(readFileSync(full)).digest("hex"),
        };
    }
  };
  walk(root);
  return out;
}
