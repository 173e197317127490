// The stack file's schema, in one place: every key of `kube-pki:clusters` with its type, bounds, default and meaning.
// TypeBox schemas are plain JSON Schema objects, so one object serves three readers: config.ts checks the config
// against it at run time, `npm run schema` writes it to schema/stack.schema.json for editors (every shipped stack
// names that file), and TypeScript takes the config's types from it (Filled, below). What JSON Schema cannot say
// (parsing addresses, CIDRs, PEM and SSH keys; relations between values) is in configRules.ts.
//
// Messages are part of the schema, so an editor shows the words `pulumi up` prints (the JSON and YAML language
// services of VS Code and other editors read these annotations): `errorMessage` on a number or a command says what
// it must be; `patternErrorMessage` says what a string failing its `pattern` is; a `not: { pattern, errorMessage }`
// refuses the strings matching that pattern and says why. The keywords config.ts does not read (MIRRORED_KEYWORDS,
// configRules.ts) are there for editors: each mirrors a rule that reports it in kube-pki's words, `minItems` and
// `contains` of `nodes` the rule controlPlaneNode, the `if`/`then`/`else` of a user mastersOnlyBreakGlass.
import { Static, TArray, TBoolean, TInteger, TObject, TOptional, TProperties, TSchema, TString, Type } from "@sinclair/typebox";
import { ROTATION_PHASES } from "./trust";

/** Key algorithms, named as kubeadm's v1beta4 `encryptionAlgorithm`. */
export const KEY_ALGORITHMS = ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export const NODE_ROLES = ["control-plane", "worker"] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

/** Where the three CA private keys go (docs/kubeadm.md §8): nowhere (external-CA mode) or every control-plane node. */
export const CA_KEY_PLACEMENTS = ["none", "control-plane"] as const;

/** How workers get their kubelet identity: certificates kube-pki issues per worker, or TLS bootstrap (README, "Workers"). */
export const WORKER_MODES = ["managed", "bootstrap"] as const;
export type WorkerMode = (typeof WORKER_MODES)[number];
export type CaKeyPlacement = (typeof CA_KEY_PLACEMENTS)[number];

/** Processes on a node that read kube-pki's files and must reload them after a change. */
export const READERS = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "etcd",
  "kubelet",
  "kube-proxy",
  "kube-pki-csr-approver",
] as const;
export type Reader = (typeof READERS)[number];

export const SSH_AUTH = ["key", "agent"] as const;
export type SshAuth = (typeof SSH_AUTH)[number];

/** How files reach the nodes: not at all, into a local directory (labs, laptops), or over SSH. */
export const DELIVERY_MODES = ["none", "local", "ssh"] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** Where the render writes the extra users' kubeconfigs, beside the node directories of a cluster. */
export const RENDER_USERS_DIR = "users";

/** What may appear unquoted in the fixed command strings run on nodes (paths: node root, local directory). */
const SHELL_CHAR = "[A-Za-z0-9_./:@%+=,-]";
export const SHELL_WORD = new RegExp(`^${SHELL_CHAR}+$`);

/**
 * How each component is made to load new certificates on a kubeadm node: static pods must be restarted after a
 * certificate change (docs/kubeadm.md §10); stopping the container with crictl makes the kubelet start it again;
 * the kubelet itself is a systemd unit.
 */
const crictlRestart = (container: string) =>
  // The name filter is a regex: anchored, and limited to kube-system, so `etcd` does not also stop `etcd-backup`.
  // A failing crictl fails the restart instead of passing an empty list to xargs.
  `ids=$(crictl ps -q --name '^${container}$' --label io.kubernetes.pod.namespace=kube-system) && { [ -z "$ids" ] || crictl stop $ids; }`;
export const DEFAULT_RESTART_COMMANDS: Readonly<Record<Reader, string>> = {
  "kube-apiserver": crictlRestart("kube-apiserver"),
  "kube-controller-manager": crictlRestart("kube-controller-manager"),
  "kube-scheduler": crictlRestart("kube-scheduler"),
  etcd: crictlRestart("etcd"),
  kubelet: "systemctl restart kubelet",
  "kube-proxy": crictlRestart("kube-proxy"),
  // kube-pki's approver is a systemd unit (approver/kube-pki-csr-approver.service); try-restart leaves a node
  // without it (workers: managed, or not installed yet) alone, but an update's health gate then fails on its /healthz.
  "kube-pki-csr-approver": "systemctl try-restart kube-pki-csr-approver",
};

