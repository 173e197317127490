// The policy pack's entry point as Node.js runs it: TypeScript compiled on load with the project's compiler options,
// transpile only (`npm run typecheck` is the type gate, and covers policy/). The SDK's policy-pack runner has already
// registered a type-checking ts-node: type-checking the pack and the model files it imports on every start costs
// seconds per preview, so that one is switched off first (as component/index.js does for the component package).
const tsNode = process[Symbol.for("ts-node.register.instance")];
if (tsNode) tsNode.enabled(false);
require("ts-node").register({ project: require("node:path").join(__dirname, "..", "tsconfig.json"), transpileOnly: true });
module.exports = require("./index.ts");
