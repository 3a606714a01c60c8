// "Show the Run's Diff": VS Code's diff editor on two virtual documents, the
// file's current text and that text with the run's open hunks applied. The
// documents live under the `director-diff` scheme and are served from memory.

import * as path from "path";
import * as vscode from "vscode";
import { applyReplacements } from "./applyHunks";
import { RunDetail, RunRequest } from "./protocol";
import { ServerConnection } from "./serverConnection";

export const DIFF_SCHEME = "director-diff";

export class RunDiffContentProvider implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private readonly changeEmitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changeEmitter.event;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? "";
  }

  /** Serves `text` at `uri` (and refreshes an open diff showing it). */
  set(uri: vscode.Uri, text: string): void {
    this.contents.set(uri.toString(), text);
    this.changeEmitter.fire(uri);
  }
}

/** Opens the diff of `run`; returns false (after saying why) when there is nothing to show. */
export async function showRunDiff(
  run: number,
  connection: ServerConnection,
  contents: RunDiffContentProvider,
): Promise<boolean> {
  const client = connection.requireClient();
  if (!client) {
    return false;
  }
  let detail = await client.sendRequest<RunDetail>(RunRequest, { run });
  if (!detail.run.uri) {
    void vscode.window.showWarningMessage(`Director: run ${run} has no file`);
    return false;
  }
  const fileUri = vscode.Uri.parse(detail.run.uri);
  const document = await vscode.workspace.openTextDocument(fileUri);
  const open = (candidate: RunDetail) => candidate.proposals.filter((proposal) => proposal.state === "open");
  if (open(detail).some((proposal) => proposal.range === null)) {
    // The document was just opened: ask again now that the server has it.
    detail = await client.sendRequest<RunDetail>(RunRequest, { run });
  }
  const replacements = open(detail).flatMap((proposal) =>
    proposal.range ? [{ range: proposal.range, newText: proposal.newText }] : [],
  );
  if (replacements.length === 0) {
    void vscode.window.showInformationMessage(`Director: run ${run} has no open proposals`);
    return false;
  }
  const current = document.getText();
  const name = path.posix.basename(fileUri.path);
  const before = vscode.Uri.from({ scheme: DIFF_SCHEME, path: `/run-${run}/current/${name}` });
  const after = vscode.Uri.from({ scheme: DIFF_SCHEME, path: `/run-${run}/proposed/${name}` });
  contents.set(before, current);
  contents.set(after, applyReplacements(current, replacements));
  await vscode.commands.executeCommand("vscode.diff", before, after, `${name}: run ${run} (current ↔ proposed)`, {
    preview: true,
  });
  return true;
}
