// kube-pki's stand-in for pulumi-resource-command 1.2.1, served as a real provider plugin to the real Pulumi engine
// (`npm run toolchain` installs it): the real provider's Go module is not served by the Go module proxy at any
// version, so this is the closest the engine tests can get. It serves `command:local:Command` and
// `command:remote:Command` with the provider's documented semantics (inputs create/update/delete, stdin, triggers,
// logging, addPreviousOutputInEnv, connection with a pinned host key or the ssh-agent), running the commands for real
// through the same code as the mock-runtime stand-in (emulator/commandStandIn.ts): /bin/sh locally, OpenSSH remotely.
import * as provider from "@pulumi/pulumi/provider";
import { isDeepStrictEqual } from "node:util";
import { CommandStandIn } from "./commandStandIn";
import { unwrapSecrets, wrapSecret } from "./secrets";

/** The inputs a Command takes; its state is these plus stdout and stderr. */
const INPUTS = [
  "connection",
  "create",
  "update",
  "delete",
  "triggers",
  "stdin",
  "environment",
  "logging",
  "addPreviousOutputInEnv",
  "dir",
  "interpreter",
];

const typeOf = (urn: string) => urn.split("::")[2]?.split("$").pop() ?? "";
const nameOf = (urn: string) => urn.split("::").pop() ?? urn;

class CommandPlugin implements provider.Provider {
  readonly version = "1.2.1";
  private readonly runner = new CommandStandIn({ perHostConcurrency: 16 });

  async diff(_id: string, _urn: string, olds: any, news: any): Promise<provider.DiffResult> {
    const changed = INPUTS.filter((k) => !isDeepStrictEqual(unwrapSecrets(olds[k]), unwrapSecrets(news[k])));
    return { changes: changed.length > 0, replaces: changed.includes("triggers") ? ["triggers"] : [] };
  }

  async create(urn: string, inputs: any): Promise<provider.CreateResult> {
    const outs = await this.run(urn, "create", inputs, undefined);
    return { id: `${nameOf(urn)}-${Date.now().toString(36)}`, outs };
  }

  async update(_id: string, urn: string, olds: any, news: any): Promise<provider.UpdateResult> {
    return { outs: await this.run(urn, "update", news, olds) };
  }

  async delete(_id: string, urn: string, props: any): Promise<void> {
    const plain = unwrapSecrets(props) as Record<string, any>;
    // As the provider does, the delete command gets the stdin recorded in state (the last bundle installed).
    if (plain.delete) await this.runner.execute(typeOf(urn), nameOf(urn), "delete", this.environment(plain, props), plain.delete);
  }

  /** Runs create (or update, else create) and returns the state: the inputs as given, stdout and stderr secret. */
  private async run(urn: string, phase: "create" | "update", inputs: any, olds: any): Promise<Record<string, unknown>> {
    const plain = unwrapSecrets(inputs) as Record<string, any>;
    const command = phase === "update" ? (plain.update ?? plain.create) : plain.create;
    const result = command
      ? await this.runner.execute(typeOf(urn), nameOf(urn), phase, this.environment(plain, olds), command)
      : { stdout: "", stderr: "" };
    return { ...inputs, stdout: wrapSecret(result.stdout), stderr: wrapSecret(result.stderr) };
  }

  /** addPreviousOutputInEnv (default true): the previous run's output as PULUMI_COMMAND_STDOUT/STDERR. */
  private environment(plain: Record<string, any>, previous: any): Record<string, any> {
    if (plain.addPreviousOutputInEnv === false || !previous) return plain;
    const old = unwrapSecrets(previous) as Record<string, any>;
    return {
      ...plain,
      environment: { ...(plain.environment ?? {}), PULUMI_COMMAND_STDOUT: old.stdout ?? "", PULUMI_COMMAND_STDERR: old.stderr ?? "" },
    };
  }
}

// The engine stops plugins with SIGINT (SIGKILL a second later): the runner's ssh-agent and scratch directory go on
// exit and on SIGINT, SIGTERM and SIGHUP (emulator/commandStandIn.ts); a later run sweeps what a SIGKILL left.
provider.main(new CommandPlugin(), process.argv.slice(2)).catch((e) => {
  console.error(e);
  process.exit(1);
});
