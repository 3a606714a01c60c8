// The shapes of Director's LSP extensions (docs/lsp-extensions.md) as the
// extension sees them, and the ids of the server's own commands. Pure: no
// `vscode` import, so the unit tests can use it.

/** The server's `workspace/executeCommand` ids. The extension's own command ids
 * (package.json) are all different, so the ones vscode-languageclient registers
 * for the server never collide with them. */
export const ServerCommand = {
  delegate: "director.delegate",
  accept: "director.accept",
  reject: "director.reject",
  acceptAll: "director.acceptAll",
  rejectAll: "director.rejectAll",
  refine: "director.refine",
  cancel: "director.cancel",
} as const;

export const RunsRequest = "director/runs";
export const RunRequest = "director/run";

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type RunState =
  | "queued"
  | "running"
  | "proposed"
  | "settled"
  | "failed"
  | "cancelled"
  | "interrupted";

export type HunkState = "open" | "conflicted" | "accepted" | "rejected" | "stale";

export interface ProposalCounts {
  open: number;
  conflicted: number;
  accepted: number;
  rejected: number;
  stale: number;
}

/** One entry of `director/runs`. `cost` is read when a server sends it. */
export interface RunSummary {
  id: number;
  agent: string;
  instruction: string;
  state: RunState;
  uri: string | null;
  reason: string | null;
  refinedFrom: number | null;
  createdMs: number;
  finishedMs: number | null;
  promptTokens?: number | null;
  completionTokens?: number | null;
  tokens?: number | null;
  cost?: number | null;
  proposals: ProposalCounts;
}

export interface RunsResult {
  runs: RunSummary[];
  totalTokens?: number;
}

export interface ProposalDetail {
  hunk: number;
  state: HunkState;
  /** Null when the document is not open in the server. */
  range: Range | null;
  baseText: string;
  newText: string;
}

export interface RunDetail {
  run: RunSummary;
  transcript: { messages: { role: string; content: string }[]; answer: string | null } | null;
  proposals: ProposalDetail[];
}

/** What a proposal diagnostic carries in `data`. */
export interface ProposalData {
  hunk: number;
  run: number;
}

export function isInFlight(state: RunState): boolean {
  return state === "queued" || state === "running";
}
