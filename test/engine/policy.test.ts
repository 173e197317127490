// The policy pack (policy/) under the real CLI: `pulumi preview --policy-pack policy` runs it through the language
// host's RunPlugin, as the CLI 3.248 engine runs every Node.js policy pack. Each rule stops a stack that breaks it,
// with its message (the threshold rules share one preview, each asserted on its own); thresholds come from
// --policy-pack-config; the shipped stacks pass with the defaults.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { CliResult, describeRun, REPO, Workspace } from "./workspace";

const POLICY = join(REPO, "policy");
const DEV = (parse(readFileSync(join(REPO, "stacks/Pulumi.dev.yaml"), "utf8")) as any).config["kube-pki:clusters"][0];
/** The smallest cluster the program takes: the dev cluster with one control-plane node and no users. */
const small = (over: Record<string, unknown> = {}) => [{ ...DEV, nodes: [DEV.nodes[0]], users: [], ...over }];

describe("policy pack: pulumi preview --policy-pack policy (real CLI)", function () {
  this.timeout(600_000);
  let ws: Workspace;
  before(async () => {
    ws = await Workspace.create("policy", {});
  });

  /** A preview of a new stack with these clusters under the pack, with this policy config (if any). */
  async function preview(stack: string, clusters: unknown, config?: object): Promise<CliResult> {
    ws.writeStack(stack, clusters);
    await ws.init(stack);
    const args = ["preview", "--stack", stack, "--non-interactive", "--policy-pack", POLICY];
    if (config) {
      const file = join(ws.dir, `policy-${stack}.json`);
      writeFileSync(file, JSON.stringify(config));
      args.push("--policy-pack-config", file);
    }
    return ws.run(args);
  }
  /** The preview failed on this policy with a message matching `message`. */
  function stopped(r: CliResult, policy: string, message: RegExp): void {
    assert.notEqual(r.code, 0, describeRun(r));
    const out = r.stdout + r.stderr;
    assert.match(out, new RegExp(`\\[mandatory\\]\\s+${policy}\\s`), describeRun(r));
    assert.match(out, message, describeRun(r));
  }

  describe("a stack that breaks each threshold rule, under tightened thresholds (one preview)", () => {
    let r: CliResult;
    before(async () => {
      const clusters = small({
        keyAlgorithm: "RSA-2048",
        protectCAs: false,
        users: [{ name: "root", groups: ["system:masters"], breakGlass: true }],
      });
      r = await preview("prod-policy", clusters, {
        "key-strength": { minRsaBits: 3072 },
        "leaf-validity": { maxHours: 2160 },
        "ca-validity": { maxHours: 43800 },
        "early-renewal": { minHours: 1000 },
      });
    });

    it("key-strength: an RSA key below minRsaBits", () => stopped(r, "key-strength", /RSA key of 2048 bits, below minRsaBits 3072/));
    it("leaf-validity: a leaf valid longer than maxHours", () =>
      stopped(r, "leaf-validity", /valid for 8760 h, above maxHours 2160 for a leaf/));
    it("ca-validity: a CA valid longer than maxHours", () => stopped(r, "ca-validity", /valid for 87600 h, above maxHours 43800 for a CA/));
    it("early-renewal: a leaf renewed later than minHours before expiry", () =>
      stopped(r, "early-renewal", /early renewal window of 720 h, below minHours 1000/));
    it("protect-cas-in-production: unprotected CAs in a stack named prod-*", () =>
      stopped(r, "protect-cas-in-production", /a CA resource without protect in production stack prod-policy/));
    it("system-masters-break-glass: a system:masters user the policy config does not list (kubeadm's super-admin passes)", () => {
      stopped(r, "system-masters-break-glass", /CN=root is in system:masters and is not a break-glass identity/);
      assert.doesNotMatch(r.stdout, /CN=kubernetes-super-admin/, describeRun(r));
    });
  });

  it("protect-cas-in-production: the old CA of a declared rotation's switch phase may go unprotected", async () => {
    // A rotation starts with add (deployed), then switch unprotects generation 1, which drop deletes.
    ws.writeStack("prod-rotation", small({ protectCAs: true, rotation: { ca: { generation: 2, phase: "add" } } }));
    await ws.init("prod-rotation");
    const up = await ws.up("prod-rotation");
    assert.equal(up.code, 0, describeRun(up));
    ws.writeStack("prod-rotation", small({ protectCAs: true, rotation: { ca: { generation: 2, phase: "switch" } } }));
    const r = await ws.run(["preview", "--stack", "prod-rotation", "--non-interactive", "--policy-pack", POLICY]);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /Policies:\s+✅ kube-pki@v/, describeRun(r));
  });

  describe("a program that hands a private key around in clear text", () => {
    let leak: CliResult;
    before(async () => {
      const lw = await Workspace.create("policy-leak", {});
      // A key read as plain text (as from a file) instead of through pulumi.secret: given to a command, exported.
      writeFileSync(
        join(lw.dir, "index.ts"),
        [
          `import * as command from "@pulumi/command";`,
          `import { generateKeyPairSync } from "node:crypto";`,
          `const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;`,
          `new command.local.Command("push-key", { create: "true", environment: { KEY: pem } });`,
          `export const caKey = pem;`,
          `export const sealed = { key: require("@pulumi/pulumi").secret(pem) };`,
        ].join("\n"),
      );
      lw.writeStack("leak", []);
      await lw.init("leak");
      leak = await lw.run(["preview", "--stack", "leak", "--non-interactive", "--policy-pack", POLICY]);
    });

    it("private-key-inputs-secret: a resource input", () => {
      stopped(leak, "private-key-inputs-secret", /push-key: input environment\.KEY holds a private key and is not a secret/);
    });

    it("private-key-outputs-secret: a stack output (a secret one passes)", () => {
      stopped(leak, "private-key-outputs-secret", /stack output caKey holds a private key and is not a secret/);
      assert.doesNotMatch(leak.stdout + leak.stderr, /sealed\S* holds a private key/, describeRun(leak));
    });
  });

  it("the shipped stacks pass with the defaults", async () => {
    for (const file of readdirSync(join(REPO, "stacks")).filter((f) => /^Pulumi\..+\.yaml$/.test(f))) {
      const stack = file.slice("Pulumi.".length, -".yaml".length);
      const r = await preview(stack, readFileSync(join(REPO, "stacks", file), "utf8"));
      assert.equal(r.code, 0, describeRun(r));
      assert.match(r.stdout, /Policies:\s+✅ kube-pki@v/, describeRun(r));
    }
  });
});
