// Tests run transpile-only for speed; `npm run typecheck` (tsc --noEmit) is the type gate.
process.env.TS_NODE_TRANSPILE_ONLY = "true";
module.exports = {
  require: ["ts-node/register"],
  spec: ["test/**/*.test.ts"],
  timeout: 120000,
  reporter: "spec",
};