/** Thirty days: a scheduled `pulumi up` inside this window re-issues the leaf (docs/tls-provider.md §8). Its default
 * depends on leafHours (at most half of it), so it is not a schema `default` (config.ts applies it). */
export const EARLY_RENEWAL_HOURS = 720;

// ---- the pieces --------------------------------------------------------------------------------------------------

/** RFC 1123 label and subdomain as Kubernetes defines them (net.ts has the same rules as functions; test/schema.test.ts
 * checks they agree). */
const LABEL = "^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const SUBDOMAIN = "^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$";
/** A path with a `.` or `..` component: one directory would have two names. */
const DOT_COMPONENT = {
  type: "string",
  pattern: "(^|/)\\.\\.?(/|$)",
  errorMessage: 'has a "." or ".." component: write the path without them',
};

// Each helper keeps its options in its type, so that Filled (below) knows which keys have a default.
interface Options {
  readonly description: string;
  readonly default?: unknown;
  readonly [keyword: string]: unknown;
}
/** A non-empty string (not only whitespace). */
const Text = <O extends Options>(o: O) => Type.String({ pattern: "\\S", ...o }) as TString & O;
/** A string matching `pattern`; `patternErrorMessage` follows the value in the problem. */
const Pattern = <O extends Options>(pattern: string, patternErrorMessage: string, o: O) =>
  Type.String({ pattern, patternErrorMessage, ...o }) as TString & O;
const OneOf = <T extends string, O extends Options>(values: readonly T[], o: O) =>
  Type.Unsafe<T>({ type: "string", enum: [...values], ...o }) as ReturnType<typeof Type.Unsafe<T>> & O;
/** A whole number from `min` to `max` (the bound of every number: beyond it a value only breaks something later). */
const WholeNumber = <O extends Options>(what: string, min: number, max: number, o: O, maxText = String(max)) =>
  Type.Integer({ minimum: min, maximum: max, errorMessage: `must be ${what} from ${min} to ${maxText}`, ...o }) as TInteger & O;
/** 100 years of 365.25 days: long enough for any CA, short enough for any notAfter JavaScript can represent. */
const MAX_HOURS = 876600;
const Hours = <O extends Options>(min: number, o: O) =>
  WholeNumber("a whole number of hours", min, MAX_HOURS, o, `${MAX_HOURS} (100 years)`);
const Port = <O extends Options>(o: O) => WholeNumber("a port number", 1, 65535, o);
const Flag = <O extends Options>(o: O) => Type.Boolean(o) as TBoolean & O;
const List = <T extends TSchema, O extends Options>(items: T, o: O) => Type.Array(items, o) as TArray<T> & O;
/** An object of known keys only: anything else is a typo. */
const Keys = <T extends TProperties, O extends Options>(properties: T, o: O) =>
  Type.Object(properties, { additionalProperties: false, ...o }) as TObject<T> & O;
const SanList = (description: string) =>
  List(Text({ description: "An IP address, a DNS name or a *.wildcard name." }), { default: [], description });
const SECRET_KEY = "Name of the secret stack config key (`pulumi config set --secret <name>`)";

// ---- a cluster ---------------------------------------------------------------------------------------------------

const AdoptedCa = Keys(
  {
    certificate: Text({ description: "The CA certificate as the nodes have it: one PEM CERTIFICATE block." }),
    keyConfig: Type.Optional(
      Pattern("^[A-Za-z0-9][A-Za-z0-9_.-]*$", "is not a config key name", {
        description: `${SECRET_KEY} holding the CA's private key PEM; default adopted-<cluster>-<root>-key (npm run adopt writes it).`,
      }),
    ),
  },
  { description: "An existing CA instead of a new one (written by `npm run adopt`)." },
);
const AdoptedSa = Keys(
  {
    publicKey: Text({ description: "The service-account public key as the nodes have it (sa.pub): one PEM PUBLIC KEY block." }),
    keyConfig: AdoptedCa.properties.keyConfig,
  },
  { description: "An existing service-account key pair (written by `npm run adopt`)." },
);

