// The runs view's labels and the status bar's counts.

import assert from "node:assert/strict";
import { test } from "node:test";
import { RunSummary } from "../src/protocol";
import { diffText, fileText, formatAge, hunkText, reviewStatus, reviewStatusText, runText } from "../src/runTreeModel";

function summary(id: number, state: RunSummary["state"], open: number, extra: Partial<RunSummary> = {}): RunSummary {
  return {
    id,
    agent: "local",
    instruction: "Simplify",
    state,
    uri: "file:///w/src/lib.rs",
    reason: null,
    refinedFrom: null,
    createdMs: 1_000_000,
    finishedMs: null,
    tokens: 907,
    proposals: { open, conflicted: 0, accepted: 1, rejected: 0, stale: 0 },
    ...extra,
  };
}

test("a run shows its agent, state, age, tokens, cost when present, and what awaits review", () => {
  const text = runText(summary(3, "proposed", 2, { cost: 0.01234 }), 1_004_500);
  assert.equal(text.label, "run 3 · local");
  assert.equal(text.description, "proposed · 4s ago · 907 tokens · $0.0123 · 2 to review");
  assert.match(text.tooltip, /Instruction: Simplify/);
  assert.equal(runText(summary(4, "settled", 0, { tokens: null }), 1_000_000).description, "settled · 0s ago");
});

test("files are shown relative to their workspace folder", () => {
  assert.equal(fileText("file:///w/src/my%20lib.rs", ["file:///w"]).label, "src/my lib.rs");
  assert.equal(fileText("file:///elsewhere/x.rs", ["file:///w"]).label, "/elsewhere/x.rs");
});

test("a hunk shows its size, place and first changed line", () => {
  const text = hunkText({
    hunk: 7,
    state: "open",
    range: { start: { line: 1, character: 0 }, end: { line: 3, character: 0 } },
    baseText: "  a\n  b\n",
    newText: "  c\n",
  });
  assert.equal(text.label, "hunk 7 · open");
  assert.equal(text.description, "+1 −2 · line 2 · c");
  assert.equal(text.tooltip, "-  a\n-  b\n+  c");
});

test("the status counts runs in flight and open or conflicted proposals", () => {
  const status = reviewStatus([
    summary(1, "running", 0),
    summary(2, "queued", 0),
    summary(3, "proposed", 2, { proposals: { open: 2, conflicted: 1, accepted: 0, rejected: 4, stale: 3 } }),
  ]);
  assert.deepEqual(status, { running: 2, awaiting: 3 });
  assert.equal(reviewStatusText(status), "$(sync~spin) 2 running · 3 to review");
  assert.equal(reviewStatusText({ running: 0, awaiting: 0 }), "$(hubot) 0 running · 0 to review");
});

test("ages and diffs", () => {
  assert.equal(formatAge(59_999), "59s ago");
  assert.equal(formatAge(3_600_000), "1h ago");
  assert.equal(formatAge(-5), "0s ago");
  assert.equal(diffText("", "x\n"), "+x");
});
