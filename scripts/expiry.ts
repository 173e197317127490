// npm run expiry -- [--dir <path>]... [--endpoint host:port]... [--client-cert f --client-key f] [--stack-output <file|->]
//                   [--warn-days 30] [-o text|json]
// Like `kubeadm certs check-expiration`, for every cluster of a stack. Exit 1 when a certificate expires within
// --warn-days (or has expired), 2 on bad usage.
import { existsSync, readFileSync } from "node:fs";
import {
  advice,
  ExpiryRow,
  renderExpiryJson,
  renderExpiryText,
  rowsFromDirectory,
  rowsFromEndpoint,
  rowsFromStackOutputs,
  statusOf,
} from "../offline/expiry";
import { cli, readInput } from "./cli";

const { values, usage, path } = cli(
  "expiry",
  "Certificate expiry like `kubeadm certs check-expiration`, from directories, live endpoints or stack outputs; exit 1 if anything expires within --warn-days.",
  {
    dir: { type: "string", value: "path", multiple: true, help: "a render, or a node's /etc/kubernetes" },
    endpoint: { type: "string", value: "host:port", multiple: true, help: "a live TLS server (its served chain)" },
    "client-cert": { type: "string", value: "file", help: "client certificate for endpoints that require one (etcd)" },
    "client-key": { type: "string", value: "file", help: "its key" },
    "stack-output": { type: "string", value: "file|-", help: "`pulumi stack output --json` (- for stdin)" },
    "warn-days": { type: "string", value: "days", default: "30", help: "warn (exit 1) for anything expiring this soon" },
    output: { type: "string", short: "o", value: "text|json", default: "text", help: "the report's format" },
  },
);

async function main(): Promise<void> {
  if (!["text", "json"].includes(values.output!)) usage(`-o ${values.output}: text or json`);
  const warnDays = Number(values["warn-days"]);
  if (!Number.isFinite(warnDays) || warnDays < 0) usage("--warn-days must be a number of days ≥ 0");
  if (!!values["client-cert"] !== !!values["client-key"]) usage("--client-cert and --client-key go together");
  const readFile = (f: string) => {
    if (!existsSync(path(f))) throw new Error(`${path(f)}: no such file`);
    return readFileSync(path(f), "utf8");
  };
  const client = values["client-cert"] ? { cert: readFile(values["client-cert"]), key: readFile(values["client-key"]!) } : {};
  if (values.dir.length + values.endpoint.length === 0 && !values["stack-output"])
    usage("give at least one of --dir, --endpoint, --stack-output");

  const rows: ExpiryRow[] = [];
  for (const dir of values.dir) {
    if (!existsSync(path(dir))) throw new Error(`${path(dir)}: no such directory`);
    rows.push(...rowsFromDirectory(path(dir)));
  }
  for (const endpoint of values.endpoint) rows.push(...(await rowsFromEndpoint(endpoint, client)));
  const stackOutput = values["stack-output"];
  if (stackOutput) {
    const text = await readInput(stackOutput, path);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${stackOutput}: not JSON (the output of pulumi stack output --json)`);
    }
    rows.push(...rowsFromStackOutputs(json));
  }
  if (rows.length === 0) throw new Error("no certificate found in the given sources");

  const now = new Date();
  process.stdout.write(values.output === "json" ? renderExpiryJson(rows, now, warnDays) : renderExpiryText(rows, now));
  const due = rows.filter((r) => statusOf(r, now, warnDays) !== "ok");
  if (due.length > 0) {
    console.error(
      `${due.length} certificate(s) expire within ${warnDays} days or have expired: ${due.map((r) => r.certificate).join(", ")}`,
    );
    for (const line of advice(rows, now, warnDays)) console.error(line);
    process.exit(1);
  }
}

// Exit 2 on errors (1 means "something expires"): a monitoring job must tell the two apart.
main().catch((e) => {
  console.error(`kube-pki expiry: ${e instanceof Error ? e.message : e}`);
  process.exit(2);
});
