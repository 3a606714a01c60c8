// The extension's commands. Their ids (director.delegateSelection,
// director.acceptHunk, …) differ from the server's executeCommand ids
// (director.delegate, director.accept, …), which vscode-languageclient
// registers itself so that the server's code actions and lenses work; these
// commands add pickers, cursor context and messages, and call the server with
// `workspace/executeCommand`.

import * as vscode from "vscode";
import { ExecuteCommandRequest, LanguageClient } from "vscode-languageclient/node";
import {
  DELEGATION_LANGUAGES,
  delegateArgument,
  delegationOffer,
  CodeActionLike,
  refineArgument,
  runFromArgument,
} from "./delegateArguments";
import { isInFlight, Range, RunSummary, ServerCommand } from "./protocol";
import { markerAtCursor, newestRun } from "./proposalDiagnostics";
import { ProposalStore } from "./proposalStore";
import { RunDiffContentProvider, showRunDiff } from "./runDiff";
import { RunList } from "./runList";
import { errorText, ServerConnection } from "./serverConnection";

export interface CommandServices {
  connection: ServerConnection;
  store: ProposalStore;
  runs: RunList;
  diffContents: RunDiffContentProvider;
}

/** Optional argument of director.delegateSelection (keybindings and tests pass it
 * to skip the pickers). */
interface DelegateSelectionArgument {
  instruction?: string;
  agent?: string;
}

export function registerCommands(services: CommandServices): vscode.Disposable[] {
  const commands: Record<string, (argument?: unknown) => Promise<unknown>> = {
    "director.delegateSelection": (argument) => delegateSelection(services, argument as DelegateSelectionArgument | undefined),
    "director.acceptHunk": (argument) => decideHunk(services, ServerCommand.accept, argument),
    "director.rejectHunk": (argument) => decideHunk(services, ServerCommand.reject, argument),
    "director.acceptRun": (argument) => decideRun(services, ServerCommand.acceptAll, argument),
    "director.rejectRun": (argument) => decideRun(services, ServerCommand.rejectAll, argument),
    "director.refineRun": (argument) => refineRun(services, argument),
    "director.cancelRun": (argument) => cancelRun(services, argument),
    "director.showDiff": async (argument) => {
      const run = await resolveRun(services, argument, "Show the diff of which run?");
      return run === undefined ? false : showRunDiff(run, services.connection, services.diffContents);
    },
    "director.showRuns": async () => {
      await vscode.commands.executeCommand("director.runs.focus");
      await services.runs.refresh();
    },
    "director.refreshRuns": () => services.runs.refresh(),
    "director.restartServer": () => services.connection.restart("asked for"),
  };
  return Object.entries(commands).map(([id, handler]) =>
    vscode.commands.registerCommand(id, async (argument?: unknown) => {
      try {
        return await handler(argument);
      } catch (error) {
        void vscode.window.showErrorMessage(`Director: ${errorText(error)}`);
        return undefined;
      }
    }),
  );
}

/** Sends one of the server's commands and refreshes the runs afterwards. */
async function executeServerCommand<T>(services: CommandServices, client: LanguageClient, command: string, argument: object): Promise<T> {
  try {
    return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] })) as T;
  } finally {
    services.runs.scheduleRefresh();
  }
}

async function delegateSelection(services: CommandServices, given: DelegateSelectionArgument | undefined): Promise<number | undefined> {
  const client = services.connection.requireClient();
  const editor = vscode.window.activeTextEditor;
  if (!client) {
    return undefined;
  }
  if (!editor) {
    void vscode.window.showWarningMessage("Director: open a file and select the code to delegate");
    return undefined;
  }
  const uri = client.code2ProtocolConverter.asUri(editor.document.uri);
  const range: Range = client.code2ProtocolConverter.asRange(editor.selection);
  let agent = given?.agent;
  let instruction = given?.instruction;
  if (instruction === undefined) {
    const actions = await client.sendRequest<CodeActionLike[] | null>("textDocument/codeAction", {
      textDocument: { uri },
      range,
      context: { diagnostics: [] },
    });
    const offer = delegationOffer(actions);
    if (offer.agents.length === 0 && DELEGATION_LANGUAGES.includes(editor.document.languageId)) {
      const choice = await vscode.window.showErrorMessage(
        "Director: no agent is configured; add one under [agents] in director.toml (or in ~/.config/director/config.toml)",
        "Open director.toml",
      );
      if (choice === "Open director.toml") {
        await openWorkspaceConfig(editor.document.uri);
      }
      return undefined;
    }
    agent ??= offer.agents.length > 1 ? await vscode.window.showQuickPick(offer.agents, { title: "Delegate to which agent?" }) : offer.agents[0];
    if (offer.agents.length > 1 && agent === undefined) {
      return undefined;
    }
    instruction = await pickInstruction(offer.presets, agent);
  }
  const argument = instruction === undefined ? undefined : delegateArgument(uri, range, instruction, agent);
  if (!argument) {
    return undefined;
  }
  const result = await executeServerCommand<{ run: number }>(services, client, ServerCommand.delegate, argument);
  void vscode.window.setStatusBarMessage(`Director: run ${result.run} started${agent ? ` (${agent})` : ""}`, 5000);
  return result.run;
}

