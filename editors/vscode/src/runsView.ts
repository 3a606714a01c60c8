// The "Runs" view in Director's sidebar: run → file → hunks, newest run first,
// with state, agent, age, tokens (and cost when the server reports one). Hunks
// are fetched with `director/run` when a file node is expanded; clicking a
// hunk reveals it in its file.

import * as vscode from "vscode";
import { ProposalDetail, RunDetail, RunRequest, RunSummary } from "./protocol";
import { fileText, hunkText, runText } from "./runTreeModel";
import { RunList } from "./runList";
import { errorText, ServerConnection } from "./serverConnection";

export type RunsViewNode =
  | { kind: "run"; runId: number; summary: RunSummary }
  | { kind: "file"; runId: number; uri: string }
  | { kind: "hunk"; runId: number; uri: string; proposal: ProposalDetail }
  | { kind: "message"; text: string };

export class RunsViewProvider implements vscode.TreeDataProvider<RunsViewNode> {
  private readonly changeEmitter = new vscode.EventEmitter<RunsViewNode | undefined>();
  readonly onDidChangeTreeData = this.changeEmitter.event;

  constructor(
    private readonly runs: RunList,
    private readonly connection: ServerConnection,
  ) {
    runs.onDidChange(() => this.changeEmitter.fire(undefined));
  }

  getTreeItem(node: RunsViewNode): vscode.TreeItem {
    switch (node.kind) {
      case "run": {
        const text = runText(node.summary, Date.now());
        const item = new vscode.TreeItem(text.label, vscode.TreeItemCollapsibleState.Collapsed);
        item.description = text.description;
        item.tooltip = text.tooltip;
        item.contextValue = "director.run";
        item.iconPath = new vscode.ThemeIcon(runIcon(node.summary));
        item.id = `run-${node.runId}-${node.summary.state}`;
        return item;
      }
      case "file": {
        const folders = (vscode.workspace.workspaceFolders ?? []).map((folder) => folder.uri.toString());
        const text = fileText(node.uri, folders);
        const item = new vscode.TreeItem(text.label, vscode.TreeItemCollapsibleState.Expanded);
        item.tooltip = text.tooltip;
        item.resourceUri = vscode.Uri.parse(node.uri);
        item.contextValue = "director.file";
        return item;
      }
      case "hunk": {
        const text = hunkText(node.proposal);
        const item = new vscode.TreeItem(text.label, vscode.TreeItemCollapsibleState.None);
        item.description = text.description;
        item.tooltip = text.tooltip;
        item.contextValue = "director.hunk";
        const range = node.proposal.range;
        item.command = {
          title: "Reveal",
          command: "vscode.open",
          arguments: [
            vscode.Uri.parse(node.uri),
            range ? { selection: new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character) } : {},
          ],
        };
        return item;
      }
      case "message":
        return new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
    }
  }

  async getChildren(node?: RunsViewNode): Promise<RunsViewNode[]> {
    if (!node) {
      if (!this.connection.runningClient) {
        return [{ kind: "message", text: `The Director server is not running${this.connection.problem ? `: ${this.connection.problem}` : ""}` }];
      }
      return this.runs.runs.map((summary) => ({ kind: "run", runId: summary.id, summary }));
    }
    if (node.kind === "run") {
      return node.summary.uri ? [{ kind: "file", runId: node.runId, uri: node.summary.uri }] : [];
    }
    if (node.kind === "file") {
      const client = this.connection.runningClient;
      if (!client) {
        return [];
      }
      try {
        const detail = await client.sendRequest<RunDetail>(RunRequest, { run: node.runId });
        return detail.proposals.map((proposal) => ({ kind: "hunk", runId: node.runId, uri: node.uri, proposal }));
      } catch (error) {
        return [{ kind: "message", text: `director/run failed: ${errorText(error)}` }];
      }
    }
    return [];
  }
}

function runIcon(run: RunSummary): string {
  switch (run.state) {
    case "queued":
    case "running":
      return "sync~spin";
    case "proposed":
      return "git-pull-request";
    case "settled":
      return "check";
    case "failed":
    case "interrupted":
      return "error";
    case "cancelled":
      return "circle-slash";
  }
}