const Rotation = Keys(
  {
    generation: Type.Optional(
      WholeNumber("a generation number", 2, 1000, {
        default: 2,
        description: "The generation being rotated to; the one it replaces is generation - 1. A thousand is centuries of yearly rotations.",
      }),
    ),
    phase: OneOf(ROTATION_PHASES, {
      description:
        "add: trust old + new, the old one signs; switch: the new one signs; drop: only the new one is left. One phase per pulumi up.",
    }),
  },
  { description: "A rotation of this trust root without a trust break (README, Rotating a CA)." },
);
/** `adopt` and `rotation` are keyed by trust root, spelt as TRUST_ROOT_KEYS (trust.ts). */
const perRoot = <C extends TSchema, S extends TSchema>(ca: C, sa: S) => ({
  ca: Type.Optional(ca),
  frontProxyCa: Type.Optional(ca),
  etcdCa: Type.Optional(ca),
  serviceAccount: Type.Optional(sa),
});

const restartCommand = (reader: Reader) =>
  Type.Optional(
    Type.String({
      default: DEFAULT_RESTART_COMMANDS[reader],
      errorMessage: 'must be a command string ("" disables it)',
      description: `Run on the node after a file ${reader} reads changed; "" disables it.`,
    }) as TString & { default: string },
  );
const Restart = Keys(
  Object.fromEntries(READERS.map((reader) => [reader, restartCommand(reader)])) as Record<Reader, ReturnType<typeof restartCommand>>,
  { default: {}, description: "Command per component, run on a node after a file it reads changed." },
);

const Delivery = Keys(
  {
    mode: Type.Optional(
      OneOf(DELIVERY_MODES, { default: "none", description: "none, local (files under <localDirectory>/<cluster>/<node>/) or ssh." }),
    ),
    localDirectory: Type.Optional(
      Pattern(SHELL_WORD.source, "may only contain letters, digits and _ . / : @ % + = , - (no ~, spaces or quotes)", {
        not: DOT_COMPONENT,
        description: "Local mode: where the files go, relative to the project; default out/<stack>.",
      }),
    ),
    removeFiles: Type.Optional(Flag({ default: false, description: "Delete a bundle's files from a node when it leaves the config." })),
    healthCheck: Type.Optional(
      Flag({
        default: true,
        description:
          "After a restart, the node must serve the new certificate (openssl s_client on the node) within healthCheckTimeoutSeconds.",
      }),
    ),
    healthCheckTimeoutSeconds: Type.Optional(
      WholeNumber("a whole number of seconds", 1, 3600, {
        default: 120,
        description: "How long the health check waits; longer than an hour would hold every later node of the update.",
      }),
    ),
    restart: Type.Optional(Restart),
    sshAuth: Type.Optional(
      OneOf(SSH_AUTH, {
        default: "key",
        description:
          "key: the secret stack config key sshPrivateKeyConfig; agent: the ssh-agent at SSH_AUTH_SOCK when pulumi up runs (the key never enters the config or the state).",
      }),
    ),
    sshPrivateKeyConfig: Type.Optional(
      Text({ description: `With sshAuth key: ${SECRET_KEY} holding the SSH private key; default sshPrivateKey.` }),
    ),
  },
  { default: {}, description: "How the files reach the nodes." },
);

const ManagementCluster = Keys(
  {
    kubeconfigConfig: Type.Optional(
      Text({ default: "managementKubeconfig", description: `${SECRET_KEY} holding the management cluster's kubeconfig.` }),
    ),
    namespace: Type.Optional(
      Pattern(LABEL, "is not a namespace name (RFC 1123 label)", {
        default: "default",
        description: "Namespace of the Cluster API Cluster object.",
      }),
    ),
    clusterName: Type.Optional(
      Pattern(SUBDOMAIN, "is not an RFC 1123 subdomain", { description: "Name of the Cluster API Cluster; default this cluster's name." }),
    ),
    includeCaKeys: Type.Optional(
      Flag({
        default: false,
        description: "Include the CA private keys: Cluster API then signs itself; without them it treats the CAs as external.",
      }),
    ),
  },
  { description: "Export the CAs, the service-account key pair and admin.conf to a management cluster as Cluster API secrets." },
);

