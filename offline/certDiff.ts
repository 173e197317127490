// The certificate diff for pull requests: from the steps of `pulumi preview --json`, or from an offline evaluation of
// two versions of a stack's config, one report: per certificate the operation and its cause (spec change, renewal
// window, signer re-issued, new key), SANs added and removed, subject, usage, validity and key changes, computed from
// the old and new inputs; and the node files that will be pushed and the components restarted. It reads only spec
// inputs (never PEMs, never secrets), so no key material can reach the report.
import * as pulumi from "@pulumi/pulumi";
import {
  bundlePathsById,
  CA_SIGNER_PATH,
  ClusterCatalog,
  ClusterPlan,
  defineStack,
  parseName,
  planClusters,
  readWorkersFile,
  RecordedRoots,
  rootSha256,
  rotationChangeProblems,
  splitCatalogId,
  splitTlsChild,
  TRUST_ROOT_KEYS,
  TRUST_ROOTS,
  trustChangeProblems,
  trustPlan,
  userCatalogId,
  WorkersFileReader,
} from "../components";
import { COMMAND_TYPES } from "../emulator/commandStandIn";
import { PROJECT_DIR } from "./stackFile";
import { joinShards } from "../components/model/bootstrap";
import { evaluate, Evaluation, GROUPS_CSR_TYPE } from "../emulator/evaluate";
import { unwrapSecrets } from "../emulator/secrets";
import { TLS_TYPES } from "../emulator/tlsStandIn";

export type StepOp = "create" | "update" | "replace" | "delete" | "same";

/** One resource step, from either source. */
export interface ResourceStep {
  readonly op: StepOp;
  readonly type: string;
  readonly name: string;
  readonly oldInputs?: Record<string, unknown>;
  readonly newInputs?: Record<string, unknown>;
  /** Keys forcing replacement (preview `replaceReasons`; offline the tls replace rules). */
  readonly replaceReasons: readonly string[];
}

const TLS = {
  key: TLS_TYPES.privateKey,
  csr: TLS_TYPES.certRequest,
  selfSigned: TLS_TYPES.selfSignedCert,
  signed: TLS_TYPES.locallySignedCert,
};
const COMMANDS: readonly string[] = Object.values(COMMAND_TYPES);

/** Steps of `pulumi preview --json` (display JSON: `steps[]` with `op`, `urn`, `oldState`, `newState`, `replaceReasons`). */
export function stepsFromPreview(preview: unknown): ResourceStep[] {
  const steps = (preview as { steps?: unknown[] } | null)?.steps;
  if (!Array.isArray(steps)) throw new Error("not the output of `pulumi preview --json`: no steps[]");
  const out: ResourceStep[] = [];
  for (const raw of steps as Record<string, any>[]) {
    // With --show-replacement-steps a replace is split; keep the create-replacement half as the replace.
    const op = raw.op === "create-replacement" ? "replace" : raw.op;
    if (!["create", "update", "replace", "delete", "same"].includes(op)) continue;
    const urn = String(raw.urn ?? "");
    const parts = urn.split("::");
    const type = raw.newState?.type ?? raw.oldState?.type ?? parts[2]?.split("$").pop() ?? "";
    out.push({
      op,
      type,
      name: parts[3] ?? urn,
      oldInputs: raw.oldState?.inputs,
      newInputs: raw.newState?.inputs,
      replaceReasons: raw.replaceReasons ?? [],
    });
  }
  return out;
}

/** Steps of an offline evaluation made with the previous configuration's evaluation as prior state. */
export function stepsFromEvaluation(ev: Evaluation<unknown>, prior: Evaluation<unknown>): ResourceStep[] {
  const before = new Map(prior.resources.map((r) => [r.urn, r]));
  return [
    ...ev.resources.map((r) => ({
      op: r.op as StepOp,
      type: r.type,
      name: r.name,
      replaceReasons: r.replaceKeys,
      oldInputs: before.has(r.urn) ? (unwrapSecrets(before.get(r.urn)!.inputs) as Record<string, unknown>) : undefined,
      newInputs: unwrapSecrets(r.inputs) as Record<string, unknown>,
    })),
    ...ev.deleted.map((r) => ({
      op: "delete" as const,
      type: r.type,
      name: r.name,
      replaceReasons: [],
      oldInputs: unwrapSecrets(r.inputs) as Record<string, unknown>,
    })),
  ];
}

export interface FieldChange<T> {
  readonly before: T;
  readonly after: T;
}

