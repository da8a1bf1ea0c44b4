/**
 * The host half of every webview channel (common/messageKernel.ts): one place that waits for the
 * page's `ready`, answers it with the initial state and then everything posted before, in order;
 * validates what the page posts (a malformed message is rejected with a one-line reason in the
 * log, never crashes the host); answers requests under their `requestId`; and turns a failing
 * handler into one log line and an `error` message. A panel is its channel spec: validators and
 * handlers. No vscode import (the webview and the log come in as ports), so the real hosts are
 * unit-tested with a fake webview (test/unit/panelChannels.test.ts).
 */
import { checkMessage, ReadyQueue, type ErrorMessage, type Message, type MessageValidators } from '../common/messageKernel';

/** What the host needs of a vscode.Webview. */
export interface WebviewPort {
  postMessage(message: unknown): PromiseLike<boolean>;
  onDidReceiveMessage(listener: (message: unknown) => unknown): { dispose(): unknown };
}

/** The extension's log (extension/panelLog.ts): a warning line, and a failure reduced to one line. */
export interface PanelLog {
  warn(line: string): void;
  /** Logs `context: first line of e` and returns that first line. */
  failed(context: string, e: unknown): string;
}

type NotReady<M extends Message> = Exclude<M, { type: 'ready' }>;

/**
 * One handler per message type the page may post besides `ready`. A message with a `requestId`
 * is a request: what its handler resolves to is posted as the reply, under the same id.
 */
export type PanelHandlers<ToWebview extends Message, FromWebview extends Message> = {
  [K in NotReady<FromWebview>['type']]: (msg: Extract<FromWebview, { type: K }>) => void | ToWebview | Promise<void | ToWebview>;
};

export interface ChannelSpec<ToWebview extends Message, FromWebview extends Message> {
  /** Names the panel in log lines: "Efficiency panel". */
  name: string;
  validators: MessageValidators<FromWebview>;
  handlers: PanelHandlers<ToWebview, FromWebview>;
  /** The reply to `ready`: the initial state, posted before anything else. */
  initialState?(): ToWebview[] | Promise<ToWebview[]>;
  /**
   * What follows the initial state. `queued`: posted before this `ready`; `reloaded`: the page
   * had said `ready` before, so it lost what it was shown. By default the queue, in order.
   */
  backlog?(queued: ToWebview[], reloaded: boolean): ToWebview[];
}

export class PanelHost<ToWebview extends Message, FromWebview extends Message> {
  private readonly gate: ReadyQueue<ToWebview>;
  private readonly subscription: { dispose(): unknown };

  constructor(
    private readonly webview: WebviewPort,
    private readonly spec: ChannelSpec<ToWebview, FromWebview>,
    private readonly log: PanelLog,
  ) {
    this.gate = new ReadyQueue((m) => this.send(m));
    this.subscription = webview.onDidReceiveMessage((raw) => this.receive(raw));
  }

  /** Posted now when the page is ready, else queued until its `ready`. */
  post(msg: ToWebview): void {
    this.gate.post(msg);
  }

  /** Handles one posted message; resolves when its handler is done (tests wait on it). */
  async receive(raw: unknown): Promise<void> {
    const checked = checkMessage(this.spec.validators, raw);
    if (!checked.ok) {
      this.log.warn(`${this.spec.name}: rejected a message from the webview: ${checked.reason}`);
      return;
    }
    const msg = checked.message;
    if (msg.type === 'ready') return this.handshake();
    const requestId = (msg as { requestId?: unknown }).requestId;
    const id = typeof requestId === 'number' ? requestId : undefined;
    try {
      const handler = (this.spec.handlers as unknown as Record<string, (m: FromWebview) => void | ToWebview | Promise<void | ToWebview>>)[msg.type];
      const reply = await handler(msg);
      if (reply && id !== undefined) this.post({ ...reply, requestId: id });
      else if (reply) this.post(reply);
    } catch (e) {
      this.fail(`${this.spec.name}: ${msg.type}`, e, id);
    }
  }

  private async handshake(): Promise<void> {
    const reloaded = this.gate.ready;
    // Posts made while the initial state is computed wait behind it.
    this.gate.close();
    let initial: ToWebview[];
    try {
      initial = (await this.spec.initialState?.()) ?? [];
    } catch (e) {
      initial = [this.errorMessage(this.log.failed(`${this.spec.name}: initial state`, e))];
    }
    const queued = this.gate.open();
    const backlog = this.spec.backlog ? this.spec.backlog(queued, reloaded) : queued;
    for (const m of [...initial, ...backlog]) this.send(m);
  }

  private fail(context: string, e: unknown, requestId: number | undefined): void {
    this.post(this.errorMessage(this.log.failed(context, e), requestId));
  }

  /** Every channel's host -> webview union has `{ type: 'error', message, requestId? }`. */
  private errorMessage(message: string, requestId?: number): ToWebview {
    const m: ErrorMessage = requestId === undefined ? { type: 'error', message } : { type: 'error', requestId, message };
    return m as unknown as ToWebview;
  }

  private send(m: ToWebview): void {
    void this.webview.postMessage(m);
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
