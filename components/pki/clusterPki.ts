import * as pulumi from "@pulumi/pulumi";
import { X509Certificate } from "node:crypto";
import { CaName, ClusterCatalog, FileSpec, InventoryEntry, inventoryOf } from "../model/catalog";
import { CertificateAuthority } from "./certificateAuthority";
import { issueCertificate, IssuedCertificate } from "./certificate";
import { issueKubeconfig } from "./kubeconfig";
import { ServiceAccountKey } from "./serviceAccountKey";
import { Signer } from "./certificateAuthority";
import { formerType, withType } from "../typeToken";
import { buildName, userCatalogId } from "../model/names";
import { madeAs, RecordedRoots, RootGeneration, rootSha256, TrustPlan, trustPlan, TrustRoot } from "../model/trust";

export interface ClusterPkiArgs {
  /** The expanded catalog of one validated cluster (planClusters(...)[i].catalog) (required). */
  readonly catalog: ClusterCatalog;
  /** The private keys of the adopted trust roots (cluster.adopt), secret; required for each adopted root. */
  readonly adoptedKeys?: Partial<Record<TrustRoot, pulumi.Input<string>>>;
  /**
   * The trust roots as the stack recorded them at its last update: a generation kube-pki made keeps the key algorithm
   * and validity it was made with (a config change applies to the generations a rotation makes after it).
   */
  readonly recorded?: RecordedRoots;
}

/** One generation of a trust root: a signer, and for the service-account key its public key. */
interface Generation extends Signer {
  readonly validityEndTime: pulumi.Output<string>;
  readonly serial: pulumi.Output<string>;
  readonly publicKeyPem?: pulumi.Output<string>;
}

/** Several PEMs as one bundle, each ending in one newline. */
const bundle = (pems: readonly pulumi.Output<string>[]) =>
  pulumi.all([...pems]).apply((ps) => ps.map((x) => (x.endsWith("\n") ? x : `${x}\n`)).join(""));

/** What a catalog id resolves to once issued. */
interface Issued extends IssuedCertificate {
  readonly kubeconfig?: pulumi.Output<string>;
}

/** ClusterPki's type token before the tokens got their module (7cbda03 and earlier deployed it). */
const FORMER_TYPE = "kube-pki:index:ClusterPki";

export interface IssuedInventoryEntry extends InventoryEntry {
  /** RFC 3339 expiry as the provider reports it. */
  readonly notAfter: string;
  readonly serial: string;
}

/**
 * The whole PKI of one cluster: the three CAs, every leaf, every kubeconfig and the service-account key, as the
 * catalog lists them. It only realizes the catalog; what exists and with which spec is decided there.
 */
export class ClusterPki extends pulumi.ComponentResource {
  /** CA certificates (public): `ca`, `front-proxy-ca`, `etcd-ca`. */
  public readonly caCertificates: pulumi.Output<Record<CaName, string>>;
  /** admin.conf (kubeadm:cluster-admins). Secret. */
  public readonly adminKubeconfig: pulumi.Output<string>;
  /** Kubeconfigs of the configured extra users, by user name. Secret. */
  public readonly userKubeconfigs: pulumi.Output<Record<string, string>>;
  /** Every certificate with its spec, expiry and serial. */
  public readonly inventory: pulumi.Output<IssuedInventoryEntry[]>;
  /** Each trust root's generations with their identity, for the next update to hold them to (never key material). */
  public readonly trustRecord: pulumi.Output<RecordedRoots>;
  public readonly catalog: ClusterCatalog;
  private readonly issued = new Map<string, Issued>();
  /** Per trust root: its plan, its generations, and the trust bundle (every generation, the signer first). */
  private readonly roots = new Map<TrustRoot, { plan: TrustPlan; generations: Map<number, Generation>; bundle: pulumi.Output<string> }>();