export interface CertificateChange {
  /** Catalog id (`apiserver@cp-1`) when the stack's plan is known, else the resource name stem. */
  readonly certificate: string;
  readonly cluster?: string;
  readonly node?: string;
  /** `blocked`: it would be replaced or deleted, but it is protected (protectCAs): `pulumi up` fails instead. */
  readonly operation: "new" | "re-issue" | "remove" | "update in place" | "blocked";
  readonly causes: readonly string[];
  readonly sansAdded: readonly string[];
  readonly sansRemoved: readonly string[];
  readonly subject?: FieldChange<string>;
  readonly usages?: { readonly added: readonly string[]; readonly removed: readonly string[] };
  readonly validityHours?: FieldChange<number | undefined>;
  readonly earlyRenewalHours?: FieldChange<number | undefined>;
  readonly key?: FieldChange<string>;
  readonly isCa?: FieldChange<boolean>;
}

export interface PushChange {
  readonly cluster?: string;
  readonly node: string;
  readonly bundle: string;
  /** `removed from node`: the node is no longer entitled to these files; its `ca` bundle removes them. */
  readonly operation: "push" | "first push" | "stop managing" | "remove files" | "removed from node";
  readonly files: readonly string[];
}

export interface RestartChange {
  readonly cluster?: string;
  readonly node: string;
  readonly component: string;
  readonly healthCheck: boolean;
}

export interface CertDiffReport {
  readonly title: string;
  readonly certificates: readonly CertificateChange[];
  readonly pushes: readonly PushChange[];
  readonly restarts: readonly RestartChange[];
  /** tls resources the plan does not know (foreign or renamed), reported by resource name. */
  readonly unmatched: number;
  /** Protected resources the change would replace or delete: `pulumi up` refuses it as a whole. */
  readonly blocked: readonly string[];
  /** What the report cannot know, said in the report (e.g. the offline mode sees no state). */
  readonly notes: readonly string[];
  /** Declared rotations of trust roots: the phase, and what it does to which nodes. */
  readonly rotations: readonly string[];
  /** Config problems `pulumi up` refuses the change for (a trust root that would change identity): BLOCKED. */
  readonly refused: readonly string[];
  /** workers: bootstrap: tokens made and removed, join-file shard pushes (one line each). */
  readonly bootstrap: readonly string[];
}

export interface ReportContext {
  /** The previous config's plans, when known: they name what the change removes. */
  readonly basePlans?: readonly ClusterPlan[];
  /** Names of protected resources the change would replace or delete (preview diagnostics, or an evaluation). */
  readonly blocked?: ReadonlySet<string>;
  readonly notes?: readonly string[];
  /** Config problems the program refuses the change for (preview diagnostics, or the offline check). */
  readonly refused?: readonly string[];
}

/** The protected resources a `pulumi preview --json` refused to replace or delete (its error diagnostics). */
export function blockedFromPreview(preview: unknown): Set<string> {
  const diagnostics = (preview as { diagnostics?: { urn?: string; message?: string; severity?: string }[] } | null)?.diagnostics ?? [];
  return new Set(
    diagnostics
      .filter((d) => d.severity === "error" && d.urn && /marked for protection|because it is protected/.test(d.message ?? ""))
      .map((d) => d.urn!.split("::").pop()!),
  );
}

/**
 * The config problems a `pulumi preview --json` failed with (the program's ConfigError, one `path: message` line
 * each): the change is refused as a whole.
 */
export function refusedFromPreview(preview: unknown): string[] {
  const diagnostics = (preview as { diagnostics?: { message?: string; severity?: string }[] } | null)?.diagnostics ?? [];
  return diagnostics
    .filter((d) => d.severity === "error" && /kube-pki:clusters is invalid/.test(d.message ?? ""))
    .flatMap((d) => (d.message ?? "").split("\n").flatMap((l) => /^\s+- (.*)$/.exec(l)?.[1] ?? []));
}

