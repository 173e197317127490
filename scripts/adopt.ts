// npm run adopt -- --stack <stack> [--config <file>] --cluster <name> (--dir <path> | --ssh <user@host[:port]> --host-key <key> [--root <path>])
// Brings an existing cluster's trust roots into a stack: reads the CAs (ca, front-proxy-ca, etcd/ca) and the
// service-account key pair from a node's /etc/kubernetes/pki (a copy, or over SSH), checks them, stores every private
// key with `pulumi config set --secret` (on stdin: never in a file, a log or an argument list) and writes the
// certificates into the cluster's `adopt` section of the stack file. Nothing on the node is changed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { isMap, isSeq, parseDocument } from "yaml";
import {
  adoptedKeyConfig,
  adoptionProblems,
  KUBERNETES_DIR,
  kubeconfigPath,
  PKI_DIR,
  TRUST_ROOT_KEYS,
  TRUST_ROOTS,
  TrustRoot,
  trustRootPaths,
} from "../components";
import { knownHostsLine, pinnedHostKeyOptions } from "../emulator/commandStandIn";
import { cli, onPath, stackFile, stackFlags } from "./cli";

const { values, usage, path, run } = cli(
  "adopt",
  "Adopts an existing cluster's CAs and service-account key (from a node's /etc/kubernetes/pki) into a stack.",
  {
    ...stackFlags(
      "the stack file, if not stacks/Pulumi.<stack>.yaml (--stack still names the stack)",
      "the stack to write (stacks/Pulumi.<stack>.yaml)",
    ),
    cluster: { type: "string", value: "name", help: "the cluster of the stack file that adopts them" },
    dir: { type: "string", value: "path", help: "a copy of /etc/kubernetes/pki, or a node's root or /etc/kubernetes" },
    ssh: { type: "string", value: "user@host[:port]", help: "read them from a node over SSH instead (root, or a user who can read pki/)" },
    "host-key": { type: "string", value: "key", help: "with --ssh: the node's host key, authorized_keys format (pinned)" },
    identity: { type: "string", value: "file", help: "with --ssh: the private key to log in with (default: the ssh-agent)" },
    root: { type: "string", value: "path", help: "with --ssh: the node's filesystem root, as nodes[].ssh.root (default /)" },
  },
);

/** What kubeadm's kubelet.conf names once the kubelet bootstrapped and rotates its client certificate. */
const KUBELET_ROTATING_CLIENT = "/var/lib/kubelet/pki/kubelet-client-current.pem";

/** Where each root's files are on a node; only the cluster CA is required (none of etcd's with external etcd). */
const FILES: readonly { root: TrustRoot; pemFile: string; keyFile: string; required: boolean }[] = TRUST_ROOTS.map((root) => {
  const { pem, key } = trustRootPaths(root);
  return { root, pemFile: pem, keyFile: key, required: root === "ca" };
});

