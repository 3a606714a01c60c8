// How a proposed hunk is drawn in the editor without touching the buffer: the
// text it would delete is struck through and the text it would insert is shown
// as decoration content after (or, at the top of a file, before) an anchor.
// VS Code cannot insert virtual lines, so inserted lines are shown joined with
// " ⏎ " on one line; the diff editor shows them in full. Pure.

import { Position, Range } from "./protocol";

/** Inserted text drawn next to `anchor`. */
export interface InsertionMark {
  anchor: Position;
  placement: "after" | "before";
  text: string;
}

export interface HunkMarks {
  deletion: Range | undefined;
  insertion: InsertionMark | undefined;
}

export interface HunkText {
  range: Range;
  baseText: string;
  newText: string;
}

/** Longest inserted text drawn inline; the rest is elided. */
export const MAX_INLINE_CHARS = 160;

/** The marks for one hunk; `lineLength(line)` is the length of a document line
 * (without its line break). */
export function hunkMarks(hunk: HunkText, lineLength: (line: number) => number): HunkMarks {
  const deletion = hunk.baseText === "" ? undefined : visibleDeletion(hunk.range, lineLength);
  if (hunk.newText === "") {
    return { deletion, insertion: undefined };
  }
  const text = inlineText(hunk.newText);
  if (deletion) {
    return { deletion, insertion: { anchor: deletion.end, placement: "after", text } };
  }
  const start = hunk.range.start;
  const insertsWholeLines = start.character === 0 && hunk.newText.endsWith("\n");
  if (insertsWholeLines && start.line > 0) {
    const previous = start.line - 1;
    return {
      deletion,
      insertion: {
        anchor: { line: previous, character: lineLength(previous) },
        placement: "after",
        text: ` ⏎ ${text}`,
      },
    };
  }
  const placement = insertsWholeLines ? "before" : "after";
  return { deletion, insertion: { anchor: start, placement, text } };
}

/** The inserted text on one line: lines joined with " ⏎ ", the trailing line
 * break dropped, and elided past MAX_INLINE_CHARS. */
export function inlineText(newText: string): string {
  const withoutFinalBreak = newText.endsWith("\n") ? newText.slice(0, -1) : newText;
  const lines = withoutFinalBreak.split("\n");
  const joined = lines.length === 1 ? lines[0] : lines.map((line) => line.trimEnd()).join(" ⏎ ");
  return joined.length > MAX_INLINE_CHARS ? `${joined.slice(0, MAX_INLINE_CHARS - 1)}…` : joined;
}

/** The deleted range without a trailing empty part: a range ending at column 0
 * of the next line is struck through only up to the end of its last line. */
function visibleDeletion(range: Range, lineLength: (line: number) => number): Range {
  if (range.end.character === 0 && range.end.line > range.start.line) {
    const last = range.end.line - 1;
    return { start: range.start, end: { line: last, character: lineLength(last) } };
  }
  return range;
}
