// Finds Director's proposals among a document's diagnostics: the server
// publishes one diagnostic per proposed hunk (source "director", code
// "proposal", data {hunk, run}). Pure, so it is unit-tested without VS Code.

import { Position, ProposalData, Range } from "./protocol";

/** The parts of a diagnostic this module reads (VS Code's and LSP's both fit). */
export interface DiagnosticLike {
  source?: string;
  code?: string | number | { value: string | number };
  range: Range;
  data?: unknown;
}

export interface ProposalMarker extends ProposalData {
  range: Range;
}

/** The proposal markers among `diagnostics`, in document order. */
export function proposalMarkers(diagnostics: readonly DiagnosticLike[]): ProposalMarker[] {
  const markers: ProposalMarker[] = [];
  for (const diagnostic of diagnostics) {
    if (diagnostic.source !== "director" || codeValue(diagnostic.code) !== "proposal") {
      continue;
    }
    const data = proposalData(diagnostic.data);
    if (data) {
      markers.push({ ...data, range: diagnostic.range });
    }
  }
  return markers.sort((left, right) => comparePositions(left.range.start, right.range.start));
}

/** `data` as {hunk, run} when it has that shape. */
export function proposalData(data: unknown): ProposalData | undefined {
  if (typeof data !== "object" || data === null) {
    return undefined;
  }
  const { hunk, run } = data as Record<string, unknown>;
  return typeof hunk === "number" && typeof run === "number" ? { hunk, run } : undefined;
}

/** The marker a cursor command is about: the one containing the cursor, else
 * the first one on the cursor's line (an insertion point counts as its line). */
export function markerAtCursor(
  markers: readonly ProposalMarker[],
  cursor: Position,
): ProposalMarker | undefined {
  const containing = markers.find(
    (marker) =>
      comparePositions(marker.range.start, cursor) <= 0 &&
      comparePositions(cursor, marker.range.end) <= 0,
  );
  if (containing) {
    return containing;
  }
  return markers.find(
    (marker) => marker.range.start.line <= cursor.line && cursor.line <= lastLine(marker.range),
  );
}

/** The newest run (highest id) that has markers, if any. */
export function newestRun(markers: readonly ProposalMarker[]): number | undefined {
  return markers.reduce<number | undefined>(
    (newest, marker) => (newest === undefined || marker.run > newest ? marker.run : newest),
    undefined,
  );
}

export function comparePositions(left: Position, right: Position): number {
  return left.line === right.line ? left.character - right.character : left.line - right.line;
}

/** The last line a range covers: a range ending at column 0 of a later line
 * (whole lines) does not cover that line. */
function lastLine(range: Range): number {
  return range.end.character === 0 && range.end.line > range.start.line
    ? range.end.line - 1
    : range.end.line;
}

function codeValue(code: DiagnosticLike["code"]): string | number | undefined {
  return typeof code === "object" && code !== null ? code.value : code;
}
