// What the commands send, and what they read from the server's code actions.

import assert from "node:assert/strict";
import { test } from "node:test";
import { delegateArgument, delegationOffer, refineArgument, runFromArgument } from "../src/delegateArguments";

const range = { start: { line: 0, character: 0 }, end: { line: 3, character: 0 } };
const delegate = (agent: string, label: string, instruction: string) => ({
  title: `Delegate to ${agent}: ${label}`,
  kind: "refactor.rewrite",
  command: {
    title: `Delegate to ${agent}: ${label}`,
    command: "director.delegate",
    arguments: [{ uri: "file:///w/a.rs", range, agent, instruction }],
  },
});

test("agents and presets come from the Delegate code actions, in order, without repeats", () => {
  const offer = delegationOffer([
    { title: "Accept this edit (run 1)", command: { command: "director.accept", arguments: [{ hunk: 1 }] } },
    delegate("local", "Implement", "Implement it."),
    delegate("local", "Simplify", "Simplify it."),
    delegate("gpt: fast", "Implement", "Implement it."),
    delegate("gpt: fast", "Simplify", "Simplify it."),
  ]);
  assert.deepEqual(offer.agents, ["local", "gpt: fast"]);
  assert.deepEqual(offer.presets, [
    { label: "Implement", instruction: "Implement it." },
    { label: "Simplify", instruction: "Simplify it." },
  ]);
});

test("bare commands count, and no code actions offer nothing", () => {
  const bare = { title: "Delegate to x: Add tests", command: "director.delegate", arguments: [{ agent: "x", instruction: "Test it." }] };
  assert.deepEqual(delegationOffer([bare]).agents, ["x"]);
  assert.deepEqual(delegationOffer(null), { agents: [], presets: [] });
});

test("the delegate argument trims the instruction, leaves out an absent agent and refuses a blank one", () => {
  assert.deepEqual(delegateArgument("file:///a", range, "  Tidy up \n", undefined), {
    uri: "file:///a",
    range,
    instruction: "Tidy up",
  });
  assert.deepEqual(delegateArgument("file:///a", range, "Go", "local")?.agent, "local");
  assert.equal(delegateArgument("file:///a", range, "   ", "local"), undefined);
});

test("refine leaves blank feedback out", () => {
  assert.deepEqual(refineArgument(3, "  shorter "), { run: 3, feedback: "shorter" });
  assert.deepEqual(refineArgument(3, "  "), { run: 3 });
  assert.deepEqual(refineArgument(3, undefined), { run: 3 });
});

test("a run is named by a number, {run}, or a runs-view node's runId", () => {
  assert.equal(runFromArgument(4), 4);
  assert.equal(runFromArgument({ run: 5 }), 5);
  assert.equal(runFromArgument({ kind: "run", runId: 6 }), 6);
  assert.equal(runFromArgument({ hunk: 1 }), undefined);
  assert.equal(runFromArgument(undefined), undefined);
});
