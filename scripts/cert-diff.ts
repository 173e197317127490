// npm run cert-diff -- --stack <stack> (--preview <file|-> | --base <git-ref> [--head <git-ref>]) [--format markdown|text]
// The certificate diff of a stack, from `pulumi preview --json` or offline between two versions of its config.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { planClusters } from "../components";
import { buildReport, offlineReport, renderMarkdown, renderText, stepsFromPreview } from "../offline/certDiff";
import { parseStackConfig, readStackConfig, STACKS_DIR } from "../offline/stackFile";
import { parseFlags } from "./cli";

/** The stack's `kube-pki:clusters` at a git revision, or undefined if the stack file did not exist there. */
function clustersAt(ref: string, stack: string): unknown {
  const path = `${relative(process.cwd(), STACKS_DIR) || "."}/Pulumi.${stack}.yaml`;
  let text: string;
  try {
    text = execFileSync("git", ["show", `${ref}:./${path}`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e: any) {
    if (/does not exist|exists on disk, but not in/.test(String(e.stderr))) return undefined;
    throw new Error(`git show ${ref}:${path} failed: ${String(e.stderr).trim()}`);
  }
  return parseStackConfig(text, `${ref}:${path}`).clusters;
}

async function main(): Promise<void> {
  const flags = parseFlags("npm run cert-diff -- --stack <stack> (--preview <file|-> | --base <git-ref> [--head <git-ref>]) [--format markdown|text]");
  const stack = flags.one("--stack") ?? flags.fail("--stack is required");
  const format = flags.one("--format") ?? "markdown";
  if (!["markdown", "text"].includes(format)) flags.fail(`--format ${format}: markdown or text`);
  let report;
  const preview = flags.one("--preview");
  if (preview) {
    const json = JSON.parse(preview === "-" ? readFileSync(0, "utf8") : readFileSync(resolve(preview), "utf8"));
    report = buildReport(`kube-pki certificate diff: stack \`${stack}\``, stepsFromPreview(json), planClusters(readStackConfig(stack).clusters));
  } else {
    const base = flags.one("--base") ?? flags.fail("--preview or --base is required");
    const head = flags.one("--head");
    const headClusters = head ? clustersAt(head, stack) : readStackConfig(stack).clusters;
    if (headClusters === undefined) flags.fail(`stack ${stack} does not exist at ${head}`);
    report = await offlineReport(stack, clustersAt(base, stack), headClusters);
  }
  process.stdout.write(format === "markdown" ? renderMarkdown(report) : renderText(report));
}

main().catch((e) => { console.error(`kube-pki cert-diff: ${e instanceof Error ? e.message : e}`); process.exit(1); });
