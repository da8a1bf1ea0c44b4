/** The runtime's state and the execution provider that last ran, in one status bar item. */
import * as vscode from 'vscode';
import type { RuntimeStatusNotification } from '../protocol/runtime';

export type RuntimeState = RuntimeStatusNotification.Params['state'] | 'starting' | 'stopped';

const ICONS: Record<RuntimeState, string> = {
  starting: '$(loading~spin)',
  loading: '$(loading~spin)',
  running: '$(sync~spin)',
  idle: '$(eye)',
  error: '$(error)',
  stopped: '$(debug-disconnect)',
};

export class RuntimeStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('attentionInspector.status', vscode.StatusBarAlignment.Left, 10);
  private provider: string | undefined;
  private recover: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.item.name = 'Attention Inspector';
    this.item.command = 'attentionInspector.showLogs';
  }

  /** Shows the item: hidden until the runtime first starts (a web project's JSON file starts nothing). */
  set(state: RuntimeState, message?: string, executionProvider?: string): void {
    clearTimeout(this.recover);
    this.item.show();
    if (executionProvider) this.provider = executionProvider;
    const ep = this.provider ? ` · ${this.provider}` : '';
    this.item.text = `${ICONS[state]} Attention${ep}`;
    this.item.tooltip = `Attention Inspector runtime: ${state}${this.provider ? ` (execution provider: ${this.provider})` : ''}${message ? `\n${message}` : ''}\nClick for the log.`;
    this.item.backgroundColor = state === 'error' || state === 'stopped' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  /**
   * A request failed but the runtime answered, so it is up: a warning (not the red of a runtime
   * that is down) for a few seconds, then idle again; the failure stays in the tooltip.
   */
  failed(message: string | undefined, recoverMs = 6000): void {
    this.set('idle');
    this.item.text = `$(warning) Attention${this.provider ? ` · ${this.provider}` : ''}`;
    this.item.tooltip = `Attention Inspector runtime: ready; the last request failed${message ? `:\n${message}` : ''}\nClick for the log.`;
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    this.recover = setTimeout(() => {
      this.set('idle');
      this.item.tooltip = `Attention Inspector runtime: idle${this.provider ? ` (execution provider: ${this.provider})` : ''}\nLast failure: ${message ?? 'see the log'}\nClick for the log.`;
    }, recoverMs);
  }

  dispose(): void {
    clearTimeout(this.recover);
    this.item.dispose();
  }
}
