// The Pulumi program: one ClusterPki per cluster in `kube-pki:clusters` (see README, "Configuration").
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, defineStack, suggestion } from "./components";

const config = new pulumi.Config("kube-pki");
const clusters = config.getObject<unknown>("clusters");
if (clusters === undefined) {
  // A misspelt key (`kube-pki:cluster`, `kubepki:clusters`) reads as "not set": name the near miss.
  const near = suggestion(Object.keys(pulumi.runtime.allConfig()), "kube-pki:clusters", (k) => k.replace(/[-_]/g, ""));
  if (near) throw new ConfigError([`clusters: is not set; the stack has "${near}": did you mean "kube-pki:clusters"?`]);
}
const program = defineStack(clusters, {
  stack: pulumi.getStack(),
  secret: (key) => config.getSecret(key),
});

export const caCertificates = program.outputs.caCertificates;
export const adminKubeconfigs = program.outputs.adminKubeconfigs;
export const userKubeconfigs = program.outputs.userKubeconfigs;
export const inventory = program.outputs.inventory;