/** The subject a CSR's inputs describe: tls.CertRequest's `subject`, or GroupsCertRequest's CN and O values. */
const subjectOf = (inputs?: Record<string, unknown>): string => {
  const o = (inputs?.subject ?? inputs ?? {}) as { organization?: string; organizations?: string[]; commonName?: string };
  const orgs = o.organizations ?? (o.organization ? [o.organization] : []);
  return [...orgs.map((x) => `O=${x}`), o.commonName && `CN=${o.commonName}`].filter(Boolean).join(", ") || "(empty)";
};
const BREAK_GLASS = "⚠ break-glass identity: system:masters bypasses RBAC and cannot be revoked before it expires";
const sansOf = (inputs?: Record<string, unknown>): string[] => [
  ...((inputs?.dnsNames as string[] | undefined) ?? []).map((d) => `DNS:${d}`),
  ...((inputs?.ipAddresses as string[] | undefined) ?? []).map((i) => `IP:${i}`),
];
const keyOf = (inputs?: Record<string, unknown>): string => {
  if (!inputs) return "";
  const alg = String(inputs.algorithm ?? "");
  return alg === "RSA" ? `RSA-${inputs.rsaBits ?? 2048}` : alg === "ECDSA" ? `ECDSA-${inputs.ecdsaCurve ?? "P224"}` : alg;
};
const changed = <T>(before: T, after: T): FieldChange<T> | undefined =>
  JSON.stringify(before) === JSON.stringify(after) ? undefined : { before, after };

/** What a certificate resource-name stem is, according to the stack's plan. */
interface Known {
  id: string;
  cluster: string;
  node?: string;
  kind: "ca" | "service-account" | "leaf" | "kubeconfig" | "user";
}

/**
 * The certificate whose key, CSR and certificate a stem groups. A rotation's later generations are not one of the
 * plan's certificates here: they are listed by resource name.
 */
function knownStem(stem: string, plans: readonly ClusterPlan[]): Known | undefined {
  const x = parseName(stem, plans);
  switch (x?.kind) {
    case "ca":
      return x.generation === 1 && !x.part ? { id: x.ca, cluster: x.cluster, kind: x.kind } : undefined;
    case "service-account":
      return x.generation === 1 && !x.part ? { id: "sa (service-account key)", cluster: x.cluster, kind: x.kind } : undefined;
    case "leaf":
      return x.part ? undefined : { id: x.certificate, cluster: x.cluster, node: x.node, kind: x.kind };
    // Kubeconfig client certificates live one level down, in `<kubeconfig>-client`.
    case "kubeconfig":
      return x.part === "client" ? { id: x.kubeconfig, cluster: x.cluster, node: x.node, kind: x.kind } : undefined;
    case "user":
      return x.part === "client" ? { id: userCatalogId(x.user), cluster: x.cluster, kind: x.kind } : undefined;
    default:
      return undefined;
  }
}

/**
 * Builds the report from steps. `plans` (the head config's) name certificates, map pushes to nodes and files, and
 * tell which files a node is no longer entitled to; `basePlans` (the previous config's, when known) name what left.
 */