  constructor(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kube-pki:pki:ClusterPki", name, { cluster: args.catalog.cluster.name }, formerType(FORMER_TYPE, opts));
    const catalog = args.catalog;
    this.catalog = catalog;
    const cluster = catalog.cluster;
    const cas = new Map<string, Generation>();
    // A generation that a declared rotation is about to drop is no longer protected: its deletion is the plan.
    const protectGeneration = (plan: TrustPlan, g: number) => cluster.protectCAs && !plan.leaving.includes(g);
    const recordedAs = (root: TrustRoot, g: number) => args.recorded?.[root]?.find((r) => r.generation === g);
    const adoptedKey = (root: TrustRoot) => {
      const key = args.adoptedKeys?.[root];
      if (key === undefined) throw new pulumi.ResourceError(`adoptedKeys.${root} is required (cluster.adopt)`, this);
      return pulumi.secret(key);
    };

    // Leaves and kubeconfigs are registered directly below this component (no component of their own: issue 21), with
    // aliases to where a deployed stack has them: below a wrapper below this component, under either of its types.
    const at = { parent: this, formerOwners: [this.urn, this.urn.apply((urn) => withType(urn, FORMER_TYPE))] };
    for (const spec of catalog.certificates) {
      if (spec.kind === "ca") {
        const root = spec.id as TrustRoot;
        const plan = trustPlan(root, cluster.rotation[root], cluster.adopt[root]);
        const generations = new Map<number, Generation>();
        for (const g of plan.generations) {
          generations.set(
            g,
            g === 1 && plan.adopted
              ? // An adopted CA is no resource: its certificate and key as the cluster has them sign the leaves.
                {
                  certPem: pulumi.output(plan.adopted.pem),
                  privateKeyPem: adoptedKey(root),
                  validityEndTime: pulumi.output(""),
                  serial: pulumi.output("adopted"),
                }
              : new CertificateAuthority(
                  buildName({ kind: "ca", cluster: cluster.name, ca: root as CaName, generation: g }),
                  madeAs(spec, recordedAs(root, g)),
                  { parent: this, protect: protectGeneration(plan, g) },
                ),
          );
        }
        const signer = generations.get(plan.signer)!;
        this.roots.set(root, { plan, generations, bundle: bundle(plan.generations.map((g) => generations.get(g)!.certPem)) });
        cas.set(spec.id, signer);
        this.issued.set(spec.id, signer);
        continue;
      }
      const signer = cas.get(spec.signer ?? "");
      if (!signer) throw new pulumi.ResourceError(`${spec.id} is signed by unknown CA ${spec.signer}`, this);
      if (spec.kind === "leaf") {
        this.issued.set(spec.id, issueCertificate(spec.resourceName, { ...spec, signer }, at));
      } else {
        const caBundle = this.roots.get("ca")!.bundle;
        this.issued.set(spec.id, issueKubeconfig(spec.resourceName, { ...spec, ...spec.kubeconfig!, signer, caBundle }, at));
      }
    }
    // Shared by every control-plane node and behind every service-account token: protected like the CAs.
    const saPlan = trustPlan("sa", cluster.rotation.sa, cluster.adopt.sa);
    const saGenerations = new Map<number, Generation>();
    for (const g of saPlan.generations) {
      if (g === 1 && saPlan.adopted) {
        saGenerations.set(g, {
          certPem: pulumi.output(""),
          privateKeyPem: adoptedKey("sa"),
          publicKeyPem: pulumi.output(saPlan.adopted.pem),
          validityEndTime: pulumi.output(""),
          serial: pulumi.output("adopted"),
        });
        continue;
      }
      const key = new ServiceAccountKey(
        buildName({ kind: "service-account", cluster: cluster.name, generation: g }),
        madeAs({ keyAlgorithm: catalog.serviceAccount.keyAlgorithm }, recordedAs("sa", g)),
        { parent: this, protect: protectGeneration(saPlan, g) },
      );
      saGenerations.set(g, {
        certPem: pulumi.output(""),
        privateKeyPem: key.privateKeyPem,
        publicKeyPem: key.publicKeyPem,
        validityEndTime: pulumi.output(""),
        serial: pulumi.output(""),
      });
    }
    // kube-apiserver verifies tokens with every public key in sa.pub; the signing key is sa.key.
    this.roots.set("sa", {
      plan: saPlan,
      generations: saGenerations,
      bundle: bundle(saPlan.generations.map((g) => saGenerations.get(g)!.publicKeyPem!)),
    });

    this.caCertificates = pulumi.all({
      ca: this.trustBundle("ca"),
      "front-proxy-ca": this.trustBundle("front-proxy-ca"),
      "etcd-ca": this.trustBundle("etcd-ca"),
    }) as pulumi.Output<Record<CaName, string>>;
    this.adminKubeconfig = pulumi.secret(this.get("admin.conf").kubeconfig!);
    this.userKubeconfigs = pulumi.secret(
      pulumi.all(Object.fromEntries(cluster.users.map((u) => [u.name, this.get(userCatalogId(u.name)).kubeconfig!]))),
    );
    const entries = inventoryOf(catalog);
    this.inventory = pulumi.all(
      entries.map((e) =>
        pulumi.all([this.get(e.id).validityEndTime, this.get(e.id).serial]).apply(([notAfter, serial]) => ({ ...e, notAfter, serial })),
      ),
    );
    this.trustRecord = pulumi.all(
      Object.fromEntries(
        [...this.roots].map(([root, r]) => [
          root,
          pulumi.all(r.plan.generations.map((g) => this.generationRecord(root, g, recordedAs(root, g)))),
        ]),
      ),
    ) as pulumi.Output<RecordedRoots>;
    this.registerOutputs({
      caCertificates: this.caCertificates,
      adminKubeconfig: this.adminKubeconfig,
      inventory: this.inventory,
      userKubeconfigs: this.userKubeconfigs,
    });
  }

