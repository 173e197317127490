// The README takes its benchmark figures from the docs that record them: every number of a row's figure must stand
// in the doc the row names, so a re-measured doc and a stale README cannot drift apart unnoticed.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const REPO = join(__dirname, "..");

describe("README", () => {
  it("every benchmark figure stands in the doc its row names", () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const table = readme
      .slice(readme.indexOf("## Benchmarks"))
      .split("\n")
      .filter((l) => /^\| .* \| `docs\/[^`]+\.md` \|$/.test(l));
    assert.ok(table.length >= 5, "the Benchmarks table has its rows");
    const missing: string[] = [];
    for (const row of table) {
      const cells = row.split(" | ");
      const doc = /`(docs\/[^`]+\.md)`/.exec(cells[cells.length - 1]!)![1]!;
      const text = readFileSync(join(REPO, doc), "utf8").replace(/(\d),(\d{3})/g, "$1$2");
      for (const n of cells[1]!.match(/\d[\d,]*(\.\d+)?/g) ?? []) {
        const plain = n.replace(/,/g, "");
        if (!new RegExp(`(^|[^\\d.])${plain.replace(".", "\\.")}([^\\d]|$)`).test(text))
          missing.push(`${doc}: ${n} (${cells[0]!.slice(2)})`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
