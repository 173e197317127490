// The Pulumi program: one ClusterPki per cluster in `kube-pki:clusters` (see README, "Configuration"). Asynchronous
// only to read what the stack recorded at its last update (its own outputs, through a StackReference to itself):
// the rotation phases, which the new ones are checked against before anything is registered.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, defineStack, planClusters, RotationState, suggestion } from "./components";

export = async () => {
  const config = new pulumi.Config("kube-pki");
  const clusters = config.getObject<unknown>("clusters");
  if (clusters === undefined) {
    // A misspelt key (`kube-pki:cluster`, `kubepki:clusters`) reads as "not set": name the near miss.
    const near = suggestion(Object.keys(pulumi.runtime.allConfig()), "kube-pki:clusters", (k) => k.replace(/[-_]/g, ""));
    if (near) throw new ConfigError([`clusters: is not set; the stack has "${near}": did you mean "kube-pki:clusters"?`]);
  }
  // The config is checked before the stack is read: a bad config registers nothing at all.
  planClusters(clusters);
  const self = new pulumi.StackReference("self", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
  const recorded = await self.getOutputDetails("rotation");
  const program = defineStack(clusters, {
    stack: pulumi.getStack(),
    secret: (key) => config.getSecret(key),
    // Adopted keys are checked against their certificates before anything is registered, so read in plain text here.
    plainSecret: (key) => pulumi.runtime.getConfig(`kube-pki:${key}`),
    previousRotation: (recorded?.value ?? undefined) as Record<string, RotationState> | undefined,
  });
  return { ...program.outputs };
};
