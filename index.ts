// The Pulumi program: one ClusterPki per cluster in `kube-pki:clusters` (see README, "Configuration"). Asynchronous
// only to read what the stack recorded at its last update (its own outputs, through a StackReference to itself):
// the rotation phases and the trust roots' identities, which the config is checked against before anything is
// registered. The KubePki component (components/package/) is the same program for other Pulumi languages.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, defineStack, planClusters, readWorkersFile, stackEnvironment, suggestion } from "./components";

export = async () => {
  const clusters = new pulumi.Config("kube-pki").getObject<unknown>("clusters");
  if (clusters === undefined) {
    // A misspelt key (`kube-pki:cluster`, `kubepki:clusters`) reads as "not set": name the near miss.
    const near = suggestion(Object.keys(pulumi.runtime.allConfig()), "kube-pki:clusters", (k) => k.replace(/[-_]/g, ""));
    if (near) throw new ConfigError([`clusters: is not set; the stack has "${near}": did you mean "kube-pki:clusters"?`]);
  }
  // Validated once, before the stack is read: a bad config registers nothing at all.
  // Workers files are relative to the project directory, the program's working directory.
  const plans = planClusters(clusters, readWorkersFile(process.cwd()));
  const program = defineStack(plans, await stackEnvironment("self"));
  return { ...program.outputs };
};
