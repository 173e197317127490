// npm run expiry -- [--dir <path>]... [--endpoint host:port]... [--client-cert f --client-key f] [--stack-output <file|->]
//                   [--warn-days 30] [-o text|json]
// Like `kubeadm certs check-expiration`, for every cluster of a stack. Exit 1 when a certificate expires within
// --warn-days (or has expired), 2 on bad usage.
import { readFileSync } from "node:fs";
import {
  ExpiryRow, renderExpiryJson, renderExpiryText, rowsFromDirectory, rowsFromEndpoint, rowsFromStackOutputs, statusOf,
} from "../offline/expiry";
import { parseFlags } from "./cli";

async function main(): Promise<void> {
  const { all, one, fail: usage } = parseFlags("npm run expiry -- [--dir <path>]... [--endpoint host:port]... " +
    "[--client-cert <pem> --client-key <pem>] [--stack-output <file|->] [--warn-days N] [-o text|json]");
  const output = one("-o") ?? one("--output") ?? "text";
  if (!["text", "json"].includes(output)) usage(`-o ${output}: text or json`);
  const warnDays = Number(one("--warn-days") ?? 30);
  if (!Number.isFinite(warnDays) || warnDays < 0) usage("--warn-days must be a number of days ≥ 0");
  const certFile = one("--client-cert");
  const keyFile = one("--client-key");
  const client = certFile && keyFile ? { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") } : {};

  const rows: ExpiryRow[] = [];
  for (const dir of all("--dir")) rows.push(...rowsFromDirectory(dir));
  for (const endpoint of all("--endpoint")) rows.push(...await rowsFromEndpoint(endpoint, client));
  const stackOutput = one("--stack-output");
  if (stackOutput) rows.push(...rowsFromStackOutputs(JSON.parse(readFileSync(stackOutput === "-" ? 0 : stackOutput, "utf8"))));
  if (rows.length === 0) usage("no source given (or nothing found)");

  const now = new Date();
  process.stdout.write(output === "json" ? renderExpiryJson(rows, now, warnDays) : renderExpiryText(rows, now));
  const due = rows.filter((r) => statusOf(r, now, warnDays) !== "ok");
  if (due.length > 0) {
    console.error(`${due.length} certificate(s) expire within ${warnDays} days or have expired: ${due.map((r) => r.certificate).join(", ")}`);
    process.exit(1);
  }
}

main().catch((e) => { console.error(`kube-pki expiry: ${e instanceof Error ? e.message : e}`); process.exit(2); });
