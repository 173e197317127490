// The Pulumi program: one ClusterPki per cluster in `kube-pki:clusters` (see README, "Configuration"). Asynchronous
// only to read what the stack recorded at its last update (its own outputs, through a StackReference to itself):
// the rotation phases and the trust roots' identities, which the config is checked against before anything is
// registered.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, defineStack, planClusters, RecordedRoots, RotationState, suggestion } from "./components";

const parseNow = (text: string) => {
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new ConfigError([`KUBE_PKI_NOW: ${JSON.stringify(text)} is not an RFC 3339 time`], "environment");
  return new Date(t);
};

export = async () => {
  const config = new pulumi.Config("kube-pki");
  const clusters = config.getObject<unknown>("clusters");
  if (clusters === undefined) {
    // A misspelt key (`kube-pki:cluster`, `kubepki:clusters`) reads as "not set": name the near miss.
    const near = suggestion(Object.keys(pulumi.runtime.allConfig()), "kube-pki:clusters", (k) => k.replace(/[-_]/g, ""));
    if (near) throw new ConfigError([`clusters: is not set; the stack has "${near}": did you mean "kube-pki:clusters"?`]);
  }
  // Validated once, before the stack is read: a bad config registers nothing at all.
  const plans = planClusters(clusters);
  const self = new pulumi.StackReference("self", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
  const [rotation, trustRoots] = await Promise.all([self.getOutputDetails("rotation"), self.getOutputDetails("trustRoots")]);
  const program = defineStack(plans, {
    stack: pulumi.getStack(),
    secret: (key) => config.getSecret(key),
    // Adopted keys are checked against their certificates before anything is registered, so read in plain text here.
    plainSecret: (key) => pulumi.runtime.getConfig(`kube-pki:${key}`),
    // No recorded rotation (a new stack, or one deployed before rotations existed) is "no rotation yet": add comes first.
    previousRotation: (rotation?.value ?? {}) as Record<string, RotationState>,
    // Recorded since trust roots are held to their identity; a stack deployed before records them at its next update.
    previousTrust: trustRoots?.value as Record<string, RecordedRoots> | undefined,
    // KUBE_PKI_NOW (RFC 3339): judge bootstrap-token windows, expiry and drop waits at that time, to preview a later
    // run (and for the engine tests' token rollover); unset, now.
    ...(process.env.KUBE_PKI_NOW ? { now: parseNow(process.env.KUBE_PKI_NOW) } : {}),
  });
  return { ...program.outputs };
};
