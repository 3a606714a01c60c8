// The text a file would have if a run's open hunks were accepted: the "after"
// side of the run's diff. Positions are UTF-16 code units, as VS Code and
// vscode-languageclient (which offers only utf-16) use them. Pure.

import { Position, Range } from "./protocol";

export interface Replacement {
  range: Range;
  newText: string;
}

/** `text` with every replacement applied; overlapping replacements keep the
 * first one (in document order) and skip the rest. */
export function applyReplacements(text: string, replacements: readonly Replacement[]): string {
  const lineStarts = lineStartOffsets(text);
  const edits = replacements
    .map((replacement) => ({
      start: offsetAt(text, lineStarts, replacement.range.start),
      end: offsetAt(text, lineStarts, replacement.range.end),
      newText: replacement.newText,
    }))
    .sort((left, right) => left.start - right.start || left.end - right.end);
  let result = "";
  let copiedUpTo = 0;
  for (const edit of edits) {
    if (edit.start < copiedUpTo) {
      continue;
    }
    result += text.slice(copiedUpTo, edit.start) + edit.newText;
    copiedUpTo = Math.max(edit.start, edit.end);
  }
  return result + text.slice(copiedUpTo);
}

/** Offsets where each line begins; "\r\n", "\r" and "\n" end lines. */
export function lineStartOffsets(text: string): number[] {
  const starts = [0];
  const lineBreak = /\r\n|\r|\n/g;
  for (let match = lineBreak.exec(text); match !== null; match = lineBreak.exec(text)) {
    starts.push(match.index + match[0].length);
  }
  return starts;
}

/** The offset of `position`, clamped to its line and to the text. */
export function offsetAt(text: string, lineStarts: readonly number[], position: Position): number {
  if (position.line >= lineStarts.length) {
    return text.length;
  }
  const lineStart = lineStarts[position.line];
  const nextLineStart = position.line + 1 < lineStarts.length ? lineStarts[position.line + 1] : text.length;
  const lineContent = text.slice(lineStart, nextLineStart).replace(/\r?\n$|\r$/, "");
  return lineStart + Math.min(Math.max(position.character, 0), lineContent.length);
}