const Ssh = Keys(
  {
    host: Type.Optional(Text({ description: "Host to connect to; default the node's address." })),
    port: Type.Optional(Port({ default: 22, description: "SSH port." })),
    user: Type.Optional(
      Pattern("^[A-Za-z_][A-Za-z0-9_.-]*$", "is not a user name", {
        default: "root",
        description: "Files are owned by root and restarts need it.",
      }),
    ),
    hostKey: Text({
      description:
        "The node's SSH host key, authorized_keys format (ssh-keyscan -t ed25519 <address> | cut -d' ' -f2-): pinned, never trusted on first use. ed25519 or ECDSA: ssh-rsa cannot be pinned.",
    }),
    root: Type.Optional(
      Pattern(`^/${SHELL_CHAR}*$`, "must be an absolute path of letters, digits and _ . / : @ % + = , -", {
        not: DOT_COMPONENT,
        default: "/",
        description: "Where the node's filesystem is for that user (e.g. /host from a toolbox container).",
      }),
    ),
  },
  { description: "How to reach the node (delivery.mode ssh). No two nodes of a stack may share one (host, port, root)." },
);

const Node = Keys(
  {
    name: Pattern(SUBDOMAIN, 'is not a valid node name (RFC 1123 subdomain: lower-case letters, digits, "-" and ".")', {
      not: {
        type: "string",
        pattern: `^${RENDER_USERS_DIR}$|\\.conf$`,
        errorMessage: `collides with what the render writes beside the node directories (admin.conf, ${RENDER_USERS_DIR}/<user>.conf): choose another node name`,
      },
      description: "Node name as the kubelet registers it; CN of its etcd and kubelet certificates.",
    }),
    role: OneOf(NODE_ROLES, { description: "control-plane or worker." }),
    address: Text({ description: "Advertise address (IPv4 or IPv6): kubeadm's localAPIEndpoint.advertiseAddress." }),
    ssh: Type.Optional(Ssh),
  },
  { description: "A node." },
);

const User = Keys(
  {
    name: Pattern(SUBDOMAIN, "is not a valid user name here (RFC 1123 subdomain: it names resources and files)", {
      not: { type: "string", pattern: "^(system:|kubernetes-)", errorMessage: "is reserved for the identities kube-pki issues itself" },
      description: "Certificate CN and kubeconfig user name.",
    }),
    groups: Type.Optional(
      List(
        Text({
          not: { type: "string", pattern: "[\\u0000-\\u001f\\u007f]", errorMessage: "holds a control character (a newline?)" },
          description: "A Kubernetes group (certificate O).",
        }),
        { uniqueItems: true, default: [], description: "Certificate O values (Kubernetes groups), any number." },
      ),
    ),
    breakGlass: Type.Optional(
      Flag({ default: false, description: "A deliberate emergency identity in system:masters (refused without it)." }),
    ),
  },
  {
    description: "An extra client identity, exported as a kubeconfig.",
    // system:masters only with breakGlass: true, and breakGlass only for it.
    if: { type: "object", properties: { groups: { type: "array", contains: { const: "system:masters" } } }, required: ["groups"] },
    then: { type: "object", properties: { breakGlass: { const: true } }, required: ["breakGlass"] },
    else: { type: "object", properties: { breakGlass: { const: false } } },
  },
);

