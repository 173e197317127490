// The Pulumi program: one ClusterPki per cluster in `kube-pki:clusters` (see README, "Configuration").
import * as pulumi from "@pulumi/pulumi";
import { defineStack } from "./components";

const config = new pulumi.Config("kube-pki");
const program = defineStack(config.getObject<unknown>("clusters"), {
  stack: pulumi.getStack(),
  secret: (key) => config.getSecret(key),
});

export const caCertificates = program.outputs.caCertificates;
export const adminKubeconfigs = program.outputs.adminKubeconfigs;
export const userKubeconfigs = program.outputs.userKubeconfigs;
export const inventory = program.outputs.inventory;
