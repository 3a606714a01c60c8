// A test-only path for tests/tests/vscode.rs: when the extension host has
// DIRECTOR_E2E_SCRIPT naming a JSON scenario, the extension drives itself
// through it (delegate, wait for the proposal, look at what is drawn, open the
// diff, read the runs view, accept at the cursor) and writes what it saw to the
// scenario's results file. The Rust test asserts on that file.

import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { delegationOffer, CodeActionLike } from "./delegateArguments";
import { InlineRenderer } from "./inlineRenderer";
import { ProposalStore } from "./proposalStore";
import { DIFF_SCHEME } from "./runDiff";
import { RunList } from "./runList";
import { RunsViewNode, RunsViewProvider } from "./runsView";
import { ServerConnection } from "./serverConnection";
import { ReviewStatusBar } from "./statusBar";

interface Scenario {
  /** Where to write the results (JSON). */
  results: string;
  /** The file to delegate, relative to the first workspace folder. */
  file: string;
  selection: { start: { line: number; character: number }; end: { line: number; character: number } };
  instruction: string;
  timeoutMs: number;
}

export interface ScenarioServices {
  connection: ServerConnection;
  store: ProposalStore;
  runs: RunList;
  renderer: InlineRenderer;
  runsView: RunsViewProvider;
  statusBar: ReviewStatusBar;
}

/** Runs the scenario named by DIRECTOR_E2E_SCRIPT, if any. */
export function runE2eScenarioIfAsked(services: ScenarioServices): void {
  const scriptPath = process.env.DIRECTOR_E2E_SCRIPT;
  if (!scriptPath) {
    return;
  }
  const scenario = JSON.parse(fs.readFileSync(scriptPath, "utf8")) as Scenario;
  const results: Record<string, unknown> = { steps: [] as string[] };
  const step = (name: string) => {
    (results.steps as string[]).push(name);
    writeResults(scenario.results, results);
  };
  runScenario(scenario, services, results, step)
    .then(() => {
      results.finished = true;
    })
    .catch((error: unknown) => {
      results.error = error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
    })
    .finally(() => writeResults(scenario.results, results));
}

async function runScenario(
  scenario: Scenario,
  services: ScenarioServices,
  results: Record<string, unknown>,
  step: (name: string) => void,
): Promise<void> {
  const deadline = Date.now() + scenario.timeoutMs;
  const client = await waitFor("the language server to run", deadline, () => services.connection.runningClient);
  step("server running");
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    throw new Error("no workspace folder is open");
  }
  const uri = vscode.Uri.joinPath(folder.uri, scenario.file);
  const document = await vscode.workspace.openTextDocument(uri);
  let editor = await vscode.window.showTextDocument(document);
  const { start, end } = scenario.selection;
  editor.selection = new vscode.Selection(start.line, start.character, end.line, end.character);
  step("file open");

  const actions = await client.sendRequest<CodeActionLike[] | null>("textDocument/codeAction", {
    textDocument: { uri: uri.toString() },
    range: client.code2ProtocolConverter.asRange(editor.selection),
    context: { diagnostics: [] },
  });
  const offer = delegationOffer(actions);
  results.agents = offer.agents;
  results.presets = offer.presets.map((preset) => preset.label);

  const run = await vscode.commands.executeCommand<number | undefined>("director.delegateSelection", {
    instruction: scenario.instruction,
    agent: offer.agents[0],
  });
  results.run = run;
  step("delegated");

  const proposals = await waitFor("a proposal", deadline, () => {
    const shown = services.store.proposals(uri);
    return shown.length > 0 && shown.every((proposal) => proposal.detail) ? shown : undefined;
  });
  results.proposals = proposals.map((proposal) => ({ ...proposal.marker, ...proposal.detail }));
  results.drawn = services.renderer.drawnMarks(uri);
  results.documentTextWhileProposed = document.getText();
  step("proposal shown");

  const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>("vscode.executeCodeLensProvider", uri);
  results.codeLenses = lenses.map((lens) => lens.command?.title ?? "");

  await vscode.commands.executeCommand("director.showDiff", { run });
  const diffTab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (diffTab instanceof vscode.TabInputTextDiff && diffTab.modified.scheme === DIFF_SCHEME) {
    results.diffProposedText = (await vscode.workspace.openTextDocument(diffTab.modified)).getText();
    results.diffCurrentText = (await vscode.workspace.openTextDocument(diffTab.original)).getText();
  }
  step("diff shown");

  await services.runs.refresh();
  results.runsView = await describeTree(services.runsView);
  results.statusBar = services.statusBar.text;
  step("runs view read");

  editor = await vscode.window.showTextDocument(document);
  const target = proposals[0].marker.range.start;
  editor.selection = new vscode.Selection(target.line, target.character, target.line, target.character);
  const accepted = await vscode.commands.executeCommand("director.acceptHunk");
  results.acceptResult = accepted;
  await waitFor("the proposal to go away", deadline, () => (services.store.proposals(uri).length === 0 ? true : undefined));
  results.documentTextAfterAccept = document.getText();
  results.dirtyAfterAccept = document.isDirty;
  await services.runs.refresh();
  results.runsAfterAccept = services.runs.runs.map((summary) => ({ id: summary.id, state: summary.state, proposals: summary.proposals }));
  step("accepted");
}

/** The runs view as indented lines "label — description", two levels down. */
async function describeTree(provider: RunsViewProvider): Promise<string[]> {
  const lines: string[] = [];
  const visit = async (node: RunsViewNode | undefined, depth: number) => {
    for (const child of await provider.getChildren(node)) {
      const item = provider.getTreeItem(child);
      const label = typeof item.label === "string" ? item.label : (item.label?.label ?? "");
      lines.push(`${"  ".repeat(depth)}${label}${item.description ? ` — ${String(item.description)}` : ""}`);
      if (depth < 2) {
        await visit(child, depth + 1);
      }
    }
  };
  await visit(undefined, 0);
  return lines;
}

async function waitFor<T>(what: string, deadline: number, probe: () => T | undefined): Promise<T> {
  for (;;) {
    const value = probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function writeResults(file: string, results: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(results, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}
