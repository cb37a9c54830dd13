// The operator's range file: parsed with errors that name the field, merged onto the shipped list
// (or replacing it), and reloaded when the file changes; a bad file keeps the list in force.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../observability/index.ts";
import type { FraudRanges } from "../domain/index.ts";
import { loadFraudRangesFile, parseFraudRangesText, watchFraudRangesFile } from "./fraud-ranges-file.ts";

const dir = mkdtempSync(join(tmpdir(), "trunkline-ranges-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("fraud ranges file", () => {
  it("names every bad field", () => {
    const r = parseFraudRangesText("highRisk: [{ prefix: '+99' }]\nreplace: yes\nextra: 1\n");
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.error.sort(), ["extra: unknown field", "highRisk[0]: expected { prefix: \"+882\", label: \"...\" }", "replace: expected true or false"].sort());
  });

  it("extends the shipped list, removes entries, or replaces it", async () => {
    const file = join(dir, "extend.yaml");
    writeFileSync(file, 'version: ops-7\nhighRisk:\n  - { prefix: "+3314", label: "test" }\nremove: ["+53"]\n');
    const r = await loadFraudRangesFile(file);
    assert.ok(r.ok);
    assert.equal(r.value.version, "ops-7");
    assert.equal(r.value.highRiskOf("+33142685300")?.label, "test");
    assert.equal(r.value.highRiskOf("+5371234567"), undefined, "removed");
    assert.equal(r.value.highRiskOf("+88212345678")?.prefix, "+882", "shipped entries kept");
    writeFileSync(file, JSON.stringify({ replace: true, highRisk: [{ prefix: "+3314", label: "only" }], premium: [] }));
    const only = await loadFraudRangesFile(file);
    assert.ok(only.ok);
    assert.equal(only.value.highRiskOf("+88212345678"), undefined);
    assert.equal(only.value.premiumOf("+19005550100"), undefined);
  });

  it("reports a bad prefix with the file's path", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, 'highRisk: [{ prefix: "+12ab", label: "x" }]\n');
    const r = await loadFraudRangesFile(file);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error[0] ?? "", /bad\.yaml: highRisk: "\+12ab" is not an E\.164 prefix/);
  });

  it("reloads on change and on demand; a bad edit keeps the previous list", async () => {
    const file = join(dir, "watched.yaml");
    writeFileSync(file, "version: v1\n");
    let current: FraudRanges | undefined;
    // A function, so the compiler does not narrow `current` across the awaits.
    const version = (): string | undefined => current?.version;
    const watch = watchFraudRangesFile(file, (r) => (current = r), createLogger({ level: "silent" }), 50);
    try {
      assert.equal(await watch.reload(), true);
      assert.equal(version(), "v1");
      writeFileSync(file, 'version: v2-longer\nhighRisk: [{ prefix: "+3314", label: "x" }]\n');
      const deadline = Date.now() + 5000;
      while (version() !== "v2-longer" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      assert.equal(version(), "v2-longer", "picked up by the watcher");
      writeFileSync(file, "version: [not, a, string]\n");
      assert.equal(await watch.reload(), false);
      assert.equal(version(), "v2-longer");
    } finally {
      watch.stop();
    }
  });
});
