// npm run cert-diff -- (--stack <stack> | --config <file>) (--preview <file|-> | --base <git-ref> [--head <git-ref>])
//                      [--format markdown|text]
// The certificate diff of a stack, from `pulumi preview --json` or offline between two versions of its config.
import { execFileSync } from "node:child_process";
import { isAbsolute, relative } from "node:path";
import { planClusters, readWorkersFile, WorkersFileReader } from "../components";
import {
  blockedFromPreview,
  buildReport,
  offlineReport,
  refusedFromPreview,
  renderMarkdown,
  renderText,
  stepsFromPreview,
} from "../offline/certDiff";
import { parseStackConfig, PROJECT_DIR, readConfigFile, readStackConfig } from "../offline/stackFile";
import { cli, readInput, stackFile, stackFlags } from "./cli";

const { values, usage, path, run } = cli(
  "cert-diff",
  "The certificate diff of a stack for a pull request: per certificate what changes and why, which files go to which node.",
  {
    ...stackFlags("any stack file instead of --stack (in git for --base/--head)"),
    preview: { type: "string", value: "file|-", help: "the output of `pulumi preview --json` (- for stdin)" },
    base: { type: "string", value: "git-ref", help: "offline: compare the stack file at this revision with the working tree (or --head)" },
    head: { type: "string", value: "git-ref", help: "offline: the newer revision (default: the file as it is now)" },
    format: {
      type: "string",
      value: "markdown|text",
      default: "markdown",
      help: "Markdown for a pull-request comment, or text for a terminal",
    },
  },
);

/** The stack file's `kube-pki:clusters` at a git revision, or undefined if it did not exist there. */
function clustersAt(ref: string, file: string): unknown {
  const repoPath = relative(process.cwd(), file);
  let text: string;
  try {
    text = execFileSync("git", ["show", `${ref}:./${repoPath}`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e: any) {
    if (/does not exist|exists on disk, but not in/.test(String(e.stderr))) return undefined;
    throw new Error(`git show ${ref}:${repoPath} failed: ${String(e.stderr).trim()}`, { cause: e });
  }
  return parseStackConfig(text, `${ref}:${repoPath}`).clusters;
}

/** A revision's workers files, parsed as the working tree's are (git show writes them to a pipe, never to disk). */
const workersFileAt =
  (ref: string): WorkersFileReader =>
  (path) => {
    // A file outside the project is not in its history: as it is now.
    if (isAbsolute(path)) return readWorkersFile(PROJECT_DIR)(path);
    let text: string;
    try {
      text = execFileSync("git", ["-C", PROJECT_DIR, "show", `${ref}:./${path}`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e: any) {
      throw new Error(`${path}: not at ${ref} (${String(e.stderr).trim().split("\n")[0]})`, { cause: e });
    }
    return readWorkersFile(PROJECT_DIR, () => text)(path);
  };

run(async () => {
  if (!!values.stack === !!values.config) usage("give exactly one of --stack and --config");
  if (!!values.preview === !!values.base) usage("give exactly one of --preview and --base");
  if (values.head && !values.base) usage("--head needs --base");
  if (!["markdown", "text"].includes(values.format!)) usage(`--format ${values.format}: markdown or text`);
  const name = values.stack ?? path(values.config!);
  const file = stackFile(values, path);
  const current = () => (values.stack ? readStackConfig(values.stack) : readConfigFile(file)).clusters;
  let report;
  if (values.preview) {
    const text = await readInput(values.preview, path);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${values.preview}: not JSON (the output of pulumi preview --json)`);
    }
    report = buildReport(
      `kube-pki certificate diff: stack \`${name}\``,
      stepsFromPreview(json),
      planClusters(current(), readWorkersFile(PROJECT_DIR)),
      {
        blocked: blockedFromPreview(json),
        refused: refusedFromPreview(json),
      },
    );
  } else {
    const headClusters = values.head ? clustersAt(values.head, file) : current();
    if (headClusters === undefined) throw new Error(`${relative(process.cwd(), file)} does not exist at ${values.head}`);
    report = await offlineReport(String(name), clustersAt(values.base!, file), headClusters, {
      baseWorkersFile: workersFileAt(values.base!),
      ...(values.head ? { headWorkersFile: workersFileAt(values.head) } : {}),
    });
  }
  process.stdout.write(values.format === "markdown" ? renderMarkdown(report) : renderText(report));
});