export function buildReport(
  title: string,
  steps: readonly ResourceStep[],
  plans: readonly ClusterPlan[] = [],
  context: ReportContext = {},
): CertDiffReport {
  const headPlans = plans;
  plans = [...(context.basePlans ?? []), ...headPlans];
  const blocked = context.blocked ?? new Set<string>();
  const groups = new Map<string, { key?: ResourceStep; csr?: ResourceStep; cert?: ResourceStep }>();
  for (const s of steps) {
    const role =
      s.type === TLS.key
        ? "key"
        : s.type === TLS.csr || s.type === GROUPS_CSR_TYPE
          ? "csr"
          : s.type === TLS.signed || s.type === TLS.selfSigned
            ? "cert"
            : undefined;
    if (!role) continue;
    const stem = splitTlsChild(s.name).parent;
    const g = groups.get(stem) ?? {};
    g[role] = s;
    groups.set(stem, g);
  }

  let unmatched = 0;
  const certificates: CertificateChange[] = [];
  for (const [stem, g] of groups) {
    const all = [g.key, g.csr, g.cert].filter((s): s is ResourceStep => !!s);
    if (all.every((s) => s.op === "same")) continue;
    const known = knownStem(stem, plans);
    if (!known) unmatched++;
    const main = g.cert ?? g.key!;
    const isBlocked = all.some((s) => blocked.has(s.name));
    const operation = isBlocked
      ? "blocked"
      : main.op === "create"
        ? "new"
        : main.op === "delete"
          ? "remove"
          : main.op === "replace"
            ? "re-issue"
            : "update in place";
    const causes: string[] = isBlocked
      ? [
          `blocked: ${known?.kind === "service-account" ? "the service-account key" : known?.kind === "ca" ? "CA" : "it"} is protected (protectCAs)`,
        ]
      : [];
    if (operation === "re-issue" || operation === "update in place" || operation === "blocked") {
      const certReasons = g.cert?.replaceReasons ?? [];
      if (g.key?.op === "replace") causes.push("new key");
      const csrSpec = (g.csr?.replaceReasons ?? []).filter((r) => r !== "privateKeyPem");
      const certSpec = certReasons.filter(
        (r) => !["certRequestPem", "caCertPem", "caPrivateKeyPem", "privateKeyPem", "readyForRenewal"].includes(r),
      );
      if (csrSpec.length + certSpec.length > 0) causes.push(`spec change (${[...new Set([...csrSpec, ...certSpec])].join(", ")})`);
      if (certReasons.includes("readyForRenewal")) causes.push("renewal window reached");
      if (certReasons.some((r) => r === "caCertPem" || r === "caPrivateKeyPem") && !causes.includes("new key"))
        causes.push("signer re-issued");
      if (operation === "update in place") causes.push(`in-place update (${diffKeys(main).join(", ")}): no new certificate`);
    }
    if (operation !== "remove" && /(^|, )O=system:masters(,|$)/.test(subjectOf(g.csr?.newInputs)) && known?.kind === "user")
      causes.push(BREAK_GLASS);
    const csrOld = g.csr?.oldInputs ?? g.cert?.oldInputs;
    const csrNew = g.csr?.newInputs ?? g.cert?.newInputs;
    const [sOld, sNew] = [sansOf(csrOld), sansOf(csrNew)];
    const usesOld = (g.cert?.oldInputs?.allowedUses as string[] | undefined) ?? [];
    const usesNew = (g.cert?.newInputs?.allowedUses as string[] | undefined) ?? [];
    const bothSides = operation === "re-issue" || operation === "update in place" || operation === "blocked";
    certificates.push({
      certificate: known?.id ?? stem,
      cluster: known?.cluster,
      node: known?.node,
      operation,
      causes,
      sansAdded: operation === "remove" ? [] : operation === "new" ? sNew : sNew.filter((x) => !sOld.includes(x)),
      sansRemoved: operation === "new" ? [] : operation === "remove" ? sOld : sOld.filter((x) => !sNew.includes(x)),
      subject: bothSides ? changed(subjectOf(csrOld), subjectOf(csrNew)) : undefined,
      usages:
        bothSides && JSON.stringify(usesOld) !== JSON.stringify(usesNew)
          ? { added: usesNew.filter((u) => !usesOld.includes(u)), removed: usesOld.filter((u) => !usesNew.includes(u)) }
          : undefined,
      validityHours: bothSides
        ? changed(
            g.cert?.oldInputs?.validityPeriodHours as number | undefined,
            g.cert?.newInputs?.validityPeriodHours as number | undefined,
          )
        : undefined,
      earlyRenewalHours: bothSides
        ? changed(g.cert?.oldInputs?.earlyRenewalHours as number | undefined, g.cert?.newInputs?.earlyRenewalHours as number | undefined)
        : undefined,
      key: bothSides && g.key ? changed(keyOf(g.key.oldInputs), keyOf(g.key.newInputs)) : undefined,
      isCa: bothSides ? changed(!!g.cert?.oldInputs?.isCaCertificate, !!g.cert?.newInputs?.isCaCertificate) : undefined,
    });
  }

  // Stable order, whatever order the steps came in (the engine's or an evaluation's): cluster, node, certificate.
  const order = (c: CertificateChange) => `${c.cluster ?? ""}\u0000${c.node ?? ""}\u0000${c.certificate}`;
  certificates.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));

  const pushPlans = new Map(
    plans.flatMap((p) => p.delivery.pushes.map((push) => [push.resourceName, { push, cluster: p.catalog.cluster.name }] as const)),
  );
  const restartPlans = new Map(
    plans.flatMap((p) => p.delivery.restarts.map((r) => [r.resourceName, { r, cluster: p.catalog.cluster.name }] as const)),
  );
  const pushes: PushChange[] = [];
  const restarts: RestartChange[] = [];
  const lost = lostBundles(headPlans);
  for (const s of steps) {
    if (!COMMANDS.includes(s.type) || s.op === "same") continue;
    const gone = s.op === "delete" ? lost(s.name) : undefined;
    if (gone) {
      pushes.push({ ...gone, operation: "removed from node" });
      continue;
    }
    const push = pushPlans.get(s.name);
    if (push && s.op !== "delete") {
      pushes.push({
        cluster: push.cluster,
        node: push.push.node.name,
        bundle: splitCatalogId(push.push.bundle.id).name,
        operation: s.op === "create" ? "first push" : "push",
        files: push.push.bundle.files.map((f) => f.path),
      });
      continue;
    }
    const restart = restartPlans.get(s.name);
    if (restart) {
      restarts.push({
        cluster: restart.cluster,
        node: restart.r.node.name,
        component: restart.r.reader,
        healthCheck: restart.r.checks.length > 0,
      });
      continue;
    }
    // A push the plans do not have is read from its name alone.
    const unplanned = push ? undefined : parseName(s.name, []);
    const bundle = push ? splitCatalogId(push.push.bundle.id).name : unplanned?.kind === "unplanned-push" ? unplanned.bundle : undefined;
    if (s.op === "delete" && bundle !== undefined) {
      // A push that left the plan with its node: its files stay unless its delete command removes them.
      const removes = typeof s.oldInputs?.delete === "string" && s.oldInputs.delete.length > 0;
      pushes.push({
        cluster: push?.cluster,
        node: push?.push.node.name ?? s.name,
        bundle,
        operation: removes ? "remove files" : "stop managing",
        files: push ? push.push.bundle.files.map((f) => f.path) : [],
      });
    }
  }
  const at = (x: { cluster?: string; node: string }, rest: string) => `${x.cluster ?? ""}\u0000${x.node}\u0000${rest}`;
  pushes.sort((a, b) => at(a, a.bundle).localeCompare(at(b, b.bundle)));
  restarts.sort((a, b) => at(a, a.component).localeCompare(at(b, b.component)));
  return {
    title,
    certificates,
    pushes,
    restarts,
    unmatched,
    blocked: [...blocked].sort(),
    notes: context.notes ?? [],
    rotations: rotationsOf(headPlans, context.basePlans),
    refused: context.refused ?? [],
    bootstrap: bootstrapChanges(steps, plans),
  };
}

