// The "proposed" side of a run's diff.

import assert from "node:assert/strict";
import { test } from "node:test";
import { applyReplacements, lineStartOffsets, offsetAt } from "../src/applyHunks";

const at = (line: number, character: number) => ({ line, character });

test("replacements apply at their positions regardless of their order", () => {
  const text = "a\nbb\nccc\n";
  const result = applyReplacements(text, [
    { range: { start: at(2, 0), end: at(3, 0) }, newText: "C\n" },
    { range: { start: at(0, 1), end: at(0, 1) }, newText: "!" },
  ]);
  assert.equal(result, "a!\nbb\nC\n");
});

test("positions count UTF-16 code units, and CRLF ends a line", () => {
  const text = "é😀x\r\ny";
  const starts = lineStartOffsets(text);
  assert.deepEqual(starts, [0, 6]);
  assert.equal(offsetAt(text, starts, at(0, 3)), 3);
  assert.equal(offsetAt(text, starts, at(0, 99)), 4, "clamped to the line, before its break");
  assert.equal(applyReplacements(text, [{ range: { start: at(0, 3), end: at(0, 4) }, newText: "X" }]), "é😀X\r\ny");
});

test("an overlapping replacement is skipped", () => {
  const result = applyReplacements("abcdef", [
    { range: { start: at(0, 1), end: at(0, 4) }, newText: "-" },
    { range: { start: at(0, 2), end: at(0, 5) }, newText: "+" },
  ]);
  assert.equal(result, "a-ef");
});
