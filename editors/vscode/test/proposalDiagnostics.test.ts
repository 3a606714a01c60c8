// Reading proposals out of diagnostics, and finding the one at the cursor.

import assert from "node:assert/strict";
import { test } from "node:test";
import { markerAtCursor, newestRun, proposalMarkers } from "../src/proposalDiagnostics";

const at = (line: number, character: number) => ({ line, character });
const range = (startLine: number, startCharacter: number, endLine: number, endCharacter: number) => ({
  start: at(startLine, startCharacter),
  end: at(endLine, endCharacter),
});

const diagnostics = [
  { source: "director", code: "proposal", range: range(5, 0, 7, 0), data: { hunk: 4, run: 2 } },
  { source: "director", code: "config", range: range(0, 0, 0, 1) },
  { source: "rust-analyzer", code: "proposal", range: range(1, 0, 1, 3), data: { hunk: 9, run: 9 } },
  { source: "director", code: { value: "proposal" }, range: range(1, 4, 1, 4), data: { hunk: 3, run: 1 } },
  { source: "director", code: "proposal", range: range(2, 0, 2, 1), data: { hunk: "x" } },
];

test("only director's proposal diagnostics with {hunk, run} data are markers, in document order", () => {
  assert.deepEqual(
    proposalMarkers(diagnostics).map((marker) => marker.hunk),
    [3, 4],
  );
});

test("the marker at the cursor: containing it, else on its line; a whole-line range ends before its last line", () => {
  const markers = proposalMarkers(diagnostics);
  assert.equal(markerAtCursor(markers, at(1, 4))?.hunk, 3, "an insertion point contains the cursor on it");
  assert.equal(markerAtCursor(markers, at(1, 30))?.hunk, 3, "same line");
  assert.equal(markerAtCursor(markers, at(6, 2))?.hunk, 4);
  assert.equal(markerAtCursor(markers, at(7, 2)), undefined, "line 7 is after the replaced lines");
  assert.equal(markerAtCursor(markers, at(3, 0)), undefined);
});

test("the newest run is the highest id", () => {
  assert.equal(newestRun(proposalMarkers(diagnostics)), 2);
  assert.equal(newestRun([]), undefined);
});
