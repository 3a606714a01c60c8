// Director for VS Code: starts `director lsp`, and adds what plain LSP cannot
// show: proposals drawn inline, Accept/Reject/Diff lenses, a runs view, a
// status bar item, and commands with pickers and keybindings.

import * as vscode from "vscode";
import { registerCommands } from "./commands";
import { runE2eScenarioIfAsked } from "./e2eScenario";
import { InlineRenderer } from "./inlineRenderer";
import { ProposalCodeLensProvider } from "./proposalCodeLens";
import { ProposalStore } from "./proposalStore";
import { DIFF_SCHEME, RunDiffContentProvider } from "./runDiff";
import { RunList } from "./runList";
import { RunsViewProvider } from "./runsView";
import { ServerConnection } from "./serverConnection";
import { ReviewStatusBar } from "./statusBar";

let connection: ServerConnection | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("Director");
  connection = new ServerConnection(output);
  const store = new ProposalStore(connection);
  const runs = new RunList(connection);
  const renderer = new InlineRenderer(store);
  const diffContents = new RunDiffContentProvider();
  const runsView = new RunsViewProvider(runs, connection);
  const statusBar = new ReviewStatusBar(runs, connection);
  context.subscriptions.push(
    output,
    connection,
    store,
    runs,
    renderer,
    statusBar,
    vscode.workspace.registerTextDocumentContentProvider(DIFF_SCHEME, diffContents),
    vscode.languages.registerCodeLensProvider({ scheme: "file" }, new ProposalCodeLensProvider(store)),
    vscode.window.createTreeView("director.runs", { treeDataProvider: runsView, showCollapseAll: true }),
    ...registerCommands({ connection, store, runs, diffContents }),
    store.onDidChange(() => updateProposalContext(store)),
    vscode.window.onDidChangeActiveTextEditor(() => updateProposalContext(store)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("director.serverPath") || event.affectsConfiguration("director.documentSelector")) {
        void connection?.restart("its settings changed");
      }
    }),
  );
  await connection.start();
  void runs.refresh();
  runE2eScenarioIfAsked({ connection, store, runs, renderer, runsView, statusBar });
}

export async function deactivate(): Promise<void> {
  await connection?.stop();
}

/** Sets `director.proposalsInEditor` for the editor context menu. */
function updateProposalContext(store: ProposalStore): void {
  const editor = vscode.window.activeTextEditor;
  const hasProposals = editor !== undefined && store.markers(editor.document.uri).length > 0;
  void vscode.commands.executeCommand("setContext", "director.proposalsInEditor", hasProposals);
}
