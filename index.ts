// The Pulumi program: one ClusterPki per cluster in `kube-pki:clusters` (see README, "Configuration"). Asynchronous
// only to read what the stack recorded at its last update (its own outputs, through a StackReference to itself):
// the rotation phases and the trust roots' identities, which the config is checked against before anything is
// registered. The KubePki component (components/package/) is the same program for other Pulumi languages.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, defineStack, planClusters, readWorkersFile, stackEnvironment, suggestion } from "./components";

export = async () => {
  try {
    return await program();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // A bad config is reported as its message (every problem with its path) and nothing else: a RunError is the SDK's
    // error it logs without a stack trace. No frames in its stack either: the SDK still formats every uncaught error
    // with util.inspect (for its trace), which on Node 20.20 loops on a source-mapped frame of the SDK's own
    // (node_modules/@pulumi/resource.ts) until the string is too long: a minute or two and GBs per failed run.
    const error = new pulumi.RunError(e.message);
    error.stack = e.message;
    throw error;
  }
};

async function program() {
  const clusters = new pulumi.Config("kube-pki").getObject<unknown>("clusters");
  if (clusters === undefined) {
    // A misspelt key (`kube-pki:cluster`, `kubepki:clusters`) reads as "not set": name the near miss.
    const near = suggestion(Object.keys(pulumi.runtime.allConfig()), "kube-pki:clusters", (k) => k.replace(/[-_]/g, ""));
    if (near) throw new ConfigError([`clusters: is not set; the stack has "${near}": did you mean "kube-pki:clusters"?`]);
  }
  // Validated once, before the stack is read: a bad config registers nothing at all.
  // Workers files are relative to the project directory, the program's working directory.
  const plans = planClusters(clusters, readWorkersFile(process.cwd()));
  const stack = defineStack(plans, await stackEnvironment("self"));
  return { ...stack.outputs };
}
