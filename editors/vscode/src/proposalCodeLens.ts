// "✓ Accept | ✗ Reject | Diff" above every proposed hunk. These replace the
// server's own Accept/Reject lenses (serverConnection.ts filters those out) so
// that the extension's commands, with their refresh and messages, run instead.

import * as vscode from "vscode";
import { ProposalStore } from "./proposalStore";

export class ProposalCodeLensProvider implements vscode.CodeLensProvider {
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changeEmitter.event;

  constructor(private readonly store: ProposalStore) {
    store.onDidChange(() => this.changeEmitter.fire());
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    return this.store.markers(document.uri).flatMap((marker) => {
      const start = new vscode.Position(marker.range.start.line, marker.range.start.character);
      const range = new vscode.Range(start, start);
      return [
        new vscode.CodeLens(range, {
          title: `✓ Accept (run ${marker.run})`,
          command: "director.acceptHunk",
          arguments: [{ hunk: marker.hunk }],
        }),
        new vscode.CodeLens(range, { title: "✗ Reject", command: "director.rejectHunk", arguments: [{ hunk: marker.hunk }] }),
        new vscode.CodeLens(range, { title: "Diff", command: "director.showDiff", arguments: [{ run: marker.run }] }),
      ];
    });
  }
}