export const ClusterSchema = Keys(
  {
    name: Pattern(LABEL, 'is not an RFC 1123 label (lower-case letters, digits and "-", at most 63)', {
      description: "This cluster in the stack: resource names, outputs, directories.",
    }),
    clusterName: Type.Optional(
      Pattern(SUBDOMAIN, "is not an RFC 1123 subdomain", {
        default: "kubernetes",
        description: "kubeadm clusterName: the cluster name inside kubeconfigs.",
      }),
    ),
    controlPlaneEndpoint: Type.Optional(
      Text({
        description:
          "host or host:port (IP or DNS; the port defaults to apiServer.bindPort): an apiserver SAN and the server of the admin, super-admin, kubelet and kube-proxy kubeconfigs. Without it they use the first control-plane node's address, as kubeadm does.",
      }),
    ),
    serviceSubnet: Text({
      description:
        "Service CIDR; dual-stack as v4,v6 or v6,v4. The first address of the first CIDR (the kubernetes service VIP) is an apiserver SAN. 10 addresses to 20 host bits (kubeadm).",
    }),
    dnsDomain: Type.Optional(
      Pattern(SUBDOMAIN, "is not a DNS domain (RFC 1123 subdomain)", {
        default: "cluster.local",
        description: "For the kubernetes.default.svc.<dnsDomain> SAN.",
      }),
    ),
    apiServer: Type.Optional(
      Keys(
        {
          certSANs: Type.Optional(SanList("Extra apiserver SANs: IPs, DNS names, *.wildcards.")),
          bindPort: Type.Optional(
            Port({
              default: 6443,
              description: "The API server port on each node (controller-manager and scheduler kubeconfigs point there).",
            }),
          ),
        },
        { default: {}, description: "kubeadm's ClusterConfiguration.apiServer." },
      ),
    ),
    etcd: Type.Optional(
      Keys(
        {
          serverCertSANs: Type.Optional(SanList("Extra SANs of etcd's server certificates.")),
          peerCertSANs: Type.Optional(SanList("Extra SANs of etcd's peer certificates.")),
        },
        { default: {}, description: "kubeadm's ClusterConfiguration.etcd.local." },
      ),
    ),
    keyAlgorithm: Type.Optional(
      OneOf(KEY_ALGORITHMS, { default: "ECDSA-P256", description: "Key algorithm of every key (kubeadm's names)." }),
    ),
    validity: Type.Optional(
      Keys(
        {
          caHours: Type.Optional(Hours(1, { default: 87600, description: "CA certificates (10 years)." })),
          leafHours: Type.Optional(Hours(1, { default: 8760, description: "Every leaf certificate (1 year); at most caHours." })),
          earlyRenewalHours: Type.Optional(
            Hours(0, {
              description: `A pulumi up this close to expiry re-issues the leaf; shorter than leafHours. Default ${EARLY_RENEWAL_HOURS} (30 days), at most half of leafHours.`,
            }),
          ),
        },
        { default: {}, description: "Certificate lifetimes in hours." },
      ),
    ),
    protectCAs: Type.Optional(
      Flag({
        default: false,
        description: "protect the CA keys and certificates and the service-account key: no deployment may replace or delete them.",
      }),
    ),
    caKeys: Type.Optional(
      OneOf(CA_KEY_PLACEMENTS, {
        default: "none",
        description: "Where CA private keys go: none (kubeadm's external-CA mode) or control-plane. Never workers.",
      }),
    ),
    workers: Type.Optional(
      OneOf(WORKER_MODES, {
        default: "managed",
        description:
          "How workers get their kubelet identity: managed (kube-pki issues each worker's kubelet certificates) or bootstrap (TLS bootstrap: bootstrap tokens, the controller-manager signs, kubelets rotate; no per-worker resource). bootstrap needs caKeys: control-plane.",
      }),
    ),
    bootstrap: Type.Optional(
      Keys(
        {
          tokenHours: Type.Optional(
            Hours(2, {
              default: 168,
              description:
                "Lifetime of each bootstrap token (7 days). A new token starts every half of it, so the next one exists before the current one expires.",
            }),
          ),
          signingHours: Type.Optional(
            Hours(1, {
              default: 72,
              description:
                "kube-controller-manager --cluster-signing-duration: lifetime of the kubelet certificates it signs (72 h, as Typhoon); kubelets rotate at 70-90% of it. At most validity.leafHours.",
            }),
          ),
        },
        { default: {}, description: "TLS bootstrap of workers (with workers: bootstrap)." },
      ),
    ),
    adopt: Type.Optional(
      Keys(perRoot(AdoptedCa, AdoptedSa), { default: {}, description: "Trust roots brought in from an existing cluster instead of made." }),
    ),
    rotation: Type.Optional(
      Keys(perRoot(Rotation, Rotation), { default: {}, description: "Trust roots being rotated, with their phase." }),
    ),
    delivery: Type.Optional(Delivery),
    publication: Type.Optional(
      Keys(
        {
          kubeadmConfig: Type.Optional(
            Flag({
              default: false,
              description: "Keep kube-system/kubeadm-config's certSANs equal to this config, through the cluster's own admin.conf.",
            }),
          ),
          managementCluster: Type.Optional(ManagementCluster),
        },
        { default: {}, description: "Publishing into Kubernetes." },
      ),
    ),
    nodes: List(Node, {
      minItems: 1,
      contains: { type: "object", properties: { role: { const: "control-plane" } }, required: ["role"] },
      description: "At least one control-plane node; the first is the kubeadm init node (gets super-admin.conf).",
    }),
    workersFile: Type.Optional(
      Pattern(SHELL_WORD.source, "may only contain letters, digits and _ . / : @ % + = , - (no ~, spaces or quotes)", {
        not: DOT_COMPONENT,
        description:
          "A YAML or JSON file, relative to the project, holding a list of worker nodes (entries of nodes; role defaults to worker): a large fleet stays out of the stack config, which Pulumi passes to the program in one environment variable of at most 128 KiB.",
      }),
    ),
    users: Type.Optional(List(User, { default: [], description: "Extra client identities, exported as kubeconfigs." })),
  },
  { description: "A cluster: its whole kubeadm PKI." },
);