/** Reads one file of the node's pki directory (by its path on the node), or undefined when it is absent. */
function reader(): { read(file: string): string | undefined; where(file: string): string } {
  if (values.dir) {
    const base = path(values.dir);
    const caCert = relative(PKI_DIR, trustRootPaths("ca").pem);
    const pki = [base, join(base, relative(KUBERNETES_DIR, PKI_DIR)), join(base, PKI_DIR)].find((d) => existsSync(join(d, caCert)));
    if (!pki) throw new Error(`${base}: no ${caCert} there, in pki/ or in etc/kubernetes/pki/`);
    const at = (f: string) => join(pki, relative(PKI_DIR, f));
    return { read: (f) => (existsSync(at(f)) && statSync(at(f)).isFile() ? readFileSync(at(f), "utf8") : undefined), where: at };
  }
  const m = /^([^@\s]+)@([^:\s]+)(?::(\d+))?$/.exec(values.ssh!);
  if (!m) usage(`--ssh ${values.ssh}: user@host[:port]`);
  if (!values["host-key"]) usage("--ssh needs --host-key (the node's host key is pinned, never trusted on first use)");
  const [, user, host, port = "22"] = m!;
  const root = (values.root ?? "/").replace(/\/+$/, "");
  if (!/^(\/[A-Za-z0-9_.-]+)*$/.test(root) || /\/\.\.?(\/|$)/.test(root))
    usage(`--root ${values.root}: an absolute path of letters, digits, "_", "." and "-"`);
  const dir = mkdtempSync(join(tmpdir(), "kube-pki-adopt-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  // The node's host key pinned as delivery pins it.
  writeFileSync(join(dir, "known_hosts"), knownHostsLine(host!, Number(port), values["host-key"]!));
  const args = [
    "-p",
    port,
    "-o",
    "BatchMode=yes",
    ...pinnedHostKeyOptions(values["host-key"]!, join(dir, "known_hosts")),
    ...(values.identity ? ["-i", path(values.identity), "-o", "IdentitiesOnly=yes"] : []),
    `${user}@${host}`,
  ];
  return {
    read: (f) => {
      const r = spawnSync("ssh", [...args, "cat", `${root}${f}`], { encoding: "utf8", timeout: 30_000 });
      if (r.status === 255) throw new Error(`ssh ${user}@${host}:${port}: ${r.stderr.trim().split("\n").pop()}`);
      return r.status === 0 ? r.stdout : undefined;
    },
    where: (f) => `${user}@${host}:${root}${f}`,
  };
}

run(async () => {
  if (!values.stack) usage("--stack is required");
  if (!values.cluster) usage("--cluster is required");
  if (!!values.dir === !!values.ssh) usage("give exactly one of --dir and --ssh");
  // The keys go into the stack through the CLI: without it, say so before reading anything.
  if (!onPath("pulumi")) {
    const version = (require("../package.json") as { dependencies: Record<string, string> }).dependencies["@pulumi/pulumi"];
    throw new Error(
      `needs the pulumi CLI on PATH (it stores the keys with pulumi config set --secret): build it with npm run toolchain ` +
        `(then export PATH="$(npm run -s toolchain | tail -1):$PATH"), or use Pulumi's installer (curl -fsSL https://get.pulumi.com | sh -s -- --version ${version})`,
    );
  }
  const file = stackFile(values, path);
  if (!existsSync(file)) throw new Error(`${file}: no such stack file`);
  const doc = parseDocument(readFileSync(file, "utf8"));
  const clusters = doc.getIn(["config", "kube-pki:clusters"]);
  const entry = isSeq(clusters) ? clusters.items.find((c) => isMap(c) && c.get("name") === values.cluster) : undefined;
  if (!isMap(entry)) throw new Error(`${file}: no cluster named ${values.cluster} in kube-pki:clusters`);

  // Read and check everything before anything is written.
  const source = reader();
  const found: { root: TrustRoot; pemFile: string; pem: string; key: string; keyConfig: string }[] = [];
  const problems: string[] = [];
  for (const f of FILES) {
    const pem = source.read(f.pemFile);
    const key = source.read(f.keyFile);
    if (pem === undefined || key === undefined) {
      if (f.required || pem !== key) problems.push(`${source.where(pem === undefined ? f.pemFile : f.keyFile)}: missing`);
      continue;
    }
    const keyConfig = adoptedKeyConfig(values.cluster!, f.root);
    problems.push(
      ...adoptionProblems(f.root, f.root, { pem, keyConfig }, key, new Date(), {
        pem: source.where(f.pemFile),
        key: source.where(f.keyFile),
      }),
    );
    found.push({ root: f.root, pemFile: f.pemFile, pem: pem.replace(/\r\n/g, "\n").trim() + "\n", key, keyConfig });
  }
  if (problems.length > 0) throw new Error(`refusing to adopt (nothing was written):\n  - ${problems.join("\n  - ")}`);

  // Keys through the CLI's stdin only. The project is the stack file's (stacks/ beside Pulumi.yaml), else this one.
  const project = existsSync(join(dirname(dirname(file)), "Pulumi.yaml")) ? dirname(dirname(file)) : join(__dirname, "..");
  for (const f of found) {
    const r = spawnSync("pulumi", ["config", "set", "--secret", "--stack", values.stack!, "--config-file", file, f.keyConfig], {
      cwd: project,
      input: f.key,
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`pulumi config set --secret ${f.keyConfig} failed: ${r.error?.message ?? r.stderr.trim()}`);
  }
  const written = parseDocument(readFileSync(file, "utf8")); // with the encrypted values the CLI just added
  const target = (written.getIn(["config", "kube-pki:clusters"]) as any).items.find((c: any) => c.get("name") === values.cluster);
  target.set(
    "adopt",
    written.createNode(
      Object.fromEntries(
        found.map((f) => [TRUST_ROOT_KEYS[f.root], { [f.root === "sa" ? "publicKey" : "certificate"]: f.pem, keyConfig: f.keyConfig }]),
      ),
    ),
  );
  // A kubeadm cluster's kubelets joined by TLS bootstrap and rotate their own client certificates (kubelet.conf points
  // at kubelet-client-current.pem): keep it that way, so adopting touches only the control-plane nodes (README,
  // "Workers"). An explicit `workers` in the entry is the operator's choice and stays.
  const bootstrapped = source.read(kubeconfigPath("kubelet.conf"))?.includes(KUBELET_ROTATING_CLIENT) === true;
  if (bootstrapped && !target.has("workers")) {
    target.set("workers", "bootstrap");
    target.set("caKeys", "control-plane");
  }
  writeFileSync(file, written.toString({ lineWidth: 0 }));
  if (bootstrapped && target.get("workers") === "bootstrap") {
    console.log(
      `${source.where(kubeconfigPath("kubelet.conf"))} uses the kubelet's rotating client certificate: workers: bootstrap and caKeys: control-plane written (workers need not be listed)`,
    );
  }
  for (const f of found) console.log(`adopted ${f.root} from ${source.where(f.pemFile)}; its key is the secret kube-pki:${f.keyConfig}`);
  console.log(
    `${file}: clusters[${values.cluster}].adopt written. Review it, commit it, then pulumi preview: every leaf is re-issued by the adopted CAs, which stay byte for byte.`,
  );
});
