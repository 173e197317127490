// The component package's entry point as Node.js runs it (PulumiPlugin.yaml): TypeScript compiled on load with the
// project's compiler options and transpile only, by swc (../tsconfig.json's "ts-node" section), as the stack program
// runs (`npm run typecheck` is the type gate).
// The SDK's plugin launcher has already registered a type-checking ts-node with the consuming program's tsconfig
// (or none): type-checking every file on each start takes a minute, so that one is switched off first.
const tsNode = process[Symbol.for("ts-node.register.instance")];
if (tsNode) tsNode.enabled(false);
require("ts-node").register({ project: require("node:path").join(__dirname, "tsconfig.json"), transpileOnly: true });
module.exports = require("./index.ts");
