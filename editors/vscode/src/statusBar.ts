// A status bar item with the number of running runs and of proposals awaiting
// review; clicking it opens the runs view.

import * as vscode from "vscode";
import { reviewStatus, reviewStatusText } from "./runTreeModel";
import { RunList } from "./runList";
import { ServerConnection } from "./serverConnection";

export class ReviewStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("director.status", vscode.StatusBarAlignment.Left, 50);
  private readonly disposables: vscode.Disposable[] = [this.item];

  constructor(
    private readonly runs: RunList,
    private readonly connection: ServerConnection,
  ) {
    this.item.name = "Director";
    this.item.command = "director.showRuns";
    this.disposables.push(runs.onDidChange(() => this.update()), connection.onDidChangeState(() => this.update()));
    this.update();
    this.item.show();
  }

  /** The text shown now (read by the e2e scenario). */
  get text(): string {
    return this.item.text;
  }

  dispose(): void {
    this.disposables.forEach((disposable) => disposable.dispose());
  }

  private update(): void {
    if (!this.connection.runningClient) {
      this.item.text = "$(error) Director";
      this.item.tooltip = `Director: the language server is not running${this.connection.problem ? `: ${this.connection.problem}` : ""}`;
      return;
    }
    const status = reviewStatus(this.runs.runs);
    this.item.text = reviewStatusText(status);
    this.item.tooltip = `Director: ${status.running} runs in progress, ${status.awaiting} proposals awaiting review`;
  }
}