/**
 * The bootstrap objects a change touches, readably: a token (its random secret and its kube-system Secret) that a
 * new window brings or an old one takes away, and each shard whose join files are pushed, with its workers.
 */
function bootstrapChanges(steps: readonly ResourceStep[], plans: readonly ClusterPlan[]): string[] {
  const shards = new Map(plans.flatMap((p) => joinShards(p.catalog.cluster).map((s) => [s.resourceName, s] as const)));
  const out = new Set<string>();
  for (const s of steps) {
    if (s.op === "same") continue;
    const x = parseName(s.name, plans);
    // A token is its Secret object (its random secret, a resource of its own, comes and goes with it).
    if (x?.kind === "bootstrap-token" && x.part === "secret") {
      const expiration = (unwrapSecrets(s.newInputs ?? s.oldInputs) as any)?.stringData?.expiration;
      const what =
        s.op === "create"
          ? `made${typeof expiration === "string" ? `, expires ${expiration}` : ""}`
          : s.op === "delete"
            ? "removed (its window has passed; join material handed out with it stops working)"
            : s.op;
      out.add(`${x.cluster}: bootstrap token ${x.id}: ${what}`);
    } else if (x?.kind === "join-shard") {
      const shard = shards.get(s.name);
      const members = shard?.members.map((m) => m.name) ?? [];
      const shown = members.length > 8 ? `${members.slice(0, 8).join(", ")}, … (${members.length})` : members.join(", ");
      const what = s.op === "create" ? "first push" : s.op === "delete" ? "no longer pushed (no listed worker left in it)" : "push";
      out.add(`${x.cluster}: join files, shard ${String(x.shard).padStart(2, "0")}: ${what}${shown ? ` to ${shown}` : ""}`);
    }
  }
  return [...out].sort();
}

/**
 * What each declared rotation phase does (docs/kubeadm.md §11): only phases the change moves to, when the previous
 * config is known (a phase already applied does nothing more). Each says which nodes get what, and what must happen
 * before the next phase.
 */
