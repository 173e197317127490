// `npm run lint` (with the formatter check and shellcheck): TypeScript's recommended rules, and the layers. The pure
// model (components/model/) imports no Pulumi and nothing from the layers above it, so it can be read, tested and
// reused without an engine; the components import the model, never the offline tools or the engine emulation.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const PULUMI = { group: ["@pulumi/*"], message: "components/model/ is the pure model: no Pulumi here (README, Layout)." };
const ABOVE_MODEL = {
  group: [
    "../pki/*",
    "../bootstrap/*",
    "../delivery/*",
    "../publication/*",
    "../node/*",
    "../stack",
    "../index",
    "../../offline/*",
    "../../emulator/*",
  ],
  message: "components/model/ imports only the model and libraries (README, Layout).",
};
const TOOLS = {
  group: ["../offline/*", "../../offline/*", "../emulator/*", "../../emulator/*", "../scripts/*", "../../scripts/*"],
  message: "components/ never imports the offline tools, the engine emulation or the CLIs (README, Layout).",
};

export default tseslint.config(
  { ignores: ["node_modules/", "out/", "toolchain/", "**/*.js", "**/*.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Tests and stand-ins handle the engine's untyped JSON; `any` there is deliberate and local.
      "@typescript-eslint/no-explicit-any": "off",
      // require() is used on purpose: a module loaded after the mocks are set (index.ts), reloaded (cache deleted),
      // or loaded only on the path that needs it; import statements cannot say that.
      "@typescript-eslint/no-require-imports": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  { files: ["components/**/*.ts"], rules: { "no-restricted-imports": ["error", { patterns: [TOOLS] }] } },
  { files: ["components/model/**/*.ts"], rules: { "no-restricted-imports": ["error", { patterns: [PULUMI, ABOVE_MODEL, TOOLS] }] } },
);
