// Draws proposals in every visible editor as decorations (inlineDiff.ts decides
// where): deleted text struck through on a red background, inserted text as
// green decoration content. The buffer itself is never changed.

import * as vscode from "vscode";
import { hunkMarks, InsertionMark } from "./inlineDiff";
import { Range } from "./protocol";
import { diffText } from "./runTreeModel";
import { ProposalStore } from "./proposalStore";

/** What was last drawn in an editor, for tests and the e2e scenario. */
export interface DrawnMarks {
  deletions: number;
  insertions: string[];
}

export class InlineRenderer implements vscode.Disposable {
  private readonly deleted = vscode.window.createTextEditorDecorationType({
    textDecoration: "line-through",
    backgroundColor: new vscode.ThemeColor("director.deletedBackground"),
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  private readonly inserted = vscode.window.createTextEditorDecorationType({
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  });
  private readonly disposables: vscode.Disposable[] = [];
  private readonly drawn = new Map<string, DrawnMarks>();

  constructor(private readonly store: ProposalStore) {
    this.disposables.push(
      this.deleted,
      this.inserted,
      store.onDidChange(() => this.drawVisibleEditors()),
      vscode.window.onDidChangeVisibleTextEditors(() => this.drawVisibleEditors()),
    );
    this.drawVisibleEditors();
  }

  drawnMarks(uri: vscode.Uri): DrawnMarks {
    return this.drawn.get(uri.toString()) ?? { deletions: 0, insertions: [] };
  }

  dispose(): void {
    this.disposables.forEach((disposable) => disposable.dispose());
  }

  private drawVisibleEditors(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      this.draw(editor);
    }
  }

  private draw(editor: vscode.TextEditor): void {
    const document = editor.document;
    const lineLength = (line: number) => (line < document.lineCount ? document.lineAt(line).text.length : 0);
    const deletions: vscode.DecorationOptions[] = [];
    const insertions: vscode.DecorationOptions[] = [];
    for (const { marker, detail } of this.store.proposals(document.uri)) {
      if (!detail || (detail.state !== "open" && detail.state !== "conflicted")) {
        continue;
      }
      const hover = new vscode.MarkdownString().appendCodeblock(diffText(detail.baseText, detail.newText), "diff");
      const marks = hunkMarks({ range: marker.range, baseText: detail.baseText, newText: detail.newText }, lineLength);
      if (marks.deletion) {
        deletions.push({ range: toRange(marks.deletion), hoverMessage: hover });
      }
      if (marks.insertion) {
        insertions.push(insertionDecoration(marks.insertion, hover));
      }
    }
    editor.setDecorations(this.deleted, deletions);
    editor.setDecorations(this.inserted, insertions);
    this.drawn.set(document.uri.toString(), {
      deletions: deletions.length,
      insertions: insertions.map(
        (insertion) => insertion.renderOptions?.after?.contentText ?? insertion.renderOptions?.before?.contentText ?? "",
      ),
    });
  }
}

function insertionDecoration(mark: InsertionMark, hover: vscode.MarkdownString): vscode.DecorationOptions {
  const anchor = new vscode.Position(mark.anchor.line, mark.anchor.character);
  const content: vscode.ThemableDecorationAttachmentRenderOptions = {
    contentText: mark.text,
    color: new vscode.ThemeColor("director.insertedText"),
    backgroundColor: new vscode.ThemeColor("director.insertedBackground"),
    fontStyle: "italic",
  };
  return {
    range: new vscode.Range(anchor, anchor),
    hoverMessage: hover,
    renderOptions: mark.placement === "after" ? { after: content } : { before: content },
  };
}

function toRange(range: Range): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}
