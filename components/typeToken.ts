import * as pulumi from "@pulumi/pulumi";

/**
 * Options for a component whose type token changed (every token is `kube-pki:<module>:<Type>`): the old token as an
 * alias, so a stack deployed before keeps the component's URN, and, through it, its children theirs (the engine
 * applies a parent's aliases to its children): nothing is deleted and re-created.
 */
export const formerType = (type: string, opts?: pulumi.ComponentResourceOptions): pulumi.ComponentResourceOptions => ({
  ...opts,
  aliases: [{ type }, ...(opts?.aliases ?? [])],
});

/** `urn` with its own type token (the last of its type chain) replaced by `type`: the URN it had under that token. */
export const withType = (urn: string, type: string): string => {
  const nameAt = urn.lastIndexOf("::");
  const typeAt = Math.max(urn.lastIndexOf("$", nameAt) + 1, urn.lastIndexOf("::", nameAt - 1) + 2);
  return `${urn.slice(0, typeAt)}${type}${urn.slice(nameAt)}`;
};
