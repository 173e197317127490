// Writes schema/stack.schema.json, the JSON Schema of a whole stack file, from components/model/configSchema.ts (the schema
// the program checks its config against). Editors read it through the first line of every stack file; test/schema.test.ts
// fails when the committed file is not what this writes.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stackSchemaText } from "../components/model/configSchema";

export const SCHEMA_FILE = join(__dirname, "..", "schema", "stack.schema.json");

if (require.main === module) {
  writeFileSync(SCHEMA_FILE, stackSchemaText());
  console.log(`wrote ${SCHEMA_FILE}`);
}
