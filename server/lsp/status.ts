/** The runtime's state for the status bar: one place that sends attention/status. */
import type { Connection } from 'vscode-languageserver/node';
import { RuntimeStatusNotification } from '../../protocol/runtime';

export class RuntimeStatus {
  /** Kept so idle after a capture still names the provider that ran. */
  private executionProvider: string | undefined;

  constructor(private readonly connection: Connection) {}

  /** The execution provider of the last capture, once one ran. */
  get provider(): string | undefined {
    return this.executionProvider;
  }

  send(state: RuntimeStatusNotification.Params['state'], message?: string, executionProvider?: string): void {
    if (executionProvider) this.executionProvider = executionProvider;
    void this.connection.sendNotification(RuntimeStatusNotification.type, {
      state,
      executionProvider: this.executionProvider,
      message,
    });
  }
}
