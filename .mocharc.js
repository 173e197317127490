// Tests run transpile-only for speed; `npm run typecheck` (tsc --noEmit) is the type gate.
process.env.TS_NODE_TRANSPILE_ONLY = "true";
// `npx mocha test/x.test.ts` runs just that file; a bare `mocha` runs the whole suite in one process (npm test runs
// test/cluster/ and test/engine/ in lanes beside the rest: scripts/test.sh).
const namedFiles = process.argv.slice(2).some((a) => /\.test\.ts$/.test(a));
module.exports = {
  require: ["ts-node/register", "test/setup.ts"],
  spec: namedFiles ? [] : ["test/**/*.test.ts"],
  timeout: 120000,
  reporter: "spec",
};