  /** What the stack records of one generation: its identity and, for a made one, how it was made. */
  private generationRecord(root: TrustRoot, g: number, recorded: RootGeneration | undefined): pulumi.Output<RootGeneration> {
    const { plan, generations } = this.roots.get(root)!;
    const gen = generations.get(g)!;
    const adopted = g === 1 && plan.adopted !== undefined;
    const made = adopted
      ? undefined
      : root === "sa"
        ? madeAs({ keyAlgorithm: this.catalog.serviceAccount.keyAlgorithm, validityHours: undefined }, recorded)
        : madeAs(
            this.catalog.certificates.find((c) => c.id === root)!,
            recorded,
          );
    return pulumi.all([root === "sa" ? gen.publicKeyPem! : gen.certPem, gen.validityEndTime]).apply(([pem, end]) => ({
      generation: g,
      adopted,
      sha256: rootSha256(root, pem),
      ...(made ? { keyAlgorithm: made.keyAlgorithm, ...(made.validityHours ? { validityHours: made.validityHours } : {}) } : {}),
      ...(root === "sa" ? {} : { notAfter: adopted ? new Date(new X509Certificate(pem).validTo).toISOString() : end }),
    }));
  }

  private get(id: string): Issued {
    const issued = this.issued.get(id);
    if (!issued) throw new pulumi.ResourceError(`no certificate ${id} in the catalog`, this);
    return issued;
  }

  /** Each CA's signing generation: its certificate and (secret) private key. */
  public get caSigners(): Readonly<Record<CaName, Signer>> {
    const signer = (id: CaName) => ({ certPem: this.get(id).certPem, privateKeyPem: pulumi.secret(this.get(id).privateKeyPem) });
    return { ca: signer("ca"), "front-proxy-ca": signer("front-proxy-ca"), "etcd-ca": signer("etcd-ca") };
  }

  /** A trust root's bundle: every generation's certificate (or, for `sa`, public key), the signing one first. */
  public trustBundle(root: TrustRoot): pulumi.Output<string> {
    return this.roots.get(root)!.bundle;
  }

  /** Each trust root's plan: which generations exist, which signs (for reports). */
  public get trustPlans(): readonly TrustPlan[] {
    return [...this.roots.values()].map((r) => r.plan);
  }

  /** sa.pub: every generation's public key (PKIX PEM). */
  public get serviceAccountPublicKey(): pulumi.Output<string> {
    return this.trustBundle("sa");
  }

  /** sa.key: the signing generation's key. Secret. */
  public get serviceAccountPrivateKey(): pulumi.Output<string> {
    const sa = this.roots.get("sa")!;
    return pulumi.secret(sa.generations.get(sa.plan.signer)!.privateKeyPem);
  }

  /** The content of a file the catalog places on a node. Secret for private keys and kubeconfigs. */
  public contentOf(file: FileSpec): pulumi.Output<string> {
    if (file.source === "sa") {
      return file.content === "public-key" ? this.serviceAccountPublicKey : this.serviceAccountPrivateKey;
    }
    const issued = this.get(file.source);
    const root = this.roots.get(file.source as TrustRoot);
    switch (file.content) {
      // A CA's certificate file is its trust bundle (both generations while a rotation overlaps them).
      case "certificate":
        return root ? root.bundle : issued.certPem;
      case "signer-certificate":
        return issued.certPem;
      case "private-key":
        return pulumi.secret(issued.privateKeyPem);
      case "kubeconfig":
        return pulumi.secret(issued.kubeconfig!);
      case "public-key":
        throw new pulumi.ResourceError(`${file.source} has no public-key file`, this);
    }
  }
}
