// The proposals shown in each open document: the markers from the server's
// diagnostics, joined with each hunk's base and new text from `director/run`.
// Everything that draws proposals (decorations, code lenses, context keys)
// listens to this store, which refreshes when Director's diagnostics change.

import * as vscode from "vscode";
import { ProposalDetail, RunDetail, RunRequest } from "./protocol";
import { ProposalMarker, proposalMarkers } from "./proposalDiagnostics";
import { errorText, ServerConnection } from "./serverConnection";

export interface ShownProposal {
  marker: ProposalMarker;
  /** Missing while `director/run` has not answered (or failed). */
  detail: ProposalDetail | undefined;
}

export class ProposalStore implements vscode.Disposable {
  private readonly byDocument = new Map<string, ShownProposal[]>();
  private readonly changeEmitter = new vscode.EventEmitter<vscode.Uri>();
  private readonly disposables: vscode.Disposable[] = [];
  /** Bumped per document on every refresh, so a slow answer cannot overwrite a newer one. */
  private readonly generations = new Map<string, number>();

  /** Fires with a document's URI after its proposals changed. */
  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly connection: ServerConnection) {
    this.disposables.push(
      this.changeEmitter,
      vscode.languages.onDidChangeDiagnostics((event) => {
        for (const uri of event.uris) {
          void this.refresh(uri);
        }
      }),
    );
  }

  proposals(uri: vscode.Uri): ShownProposal[] {
    return this.byDocument.get(uri.toString()) ?? [];
  }

  markers(uri: vscode.Uri): ProposalMarker[] {
    return this.proposals(uri).map((proposal) => proposal.marker);
  }

  async refresh(uri: vscode.Uri): Promise<void> {
    const key = uri.toString();
    const generation = (this.generations.get(key) ?? 0) + 1;
    this.generations.set(key, generation);
    const markers = proposalMarkers(
      vscode.languages.getDiagnostics(uri).map((diagnostic) => ({
        source: diagnostic.source,
        code: diagnostic.code,
        range: diagnostic.range,
        data: (diagnostic as { data?: unknown }).data,
      })),
    );
    const details = await this.fetchDetails([...new Set(markers.map((marker) => marker.run))]);
    if (this.generations.get(key) !== generation) {
      return;
    }
    const proposals = markers.map((marker) => ({
      marker,
      detail: details.get(marker.run)?.proposals.find((proposal) => proposal.hunk === marker.hunk),
    }));
    if (proposals.length === 0) {
      this.byDocument.delete(key);
    } else {
      this.byDocument.set(key, proposals);
    }
    this.changeEmitter.fire(uri);
  }

  dispose(): void {
    this.disposables.forEach((disposable) => disposable.dispose());
  }

  private async fetchDetails(runs: number[]): Promise<Map<number, RunDetail>> {
    const details = new Map<number, RunDetail>();
    const client = this.connection.runningClient;
    if (!client) {
      return details;
    }
    await Promise.all(
      runs.map(async (run) => {
        try {
          details.set(run, await client.sendRequest<RunDetail>(RunRequest, { run }));
        } catch (error) {
          client.outputChannel.appendLine(`director/run ${run} failed: ${errorText(error)}`);
        }
      }),
    );
    return details;
  }
}
