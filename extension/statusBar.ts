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

  constructor() {
    this.item.name = 'Attention Inspector';
    this.item.command = 'attentionInspector.showLogs';
    this.set('starting');
    this.item.show();
  }

  set(state: RuntimeState, message?: string, executionProvider?: string): void {
    if (executionProvider) this.provider = executionProvider;
    const ep = this.provider ? ` · ${this.provider}` : '';
    this.item.text = `${ICONS[state]} Attention${ep}`;
    this.item.tooltip = `Attention Inspector runtime: ${state}${this.provider ? ` (execution provider: ${this.provider})` : ''}${message ? `\n${message}` : ''}\nClick for the log.`;
    this.item.backgroundColor = state === 'error' || state === 'stopped' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
