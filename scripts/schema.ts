// Writes schema/stack.schema.json, the JSON Schema of a whole stack file, from components/model/configSchema.ts (the schema
// the program checks its config against), and components/package/clusterArgs.ts, the same config as the component
// package's args interfaces. Editors read the JSON through the first line of every stack file; test/schema.test.ts
// fails when either committed file is not what this writes.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stackSchemaText } from "../components/model/configSchema";
import { clusterArgsText } from "../components/model/argsTypes";

export const SCHEMA_FILE = join(__dirname, "..", "schema", "stack.schema.json");
export const ARGS_FILE = join(__dirname, "..", "components", "package", "clusterArgs.ts");

if (require.main === module) {
  writeFileSync(SCHEMA_FILE, stackSchemaText());
  writeFileSync(ARGS_FILE, clusterArgsText());
  console.log(`wrote ${SCHEMA_FILE} and ${ARGS_FILE}`);
}
