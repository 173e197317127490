import * as pulumi from "@pulumi/pulumi";
import { CaName, ClusterCatalog, FileSpec, InventoryEntry, inventoryOf } from "./catalog";
import { CertificateAuthority } from "./certificateAuthority";
import { Certificate } from "./certificate";
import { Kubeconfig } from "./kubeconfig";
import { ServiceAccountKey } from "./serviceAccountKey";

export interface ClusterPkiArgs {
  /** The expanded catalog of one validated cluster (buildCatalog(validateClusters(...)[i])) (required). */
  readonly catalog: ClusterCatalog;
}

/** What a catalog id resolves to once issued. */
interface Issued {
  readonly certPem: pulumi.Output<string>;
  readonly privateKeyPem: pulumi.Output<string>;
  readonly kubeconfig?: pulumi.Output<string>;
  readonly validityEndTime: pulumi.Output<string>;
  readonly serial: pulumi.Output<string>;
}

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
  public readonly catalog: ClusterCatalog;
  private readonly issued = new Map<string, Issued>();
  private readonly serviceAccountKey: ServiceAccountKey;

  constructor(name: string, args: ClusterPkiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kube-pki:index:ClusterPki", name, { cluster: args.catalog.cluster.name }, opts);
    const catalog = args.catalog;
    this.catalog = catalog;
    const cluster = catalog.cluster;
    const cas = new Map<string, CertificateAuthority>();

    for (const spec of catalog.certificates) {
      if (spec.kind === "ca") {
        const ca = new CertificateAuthority(spec.resourceName, spec, { parent: this, protect: cluster.protectCAs });
        cas.set(spec.id, ca);
        this.issued.set(spec.id, ca);
        continue;
      }
      const signer = cas.get(spec.signer ?? "");
      if (!signer) throw new Error(`catalog of ${cluster.name}: ${spec.id} is signed by unknown CA ${spec.signer}`);
      if (spec.kind === "leaf") {
        this.issued.set(spec.id, new Certificate(spec.resourceName, { ...spec, signer }, { parent: this }));
      } else {
        const kc = new Kubeconfig(spec.resourceName, { ...spec, ...spec.kubeconfig!, signer }, { parent: this });
        this.issued.set(spec.id, { ...pick(kc.certificate), kubeconfig: kc.content });
      }
    }
    // Shared by every control-plane node and behind every service-account token: protected like the CAs.
    this.serviceAccountKey = new ServiceAccountKey(catalog.serviceAccount.resourceName,
      { keyAlgorithm: catalog.serviceAccount.keyAlgorithm }, { parent: this, protect: cluster.protectCAs });

    this.caCertificates = pulumi.all({
      ca: this.get("ca").certPem, "front-proxy-ca": this.get("front-proxy-ca").certPem, "etcd-ca": this.get("etcd-ca").certPem,
    }) as pulumi.Output<Record<CaName, string>>;
    this.adminKubeconfig = pulumi.secret(this.get("admin.conf").kubeconfig!);
    this.userKubeconfigs = pulumi.secret(pulumi.all(Object.fromEntries(
      cluster.users.map((u) => [u.name, this.get(`user:${u.name}`).kubeconfig!]))));
    const entries = inventoryOf(catalog);
    this.inventory = pulumi.all(entries.map((e) => pulumi.all([this.get(e.id).validityEndTime, this.get(e.id).serial])
      .apply(([notAfter, serial]) => ({ ...e, notAfter, serial }))));
    this.registerOutputs({
      caCertificates: this.caCertificates, adminKubeconfig: this.adminKubeconfig, inventory: this.inventory,
      userKubeconfigs: this.userKubeconfigs,
    });
  }

  private get(id: string): Issued {
    const issued = this.issued.get(id);
    if (!issued) throw new Error(`cluster ${this.catalog.cluster.name} has no certificate ${id}`);
    return issued;
  }

  /** A CA's certificate and (secret) private key. */
  public caMaterial(id: CaName): { certPem: pulumi.Output<string>; privateKeyPem: pulumi.Output<string> } {
    const ca = this.get(id);
    return { certPem: ca.certPem, privateKeyPem: pulumi.secret(ca.privateKeyPem) };
  }

  /** sa.pub (PKIX PEM). */
  public get serviceAccountPublicKey(): pulumi.Output<string> {
    return this.serviceAccountKey.publicKeyPem;
  }

  /** sa.key. Secret. */
  public get serviceAccountPrivateKey(): pulumi.Output<string> {
    return this.serviceAccountKey.privateKeyPem;
  }

  /** The content of a file the catalog places on a node. Secret for private keys and kubeconfigs. */
  public contentOf(file: FileSpec): pulumi.Output<string> {
    if (file.source === "sa") {
      return file.content === "public-key" ? this.serviceAccountKey.publicKeyPem : this.serviceAccountKey.privateKeyPem;
    }
    const issued = this.get(file.source);
    switch (file.content) {
      case "certificate": return issued.certPem;
      case "private-key": return pulumi.secret(issued.privateKeyPem);
      case "kubeconfig": return pulumi.secret(issued.kubeconfig!);
      case "public-key": throw new Error(`${file.source} has no public-key file`);
    }
  }
}

const pick = (c: Certificate): Issued =>
  ({ certPem: c.certPem, privateKeyPem: c.privateKeyPem, validityEndTime: c.validityEndTime, serial: c.serial });