/** The value of `kube-pki:clusters`. */
export const ClustersSchema = Type.Array(ClusterSchema, {
  minItems: 1,
  description: "The clusters of this stack (README, Configuration).",
});

const Secret = Keys({ secure: Type.String({ description: "Encrypted by pulumi config set --secret." }) }, { description: "A secret." });

/** A whole stack file, stacks/Pulumi.<stack>.yaml, as Pulumi reads it. */
export const StackFileSchema = Keys(
  {
    secretsprovider: Type.Optional(
      Type.String({ description: "Pulumi: the secrets provider (e.g. awskms://alias/kube-pki); none means the passphrase." }),
    ),
    encryptedkey: Type.Optional(Type.String({ description: "Pulumi: the data key, encrypted by the secrets provider." })),
    encryptionsalt: Type.Optional(Type.String({ description: "Pulumi: the passphrase provider's salt; commit it." })),
    environment: Type.Optional(Type.Unknown({ description: "Pulumi ESC environments this stack imports." })),
    config: Type.Object(
      {
        "kube-pki:clusters": ClustersSchema,
      },
      {
        // Other keys of this project are its secrets (the SSH key, adopted CA keys, a management kubeconfig) or plain
        // strings; other namespaces (aws:region, ...) are theirs to check.
        patternProperties: { "^kube-pki:(?!clusters$)": Type.Union([Type.String(), Secret]) },
        description: "Stack configuration: <namespace>:<key> to value.",
      },
    ),
  },
  {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "kube-pki stack file",
    description: "A kube-pki stack file, stacks/Pulumi.<stack>.yaml (generated from components/model/configSchema.ts by npm run schema).",
  },
);

/** What a reader of the JSON looks for first in each schema object; the rest keeps its order. */
const FIRST = ["$schema", "title", "description", "type", "enum", "default"];
const rank = (key: string) => (FIRST.includes(key) ? FIRST.indexOf(key) : FIRST.length);
/** The schema's JSON text as schema/stack.schema.json holds it (`npm run schema` writes it). */
export const stackSchemaText = () =>
  `${JSON.stringify(
    StackFileSchema,
    (_key, v: unknown) =>
      typeof v === "object" && v !== null && ("type" in v || "anyOf" in v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => rank(a) - rank(b)))
        : v,
    2,
  )}\n`;

// ---- the types -----------------------------------------------------------------------------------------------------

/** Whether a property is there once checked: required, or optional with a default (which config.ts fills in). */
type Present<S> = S extends TOptional<TSchema> ? (S extends { default: unknown } ? true : false) : true;
/** The type of a checked value: a key with a default is always there; an optional key without one may be absent. */
export type Filled<S> =
  S extends TObject<infer P>
    ? { readonly [K in keyof P as Present<P[K]> extends true ? K : never]: Filled<P[K]> } & {
        readonly [K in keyof P as Present<P[K]> extends true ? never : K]?: Filled<P[K]>;
      }
    : S extends TArray<infer I>
      ? readonly Filled<I>[]
      : S extends TSchema
        ? Static<S>
        : never;

/** The config a rule sees: a value that failed its schema or a rule is `null` (and reported); see config.ts. */
export type Checked<T> = T extends readonly (infer U)[]
  ? readonly (Checked<U> | null)[]
  : T extends object
    ? { readonly [K in keyof T]: Checked<T[K]> | null }
    : T;

export type ClusterValue = Filled<typeof ClusterSchema>;
export type NodeValue = Filled<typeof Node>;
export type SshValue = Filled<typeof Ssh>;
export type UserValue = Filled<typeof User>;
export type DeliveryValue = Filled<typeof Delivery>;
export type ManagementClusterValue = Filled<typeof ManagementCluster>;