function rotationsOf(plans: readonly ClusterPlan[], basePlans: readonly ClusterPlan[] | undefined): string[] {
  const out: string[] = [];
  for (const {
    catalog: { cluster },
  } of plans) {
    const base = basePlans?.find((p) => p.catalog.cluster.name === cluster.name)?.catalog.cluster;
    const cps = cluster.nodes.filter((n) => n.role === "control-plane").map((n) => n.name);
    const all = cluster.nodes.map((n) => n.name);
    const list = (names: readonly string[]) => `${names.length} node(s): ${names.join(", ")}`;
    for (const root of TRUST_ROOTS) {
      const r = cluster.rotation[root];
      if (!r) continue;
      const before = base?.rotation[root];
      if (basePlans && before && before.generation === r.generation && before.phase === r.phase) continue;
      const old = r.generation - 1;
      const sa = root === "sa";
      const where = sa ? list(cps) : root === "ca" ? list(all) : list(cps);
      const does = {
        add: sa
          ? `a new service-account key is made; sa.pub holds both, kube-apiserver restarted (${where}); tokens are still signed by generation ${old}`
          : `a new CA is made; every ${root}.crt and kubeconfig on ${where} trusts both, the components reading them restarted one control-plane node at a time; leaves are still signed by generation ${old}`,
        switch: sa
          ? `sa.key is the new key on ${where} (tokens are signed by generation ${r.generation}); sa.pub still holds both. Before drop: let every token be refreshed (the kubelet renews a pod's token by 80 % of its lifetime, 1 h by default) and re-create token Secrets made before this`
          : `every leaf ${root} signs is re-issued by generation ${r.generation} and delivered to ${where}; trust still holds both. Before drop: fetch again every kubeconfig copied off the nodes (userKubeconfigs, admin)`,
        drop: sa
          ? `generation ${old} leaves sa.pub on ${where}: tokens it signed are refused`
          : `generation ${old} leaves every bundle on ${where}: certificates it signed are refused; its key is removed`,
      }[r.phase];
      // The one manifest change a rotation needs (kube-controller-manager refuses a signing bundle).
      const signer =
        root === "ca" && r.phase === "add" && cluster.caKeys === "control-plane"
          ? ` kube-controller-manager must sign with ${CA_SIGNER_PATH} (its --cluster-signing-cert-file), not ca.crt, which now holds both: check every control-plane node before this up.`
          : "";
      const adopted =
        r.phase === "drop" && old === 1 && cluster.adopt[root]
          ? ` Generation 1 was adopted: remove adopt.${TRUST_ROOT_KEYS[root]} and its key (pulumi config rm ${cluster.adopt[root]!.keyConfig}).`
          : "";
      out.push(`${cluster.name}: rotation of ${root} to generation ${r.generation}, phase ${r.phase}: ${does}.${signer}${adopted}`);
    }
  }
  return out;
}

/**
 * For a deleted push (`<cluster>-<node>-push-<bundle>`) of a node that is still in the head config: the files of that
 * bundle the node is no longer entitled to (its `ca` bundle's absent list removes them), else undefined.
 */
function lostBundles(headPlans: readonly ClusterPlan[]): (pushName: string) => Omit<PushChange, "operation"> | undefined {
  const paths = bundlePathsById();
  return (pushName) => {
    const push = parseName(pushName, headPlans);
    if (push?.kind !== "push") return undefined;
    const { catalog } = headPlans.find((p) => p.catalog.cluster.name === push.cluster)!;
    const absent = new Set((catalog.bundles.find((b) => b.id === "ca" && b.node === push.node)?.absent ?? []).map((a) => a.path));
    const files = (paths.get(push.bundle) ?? []).filter((p) => absent.has(p));
    return files.length > 0 ? { cluster: push.cluster, node: push.node, bundle: push.bundle, files } : undefined;
  };
}

function diffKeys(s: ResourceStep): string[] {
  const keys = new Set([...Object.keys(s.oldInputs ?? {}), ...Object.keys(s.newInputs ?? {})]);
  return [...keys].filter((k) => JSON.stringify(s.oldInputs?.[k]) !== JSON.stringify(s.newInputs?.[k]) && !/Pem$/.test(k)).sort();
}

// ---- rendering ----------------------------------------------------------------------------------------------------

const where = (c: { cluster?: string; node?: string }) => [c.cluster, c.node].filter(Boolean).join("/") || "—";

/**
 * Text for a Markdown table cell: nothing in it can end the cell or row, open HTML (a comment hiding the rest), or
 * add emphasis, links or code. Values come from configs and preview JSON a pull request controls.
 */