async function pickInstruction(presets: { label: string; instruction: string }[], agent: string | undefined): Promise<string | undefined> {
  const typeOwn = "$(edit) Type an instruction…";
  const items = [typeOwn, ...presets.map((preset) => preset.label)];
  const picked = presets.length === 0 ? typeOwn : await vscode.window.showQuickPick(items, { title: `What should ${agent ?? "the agent"} do?` });
  if (picked === undefined) {
    return undefined;
  }
  const preset = presets.find((candidate) => candidate.label === picked);
  if (preset) {
    return preset.instruction;
  }
  return vscode.window.showInputBox({
    title: `Instruction for ${agent ?? "the agent"}`,
    prompt: "What should the agent do with the selected code?",
    validateInput: (text) => (text.trim() === "" ? "Type an instruction" : undefined),
  });
}

async function openWorkspaceConfig(near: vscode.Uri): Promise<void> {
  const folder = vscode.workspace.getWorkspaceFolder(near) ?? vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    return;
  }
  const configUri = vscode.Uri.joinPath(folder.uri, "director.toml");
  try {
    await vscode.workspace.fs.stat(configUri);
  } catch {
    await vscode.workspace.fs.writeFile(configUri, new TextEncoder().encode("[agents.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"qwen2.5-coder:14b\"\n"));
  }
  await vscode.window.showTextDocument(configUri);
}

function hunkFromArgument(argument: unknown): number | undefined {
  if (typeof argument === "object" && argument !== null && typeof (argument as { hunk?: unknown }).hunk === "number") {
    return (argument as { hunk: number }).hunk;
  }
  return undefined;
}

async function decideHunk(services: CommandServices, command: string, argument: unknown): Promise<unknown> {
  const client = services.connection.requireClient();
  if (!client) {
    return undefined;
  }
  let hunk = hunkFromArgument(argument);
  const editor = vscode.window.activeTextEditor;
  if (hunk === undefined && editor) {
    hunk = markerAtCursor(services.store.markers(editor.document.uri), editor.selection.active)?.hunk;
  }
  if (hunk === undefined) {
    void vscode.window.showWarningMessage("Director: no proposal at the cursor");
    return undefined;
  }
  return executeServerCommand(services, client, command, { hunk });
}

/** The run a command is about: the one given, else the run of the proposal at
 * the cursor, else the newest run with proposals in the active editor, else
 * one picked from the server's runs. */
async function resolveRun(services: CommandServices, argument: unknown, title: string): Promise<number | undefined> {
  const given = runFromArgument(argument);
  if (given !== undefined) {
    return given;
  }
  const editor = vscode.window.activeTextEditor;
  if (editor) {
    const markers = services.store.markers(editor.document.uri);
    const here = markerAtCursor(markers, editor.selection.active)?.run ?? newestRun(markers);
    if (here !== undefined) {
      return here;
    }
  }
  return pickRun(services, title, (run) => run.proposals.open + run.proposals.conflicted > 0);
}

/** One of the server's runs that pass `candidates`: the only one, or the one
 * the user picks. */
async function pickRun(services: CommandServices, title: string, candidates: (run: RunSummary) => boolean): Promise<number | undefined> {
  await services.runs.refresh();
  const choices = services.runs.runs.filter(candidates);
  if (choices.length === 0) {
    void vscode.window.showWarningMessage("Director: there is no run to act on");
    return undefined;
  }
  if (choices.length === 1) {
    return choices[0].id;
  }
  const picked = await vscode.window.showQuickPick(
    choices.map((run) => ({ label: `run ${run.id} · ${run.agent} · ${run.state}`, detail: run.instruction, run: run.id })),
    { title },
  );
  return picked?.run;
}

async function decideRun(services: CommandServices, command: string, argument: unknown): Promise<unknown> {
  const run = await resolveRun(services, argument, command === ServerCommand.acceptAll ? "Accept all of which run?" : "Reject all of which run?");
  const client = run === undefined ? undefined : services.connection.requireClient();
  return client && run !== undefined ? executeServerCommand(services, client, command, { run }) : undefined;
}

async function refineRun(services: CommandServices, argument: unknown): Promise<number | undefined> {
  const run = await resolveRun(services, argument, "Refine which run?");
  const client = run === undefined ? undefined : services.connection.requireClient();
  if (!client || run === undefined) {
    return undefined;
  }
  const given = typeof argument === "object" && argument !== null ? (argument as { feedback?: unknown }).feedback : undefined;
  const feedback =
    typeof given === "string"
      ? given
      : await vscode.window.showInputBox({ title: `Refine run ${run}`, prompt: "Feedback for the agent (empty: try again)" });
  if (feedback === undefined) {
    return undefined;
  }
  const result = await executeServerCommand<{ run: number }>(services, client, ServerCommand.refine, refineArgument(run, feedback));
  void vscode.window.setStatusBarMessage(`Director: run ${result.run} refines run ${run}`, 5000);
  return result.run;
}

async function cancelRun(services: CommandServices, argument: unknown): Promise<boolean | undefined> {
  const given = runFromArgument(argument);
  const run = given ?? (await pickRun(services, "Cancel which run?", (candidate) => isInFlight(candidate.state)));
  const client = run === undefined ? undefined : services.connection.requireClient();
  if (!client || run === undefined) {
    return undefined;
  }
  const result = await executeServerCommand<{ cancelled: boolean }>(services, client, ServerCommand.cancel, { run });
  void vscode.window.showInformationMessage(result.cancelled ? `Director: run ${run} cancelled` : `Director: run ${run} had already finished`);
  return result.cancelled;
}
