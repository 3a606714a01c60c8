// The one connection to `director lsp`: finds the executable, starts it with
// vscode-languageclient, tells it whether the workspace is trusted, restarts it
// (with a visible message) when it crashes, and lets the rest of the extension
// observe its runs' `$/progress`.

import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
} from "vscode-languageclient/node";
import { ServerCommand } from "./protocol";
import { findServerExecutable } from "./serverExecutable";

/** Crashes within this window count towards MAX_RESTARTS. */
const RESTART_WINDOW_MS = 3 * 60 * 1000;
const MAX_RESTARTS = 4;
const RUN_PROGRESS_PREFIX = "director/run/";

/** Server lenses the extension draws itself (with a Diff lens added). */
const REPLACED_SERVER_LENSES: readonly string[] = [ServerCommand.accept, ServerCommand.reject];

export class ServerConnection implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly recentCrashes: number[] = [];
  private readonly stateEmitter = new vscode.EventEmitter<void>();
  private readonly progressEmitter = new vscode.EventEmitter<number>();
  private readonly disposables: vscode.Disposable[] = [];
  /** Why the server is not running, when it could not be started. */
  problem: string | undefined;

  /** Fires when the server starts or stops. */
  readonly onDidChangeState = this.stateEmitter.event;
  /** Fires with a run id on every `$/progress` of that run. */
  readonly onRunProgress = this.progressEmitter.event;

  constructor(private readonly output: vscode.OutputChannel) {
    this.disposables.push(
      this.stateEmitter,
      this.progressEmitter,
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        void this.restart("the workspace is now trusted");
      }),
    );
  }

  /** The client when the server is running. */
  get runningClient(): LanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  /** The running client, or undefined after telling the user why there is none. */
  requireClient(): LanguageClient | undefined {
    const client = this.runningClient;
    if (!client) {
      void vscode.window.showWarningMessage(
        `Director: the language server is not running${this.problem ? `: ${this.problem}` : ""}`,
      );
    }
    return client;
  }

  async start(): Promise<void> {
    const settings = vscode.workspace.getConfiguration("director");
    const lookup = findServerExecutable(settings.get<string>("serverPath", ""), process.env.PATH);
    if (!lookup.found) {
      this.problem = lookup.message;
      this.output.appendLine(`Cannot start the server: ${lookup.message}`);
      this.stateEmitter.fire();
      void vscode.window
        .showErrorMessage(`Director: cannot start the language server: ${lookup.message}`, "Open Settings")
        .then((choice) => {
          if (choice === "Open Settings") {
            void vscode.commands.executeCommand("workbench.action.openSettings", "director.serverPath");
          }
        });
      return;
    }
    this.problem = undefined;
    const serverOptions: ServerOptions = {
      command: lookup.path,
      // No `transport`: TransportKind.stdio would append `--stdio`.
      args: ["lsp"],
    };
    const languages = settings.get<string[]>("documentSelector", []);
    const clientOptions: LanguageClientOptions = {
      documentSelector: languages.map((language) => ({ scheme: "file", language })),
      initializationOptions: () => ({ trusted: vscode.workspace.isTrusted }),
      outputChannel: this.output,
      errorHandler: {
        error: (_error, _message, count) => ({
          action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
        }),
        closed: () => this.onServerClosed(),
      },
      middleware: {
        handleWorkDoneProgress: (token, params, next) => {
          next(token, params);
          if (typeof token === "string" && token.startsWith(RUN_PROGRESS_PREFIX)) {
            const run = Number(token.slice(RUN_PROGRESS_PREFIX.length));
            if (Number.isInteger(run)) {
              this.progressEmitter.fire(run);
            }
          }
        },
        provideCodeLenses: async (document, token, next) => {
          const lenses = await next(document, token);
          return lenses?.filter((lens) => !REPLACED_SERVER_LENSES.includes(lens.command?.command ?? ""));
        },
      },
    };
    const client = new LanguageClient("director", "Director", serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState(() => this.stateEmitter.fire());
    try {
      await client.start();
    } catch (error) {
      this.problem = `it failed to start: ${errorText(error)}`;
      void vscode.window.showErrorMessage(`Director: the language server ${this.problem}`);
    }
    this.stateEmitter.fire();
  }

  async restart(reason: string): Promise<void> {
    this.output.appendLine(`Restarting the server: ${reason}`);
    await this.stop();
    await this.start();
    if (this.runningClient) {
      void vscode.window.showInformationMessage(`Director: restarted the language server (${reason})`);
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.isRunning()) {
      await client.stop().catch((error) => this.output.appendLine(`Stopping the server failed: ${errorText(error)}`));
    }
    this.stateEmitter.fire();
  }

  dispose(): void {
    void this.stop();
    this.disposables.forEach((disposable) => disposable.dispose());
  }

  private onServerClosed(): { action: CloseAction; message?: string; handled?: boolean } {
    const now = Date.now();
    while (this.recentCrashes.length > 0 && now - this.recentCrashes[0] > RESTART_WINDOW_MS) {
      this.recentCrashes.shift();
    }
    if (this.recentCrashes.length >= MAX_RESTARTS) {
      this.problem = `it stopped ${MAX_RESTARTS + 1} times in 3 minutes`;
      return {
        action: CloseAction.DoNotRestart,
        message: `Director: the language server stopped ${MAX_RESTARTS + 1} times in 3 minutes and is not restarted; see the Director output, then run "Director: Restart the Language Server"`,
      };
    }
    this.recentCrashes.push(now);
    void vscode.window.showWarningMessage("Director: the language server stopped unexpectedly; restarting it");
    return { action: CloseAction.Restart, handled: true };
  }
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  if (typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string") {
    return (error as { message: string }).message;
  }
  return String(error);
}
