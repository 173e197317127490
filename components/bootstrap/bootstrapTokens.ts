import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { randomInt } from "node:crypto";
import { BOOTSTRAP_TOKEN, TokenWindow } from "../model/bootstrap";
import { buildName } from "../model/names";

export interface BootstrapTokensArgs {
  /** The cluster's name in the stack (resource names) (required). */
  readonly cluster: string;
  /** The token windows to keep (tokenWindows(...).kept), the current one last (required). */
  readonly windows: readonly TokenWindow[];
  /** The window whose token the join material carries (required). */
  readonly current: TokenWindow;
  /** Where the Secrets are written: the cluster's bootstrap provider (ClusterBootstrap.provider) (required). */
  readonly provider: k8s.Provider;
}

interface TokenSecretInputs {
  tokenId: string;
}

/**
 * The 16-character secret of a bootstrap token, drawn once on create (crypto.randomInt, [a-z0-9] as kubeadm's
 * token format wants) and kept in state as a secret output: the same token on every later `up`, a new one only for a
 * new id. @pulumi/random is not in the toolchain; this is the project's dynamic-provider pattern (GroupsCertRequest).
 */
const tokenSecretProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: TokenSecretInputs) {
    const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    let tokenSecret = "";
    for (let i = 0; i < 16; i++) tokenSecret += alphabet[randomInt(alphabet.length)];
    return { id: inputs.tokenId, outs: { tokenId: inputs.tokenId, tokenSecret } };
  },
  async diff(_id: string, olds: TokenSecretInputs, news: TokenSecretInputs) {
    const changed = olds.tokenId !== news.tokenId;
    return { changes: changed, replaces: changed ? ["tokenId"] : [], deleteBeforeReplace: false };
  },
};

export class BootstrapTokenSecret extends pulumi.dynamic.Resource {
  // `declare`: a class field would be re-initialised to undefined after super() (ES2022 class fields).
  declare public readonly tokenSecret: pulumi.Output<string>;

  constructor(name: string, tokenId: string, opts?: pulumi.CustomResourceOptions) {
    super(
      tokenSecretProvider,
      name,
      { tokenId, tokenSecret: undefined },
      { ...opts, additionalSecretOutputs: ["tokenSecret"] },
      "kube-pki",
      "BootstrapTokenSecret",
    );
  }
}

/**
 * A cluster's bootstrap tokens: per kept window a random secret and the `kube-system/bootstrap-token-<id>` Secret
 * kubeadm would make (authentication and signing usages, kubeadm's default-node-token group, so an adopted kubeadm
 * cluster's RBAC bindings apply; the expiration the token cleaner acts on). A window that is no longer kept leaves the
 * program, so its Secret is deleted by the next `up`.
 */
export class BootstrapTokens extends pulumi.ComponentResource {
  /** `<id>.<secret>` of the current window's token. Secret. */
  public readonly token: pulumi.Output<string>;
  /** Resolves once every kept token's Secret is written. */
  public readonly written: pulumi.Output<boolean>;

  constructor(name: string, args: BootstrapTokensArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kube-pki:bootstrap:BootstrapTokens", name, {}, opts);
    const provider = args.provider;
    const secrets = new Map<string, pulumi.Output<string>>();
    const objects: pulumi.CustomResource[] = [];
    for (const w of args.windows) {
      const random = new BootstrapTokenSecret(w.resourceName, w.id, { parent: this });
      secrets.set(w.id, random.tokenSecret);
      objects.push(
        new k8s.core.v1.Secret(
          buildName({ kind: "bootstrap-token", cluster: args.cluster, id: w.id, part: "secret" }),
          {
            metadata: { name: `bootstrap-token-${w.id}`, namespace: BOOTSTRAP_TOKEN.namespace },
            type: BOOTSTRAP_TOKEN.secretType,
            stringData: {
              "token-id": w.id,
              "token-secret": pulumi.secret(random.tokenSecret),
              expiration: w.expiresAt,
              "usage-bootstrap-authentication": "true",
              "usage-bootstrap-signing": "true",
              "auth-extra-groups": BOOTSTRAP_TOKEN.group,
              description: `kube-pki: worker TLS bootstrap, window from ${w.startsAt}`,
            },
          },
          { parent: this, provider },
        ),
      );
    }
    this.token = pulumi.secret(pulumi.interpolate`${args.current.id}.${secrets.get(args.current.id)!}`);
    this.written = pulumi.all(objects.map((o) => o.id)).apply(() => true);
    this.registerOutputs({ token: this.token });
  }
}
