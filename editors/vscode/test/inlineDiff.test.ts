// Where proposals are drawn: struck-through deletions and inserted text anchors.

import assert from "node:assert/strict";
import { test } from "node:test";
import { hunkMarks, inlineText, MAX_INLINE_CHARS } from "../src/inlineDiff";

const lines = ["pub fn total(items: &[u32]) -> u32 {", "    let mut sum = 0;", "    sum", "}"];
const lineLength = (line: number) => lines[line]?.length ?? 0;
const at = (line: number, character: number) => ({ line, character });

test("an in-line insertion is drawn after its insertion point, with nothing struck", () => {
  const marks = hunkMarks({ range: { start: at(1, 15), end: at(1, 15) }, baseText: "", newText: ": u32" }, lineLength);
  assert.equal(marks.deletion, undefined);
  assert.deepEqual(marks.insertion, { anchor: at(1, 15), placement: "after", text: ": u32" });
});

test("replaced whole lines are struck up to the end of the last line, and the new text follows", () => {
  const marks = hunkMarks(
    { range: { start: at(1, 0), end: at(3, 0) }, baseText: "    let mut sum = 0;\n    sum\n", newText: "    items.iter().sum()\n" },
    lineLength,
  );
  assert.deepEqual(marks.deletion, { start: at(1, 0), end: at(2, 7) });
  assert.deepEqual(marks.insertion, { anchor: at(2, 7), placement: "after", text: "    items.iter().sum()" });
});

test("inserted lines hang off the end of the line above", () => {
  const marks = hunkMarks({ range: { start: at(2, 0), end: at(2, 0) }, baseText: "", newText: "    // a\n    // b\n" }, lineLength);
  assert.deepEqual(marks.insertion, { anchor: at(1, 20), placement: "after", text: " ⏎     // a ⏎     // b" });
});

test("lines inserted at the top of the file are drawn before the first line", () => {
  const marks = hunkMarks({ range: { start: at(0, 0), end: at(0, 0) }, baseText: "", newText: "use std::fmt;\n" }, lineLength);
  assert.deepEqual(marks.insertion, { anchor: at(0, 0), placement: "before", text: "use std::fmt;" });
});

test("a pure deletion has no insertion", () => {
  const marks = hunkMarks({ range: { start: at(2, 0), end: at(3, 0) }, baseText: "    sum\n", newText: "" }, lineLength);
  assert.deepEqual(marks.deletion, { start: at(2, 0), end: at(2, 7) });
  assert.equal(marks.insertion, undefined);
});

test("long insertions are elided", () => {
  const text = inlineText(`${"x".repeat(400)}\n`);
  assert.equal(text.length, MAX_INLINE_CHARS);
  assert.ok(text.endsWith("…"));
});
