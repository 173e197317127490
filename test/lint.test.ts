// The layers hold by a lint rule (eslint.config.mjs), not by habit: a file of the pure model that imports Pulumi or a
// layer above it fails `npm run lint`; the components may import Pulumi but never the offline tools or the emulation.
// Each case lints a file's text as if it stood at that path, with the project's own configuration.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ESLint } from "eslint";

const eslint = new ESLint({ cwd: join(__dirname, "..") });
const problems = async (path: string, code: string) =>
  (await eslint.lintText(code, { filePath: join(__dirname, "..", path) }))[0]!.messages.map((m) => `${m.ruleId}: ${m.message}`);

describe("lint: the layers", () => {
  it("a model file that imports Pulumi fails", async () => {
    const found = await problems(
      "components/model/x.ts",
      'import * as pulumi from "@pulumi/pulumi";\nexport const x = pulumi.output(1);\n',
    );
    assert.deepEqual(found, [
      "no-restricted-imports: '@pulumi/pulumi' import is restricted from being used by a pattern. components/model/ is the pure model: no Pulumi here (README, Layout).",
    ]);
  });

  it("a model file that imports a component layer fails", async () => {
    const found = await problems("components/model/x.ts", 'import { ClusterPki } from "../pki/clusterPki";\nexport type X = ClusterPki;\n');
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(
      found[0]!,
      /^no-restricted-imports: '\.\.\/pki\/clusterPki' import is restricted .* components\/model\/ imports only the model and libraries/,
    );
  });

  it("a component that imports the emulation fails", async () => {
    const found = await problems(
      "components/pki/x.ts",
      'import { evaluate } from "../../emulator/evaluate";\nexport const x = evaluate;\n',
    );
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0]!, /components\/ never imports the offline tools, the engine emulation or the CLIs/);
  });

  it("a Pulumi component may import Pulumi and the model", async () => {
    const code =
      'import * as pulumi from "@pulumi/pulumi";\nimport { ClusterSpec } from "../model/config";\nexport type X = ClusterSpec;\nexport const y = pulumi.output(1);\n';
    assert.deepEqual(await problems("components/pki/x.ts", code), []);
  });
});
