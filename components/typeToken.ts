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
