// What the delegate, refine and run commands send to the server, and what the
// extension learns from the server's code actions: the configured agents and
// the direction presets, read from the titles "Delegate to NAME: LABEL". Pure.

import { Range, ServerCommand } from "./protocol";

/** A direction preset offered by the server, with the instruction it sends. */
export interface Preset {
  label: string;
  instruction: string;
}

/** What the server's code actions say about delegation. */
export interface DelegationOffer {
  /** Configured agents, in the server's order, without repeats. */
  agents: string[];
  /** The presets (the same for every agent), in the server's order. */
  presets: Preset[];
}

/** The parts of a code action (or bare command) this module reads. */
export interface CodeActionLike {
  title: string;
  command?: string | { command: string; arguments?: unknown[] };
  arguments?: unknown[];
}

/** The languages the server offers "Delegate to" code actions in. */
export const DELEGATION_LANGUAGES = [
  "rust",
  "python",
  "go",
  "typescript",
  "typescriptreact",
  "javascript",
  "javascriptreact",
];

export function delegationOffer(actions: readonly CodeActionLike[] | null | undefined): DelegationOffer {
  const agents: string[] = [];
  const presets: Preset[] = [];
  for (const action of actions ?? []) {
    const command = typeof action.command === "object" ? action.command : undefined;
    const name = command ? command.command : action.command;
    const argument = (command ? command.arguments : action.arguments)?.[0];
    if (name !== ServerCommand.delegate || typeof argument !== "object" || argument === null) {
      continue;
    }
    const { agent, instruction } = argument as Record<string, unknown>;
    if (typeof agent !== "string" || typeof instruction !== "string") {
      continue;
    }
    if (!agents.includes(agent)) {
      agents.push(agent);
    }
    const label = presetLabel(action.title, agent);
    if (label !== undefined && !presets.some((preset) => preset.label === label)) {
      presets.push({ label, instruction });
    }
  }
  return { agents, presets };
}

/** "Simplify" from "Delegate to local: Simplify". */
export function presetLabel(title: string, agent: string): string | undefined {
  const prefix = `Delegate to ${agent}: `;
  return title.startsWith(prefix) ? title.slice(prefix.length) : undefined;
}

export interface DelegateArgument {
  uri: string;
  range: Range;
  instruction: string;
  agent?: string;
}

/** The argument of `director.delegate`; undefined when the instruction is blank. */
export function delegateArgument(
  uri: string,
  range: Range,
  instruction: string,
  agent: string | undefined,
): DelegateArgument | undefined {
  const trimmed = instruction.trim();
  if (trimmed === "") {
    return undefined;
  }
  return agent === undefined ? { uri, range, instruction: trimmed } : { uri, range, instruction: trimmed, agent };
}

/** The argument of `director.refine`: blank feedback is left out (the server
 * then asks the agent to try again). */
export function refineArgument(run: number, feedback: string | undefined): { run: number; feedback?: string } {
  const trimmed = feedback?.trim() ?? "";
  return trimmed === "" ? { run } : { run, feedback: trimmed };
}

/** The run a command argument names: a number, `{run: number}`, or a runs-view
 * node carrying `runId`. */
export function runFromArgument(argument: unknown): number | undefined {
  if (typeof argument === "number" && Number.isInteger(argument)) {
    return argument;
  }
  if (typeof argument !== "object" || argument === null) {
    return undefined;
  }
  const { run, runId } = argument as Record<string, unknown>;
  if (typeof run === "number") {
    return run;
  }
  return typeof runId === "number" ? runId : undefined;
}