export const mdText = (s: string) => s.replace(/\r?\n|\r/g, " ").replace(/[\\`*_[\]<>|&~#!]/g, (c) => MD_ESCAPES[c] ?? `\\${c}`);
const MD_ESCAPES: Record<string, string> = { "<": "&lt;", ">": "&gt;", "&": "&amp;", "|": "\\|" };
/** A code span for plain identifiers and paths; anything else is shown as escaped text. */
export const mdCode = (s: string) => (/^[A-Za-z0-9_.:@/+=,-]+$/.test(s) ? `\`${s}\`` : mdText(s));

function details(c: CertificateChange): string[] {
  const lines: string[] = [];
  if (c.sansAdded.length) lines.push(`SANs added: ${c.sansAdded.join(", ")}`);
  if (c.sansRemoved.length) lines.push(`SANs removed: ${c.sansRemoved.join(", ")}`);
  if (c.subject) lines.push(`subject: ${c.subject.before} → ${c.subject.after}`);
  if (c.usages) lines.push(`usages: ${[...c.usages.added.map((u) => `+${u}`), ...c.usages.removed.map((u) => `-${u}`)].join(" ")}`);
  if (c.validityHours) lines.push(`validity: ${c.validityHours.before ?? "?"} h → ${c.validityHours.after ?? "?"} h`);
  if (c.earlyRenewalHours) lines.push(`early renewal: ${c.earlyRenewalHours.before ?? 0} h → ${c.earlyRenewalHours.after ?? 0} h`);
  if (c.key) lines.push(`key: ${c.key.before} → ${c.key.after}`);
  if (c.isCa) lines.push(`CA: ${c.isCa.before} → ${c.isCa.after}`);
  return lines;
}

function summary(r: CertDiffReport): string {
  const count = (op: CertificateChange["operation"]) => r.certificates.filter((c) => c.operation === op).length;
  if (r.refused.length > 0) {
    return `BLOCKED: pulumi up refuses this config and changes nothing (${r.refused.length} problem(s)): ${r.refused.join("; ")}`;
  }
  if (r.blocked.length > 0) {
    return (
      `BLOCKED: this change would replace or delete ${r.blocked.length} protected resource(s) (protectCAs: CA keys and ` +
      `certificates, the service-account key, the destroy guard): pulumi up refuses it and changes nothing. ` +
      `Rotate a CA deliberately instead, or turn protectCAs off first.`
    );
  }
  const nodes = new Set(r.pushes.map((p) => `${p.cluster}/${p.node}`)).size;
  return (
    `${count("re-issue")} re-issued, ${count("new")} new, ${count("remove")} removed, ${count("update in place")} updated in place; ` +
    `${r.pushes.length} bundle push(es) to ${nodes} node(s); ${r.restarts.length} restart(s)`
  );
}

export function renderMarkdown(r: CertDiffReport): string {
  const out = [
    `### ${r.title}`,
    "",
    r.blocked.length + r.refused.length > 0 ? `**${mdText(summary(r))}**` : summary(r),
    "",
    ...r.rotations.map((x) => `- **${mdText(x)}**`),
    ...(r.rotations.length ? [""] : []),
    ...r.bootstrap.map((x) => `- ${mdText(x)}`),
    ...(r.bootstrap.length ? [""] : []),
    ...r.notes.map((n) => `_${mdText(n)}_`),
    ...(r.notes.length ? [""] : []),
  ];
  if (r.certificates.length === 0 && r.pushes.length === 0) return [...out, "No certificate changes."].join("\n") + "\n";
  if (r.certificates.length) {
    out.push("| certificate | cluster/node | change | cause | details |", "|---|---|---|---|---|");
    for (const c of r.certificates) {
      out.push(
        `| ${mdCode(c.certificate)} | ${mdText(where(c))} | **${c.operation}** | ${mdText(c.causes.join("; ")) || "—"} | ` +
          `${details(c).map(mdText).join("<br>") || "—"} |`,
      );
    }
    out.push("");
  }
  if (r.pushes.length) {
    out.push("<details><summary>Files pushed to nodes</summary>", "", "| cluster/node | bundle | files | |", "|---|---|---|---|");
    for (const p of r.pushes) {
      out.push(`| ${mdText(where(p))} | ${mdCode(p.bundle)} | ${p.files.map(mdCode).join("<br>") || "—"} | ${p.operation} |`);
    }
    out.push("", "</details>", "");
  }
  if (r.restarts.length) {
    out.push(
      `Restarts (control-plane nodes one at a time): ${r.restarts.map((x) => `${mdText(x.component)} on ${mdText(where(x))}${x.healthCheck ? " ✓health-checked" : ""}`).join(", ")}`,
      "",
    );
  }
  if (r.unmatched) out.push(`_${r.unmatched} certificate resource(s) not in this stack's catalog are listed by resource name._`, "");
  return out.join("\n");
}

export function renderText(r: CertDiffReport): string {
  const out = [r.title, summary(r), ...r.rotations.map((x) => `${x}`), ...r.bootstrap, ...r.notes.map((n) => `note: ${n}`)];
  for (const c of r.certificates) {
    out.push(`  ${c.operation.padEnd(15)} ${c.certificate} (${where(c)})${c.causes.length ? `: ${c.causes.join("; ")}` : ""}`);
    for (const d of details(c)) out.push(`      ${d}`);
  }
  for (const p of r.pushes) out.push(`  ${p.operation.padEnd(15)} ${where(p)} ${p.bundle}: ${p.files.join(" ")}`);
  for (const x of r.restarts) out.push(`  restart         ${where(x)} ${x.component}${x.healthCheck ? " (health-checked)" : ""}`);
  return `${out.join("\n")}\n`;
}

// ---- offline mode: two versions of a stack's config through the same catalog ---------------------------------------

/** Delivery is planned but never executed offline; SSH stacks only need the key to exist. */
const offlineEnvironment = (stack: string) => ({ stack, secret: () => pulumi.secret("offline: not used") });

/**
 * The report `pulumi preview` would give for moving a stack from `baseClusters` (undefined: the stack is new) to
 * `headClusters`: the program is evaluated with each, the second with the first as its state and its record.
 */
export async function offlineReport(
  stack: string,
  baseClusters: unknown,
  headClusters: unknown,
  opts: {
    readonly trustRecorded?: boolean;
    readonly baseWorkersFile?: WorkersFileReader;
    readonly headWorkersFile?: WorkersFileReader;
  } = {},
): Promise<CertDiffReport> {
  // Each version's workers files as of that version (a git revision's, for --base and --head), else the working tree's.
  const headPlans = planClusters(headClusters, opts.headWorkersFile ?? readWorkersFile(PROJECT_DIR));
  const basePlans = baseClusters === undefined ? [] : planClusters(baseClusters, opts.baseWorkersFile ?? readWorkersFile(PROJECT_DIR));
  // The base config stands for what the stack recorded: the head must keep its trust roots' identities (what pulumi up
  // refuses is BLOCKED here), and made CAs keep how they were made. `trustRecorded: false` models a stack deployed
  // before kube-pki recorded its trust roots (output `trustRoots`), which its next update records.
  const previousTrust =
    baseClusters === undefined || opts.trustRecorded === false
      ? undefined
      : Object.fromEntries(basePlans.map(({ catalog }) => [catalog.cluster.name, plannedRoots(catalog)]));
  const base =
    baseClusters === undefined
      ? await evaluate(() => undefined, { stack })
      : await evaluate(() => defineStack(basePlans, offlineEnvironment(stack)), { stack });
  const head = await evaluate(() => defineStack(headPlans, { ...offlineEnvironment(stack), previousTrust, refuseTrustChanges: false }), {
    stack,
    prior: base,
    continueOnError: true,
  });
  // Base plans name what the head removed; head plans win for everything that still exists.
  return buildReport(`kube-pki certificate diff: stack \`${stack}\``, stepsFromEvaluation(head, base), headPlans, {
    basePlans,
    blocked: new Set(head.protectViolations.map((v) => v.name)),
    refused: [
      ...trustChangeProblems(headPlans, previousTrust),
      // As pulumi up checks against the recorded phases; a new stack (no base) has none: only add may come first.
      ...rotationChangeProblems(
        headPlans,
        Object.fromEntries(basePlans.map(({ catalog: { cluster } }) => [cluster.name, cluster.rotation])),
      ),
    ],
    notes: [
      "Offline mode: computed from two versions of the config, without the stack's state. It cannot see " +
        "certificates reaching their renewal window or expiry; `pulumi preview` (and its cert diff) can.",
    ],
  });
}

/** The trust roots a config makes, as a stack deployed from it would record them (made ones without their hash). */
function plannedRoots(catalog: ClusterCatalog): RecordedRoots {
  const { cluster } = catalog;
  return Object.fromEntries(
    TRUST_ROOTS.map((root) => {
      const plan = trustPlan(root, cluster.rotation[root], cluster.adopt[root]);
      const spec = root === "sa" ? catalog.serviceAccount : catalog.certificates.find((c) => c.id === root)!;
      return [
        root,
        plan.generations.map((g) =>
          g === 1 && plan.adopted
            ? { generation: g, adopted: true, sha256: rootSha256(root, plan.adopted.pem) }
            : {
                generation: g,
                adopted: false,
                sha256: "",
                keyAlgorithm: spec.keyAlgorithm,
                ...("validityHours" in spec ? { validityHours: spec.validityHours } : {}),
              },
        ),
      ];
    }),
  );
}
