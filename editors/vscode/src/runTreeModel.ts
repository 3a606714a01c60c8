// What the runs view and the status bar say about runs: labels for run, file
// and hunk nodes, and the counts of running runs and proposals awaiting review.
// Pure; runsView.ts and statusBar.ts put it on screen.

import { isInFlight, ProposalDetail, RunSummary } from "./protocol";

export interface NodeText {
  label: string;
  description: string;
  tooltip: string;
}

export function runText(run: RunSummary, nowMs: number): NodeText {
  const parts: string[] = [run.state, formatAge(nowMs - run.createdMs)];
  if (typeof run.tokens === "number") {
    parts.push(`${run.tokens} tokens`);
  }
  if (typeof run.cost === "number") {
    parts.push(`$${run.cost.toFixed(4)}`);
  }
  const awaiting = run.proposals.open + run.proposals.conflicted;
  if (awaiting > 0) {
    parts.push(`${awaiting} to review`);
  }
  const tooltip = [
    `Run ${run.id} (${run.agent}): ${run.state}`,
    run.refinedFrom !== null ? `Refines run ${run.refinedFrom}` : undefined,
    `Instruction: ${run.instruction}`,
    run.reason ? `Reason: ${run.reason}` : undefined,
    typeof run.promptTokens === "number" && typeof run.completionTokens === "number"
      ? `Tokens: ${run.promptTokens} prompt + ${run.completionTokens} completion`
      : undefined,
    proposalCountsText(run),
  ]
    .filter((line): line is string => line !== undefined)
    .join("\n");
  return { label: `run ${run.id} · ${run.agent}`, description: parts.join(" · "), tooltip };
}

/** A file node's label: the path relative to the workspace folder holding it. */
export function fileText(uri: string, workspaceFolderUris: readonly string[]): NodeText {
  const folder = workspaceFolderUris.find((candidate) => uri.startsWith(withSlash(candidate)));
  const shown = decodeURIComponent(folder ? uri.slice(withSlash(folder).length) : uri.replace(/^file:\/\//, ""));
  return { label: shown, description: "", tooltip: uri };
}

export function hunkText(proposal: ProposalDetail): NodeText {
  const added = lineCount(proposal.newText);
  const removed = lineCount(proposal.baseText);
  const preview = firstNonBlankLine(proposal.newText) ?? firstNonBlankLine(proposal.baseText) ?? "";
  const where = proposal.range ? `line ${proposal.range.start.line + 1}` : "file not open";
  return {
    label: `hunk ${proposal.hunk} · ${proposal.state}`,
    description: `+${added} −${removed} · ${where} · ${preview}`,
    tooltip: diffText(proposal.baseText, proposal.newText),
  };
}

export interface ReviewStatus {
  running: number;
  awaiting: number;
}

export function reviewStatus(runs: readonly RunSummary[]): ReviewStatus {
  return {
    running: runs.filter((run) => isInFlight(run.state)).length,
    awaiting: runs.reduce((sum, run) => sum + run.proposals.open + run.proposals.conflicted, 0),
  };
}

export function reviewStatusText(status: ReviewStatus): string {
  const icon = status.running > 0 ? "$(sync~spin)" : "$(hubot)";
  return `${icon} ${status.running} running · ${status.awaiting} to review`;
}

/** "4s ago", "3m ago", "2h ago", "5d ago". */
export function formatAge(elapsedMs: number): string {
  const seconds = Math.max(0, Math.floor(elapsedMs / 1000));
  if (seconds < 60) {
    return `${seconds}s ago`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)}m ago`;
  }
  if (seconds < 86400) {
    return `${Math.floor(seconds / 3600)}h ago`;
  }
  return `${Math.floor(seconds / 86400)}d ago`;
}

/** A hunk as unified-diff lines ("-old", "+new"). */
export function diffText(baseText: string, newText: string): string {
  const prefixed = (text: string, sign: string) =>
    text === "" ? [] : text.replace(/\n$/, "").split("\n").map((line) => `${sign}${line}`);
  return [...prefixed(baseText, "-"), ...prefixed(newText, "+")].join("\n");
}

function proposalCountsText(run: RunSummary): string {
  const counts = run.proposals;
  return `Proposals: ${counts.open} open, ${counts.conflicted} conflicted, ${counts.accepted} accepted, ${counts.rejected} rejected, ${counts.stale} stale`;
}

function lineCount(text: string): number {
  return text === "" ? 0 : text.replace(/\n$/, "").split("\n").length;
}

function firstNonBlankLine(text: string): string | undefined {
  return text
    .split("\n")
    .map((line) => line.trim())
    .find((line) => line !== "");
}

function withSlash(uri: string): string {
  return uri.endsWith("/") ? uri : `${uri}/`;
}
