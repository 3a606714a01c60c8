// The server's list of runs (`director/runs`), kept fresh for the runs view and
// the status bar: refreshed on every run's `$/progress`, on Director's
// diagnostics changes, after each command, and every second while a run is in
// flight (a queued run sends no progress yet).

import * as vscode from "vscode";
import { isInFlight, RunsRequest, RunsResult, RunSummary } from "./protocol";
import { errorText, ServerConnection } from "./serverConnection";

const POLL_MS = 1000;
/** Progress reports come every 150 ms per run; one refresh per window is enough. */
const THROTTLE_MS = 300;

export class RunList implements vscode.Disposable {
  private current: RunSummary[] = [];
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [];
  private pendingRefresh: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;

  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly connection: ServerConnection) {
    this.disposables.push(
      this.changeEmitter,
      connection.onRunProgress(() => this.scheduleRefresh()),
      connection.onDidChangeState(() => this.scheduleRefresh()),
      vscode.languages.onDidChangeDiagnostics(() => this.scheduleRefresh()),
    );
  }

  get runs(): readonly RunSummary[] {
    return this.current;
  }

  find(run: number): RunSummary | undefined {
    return this.current.find((candidate) => candidate.id === run);
  }

  scheduleRefresh(): void {
    if (this.pendingRefresh === undefined) {
      this.pendingRefresh = setTimeout(() => {
        this.pendingRefresh = undefined;
        void this.refresh();
      }, THROTTLE_MS);
    }
  }

  async refresh(): Promise<void> {
    const client = this.connection.runningClient;
    if (!client) {
      this.current = [];
    } else {
      try {
        const result = await client.sendRequest<RunsResult>(RunsRequest, {});
        this.current = result?.runs ?? [];
      } catch (error) {
        client.outputChannel.appendLine(`director/runs failed: ${errorText(error)}`);
      }
    }
    this.changeEmitter.fire();
    if (this.pollTimer !== undefined) {
      clearTimeout(this.pollTimer);
      this.pollTimer = undefined;
    }
    if (this.current.some((run) => isInFlight(run.state))) {
      this.pollTimer = setTimeout(() => void this.refresh(), POLL_MS);
    }
  }

  dispose(): void {
    clearTimeout(this.pendingRefresh);
    clearTimeout(this.pollTimer);
    this.disposables.forEach((disposable) => disposable.dispose());
  }
}
