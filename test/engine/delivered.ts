// What the engine tests check on files a real `pulumi up` delivered locally, shared by the TypeScript program's test
// (dev.test.ts) and the component package's (component.test.ts): the same checks for both ways of running kube-pki.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { renderClusters } from "../../offline/render";
import { makeTempDir, run } from "../e2e/proc";

/** path → { mode, sha256 } of every file under a directory (kube-pki's own bookkeeping left out). */
export function tree(root: string): Record<string, { mode: string; sha: string }> {
  const out: Record<string, { mode: string; sha: string }> = {};
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (!/\/var\/lib\/kube-pki\//.test(full) && e.name !== "manifest.json") {
        out[`/${relative(root, full)}`] = {
          mode: (statSync(full).mode & 0o777).toString(8),
          sha: createHash("sha256").update(readFileSync(full)).digest("hex"),
        };
      }
    }
  };
  walk(root);
  return out;
}

/** Per node of `cluster`: the delivered files' paths and modes, and the offline render's for the same config. */
export async function deliveredAndRendered(
  clusters: unknown[],
  cluster: string,
  delivered: string,
): Promise<{ node: string; have: Record<string, string>; want: Record<string, string> }[]> {
  const out = makeTempDir("render");
  await renderClusters(clusters, out);
  const rendered = join(out, cluster);
  const modes = (dir: string) => Object.fromEntries(Object.entries(tree(dir)).map(([p, v]) => [p, v.mode]));
  return readdirSync(rendered)
    .filter((n) => statSync(join(rendered, n)).isDirectory() && n !== "users")
    .map((node) => ({ node, have: modes(join(delivered, node)), want: modes(join(rendered, node)) }));
}

/** Every delivered server or client certificate that does not verify against its CA or does not match its key. */
export async function certificateProblems(delivered: string): Promise<string[]> {
  const problems: string[] = [];
  for (const node of readdirSync(delivered)) {
    const pki = join(delivered, node, "etc/kubernetes/pki");
    for (const [crt, ca] of [
      ["apiserver.crt", "ca.crt"],
      ["etcd/server.crt", "etcd/ca.crt"],
      ["front-proxy-client.crt", "front-proxy-ca.crt"],
    ] as const) {
      if (!existsSync(join(pki, crt))) continue;
      const v = await run("openssl", ["verify", "-x509_strict", "-CAfile", join(pki, ca), join(pki, crt)]);
      if (v.code !== 0) problems.push(`${node} ${crt}: ${v.stderr}`);
      const pub = (f: string, args: string[]) => run("openssl", [...args, "-in", f, "-pubkey", "-noout"]).then((x) => x.stdout);
      const keyPub = await run("openssl", ["pkey", "-in", join(pki, crt.replace(/\.crt$/, ".key")), "-pubout"]);
      if ((await pub(join(pki, crt), ["x509"])) !== keyPub.stdout) problems.push(`${node} ${crt}: key does not match`);
    }
  }
  return problems;
}
