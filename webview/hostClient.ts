/**
 * The page half of every webview channel (common/messageKernel.ts), used by the Attention,
 * Compare, Efficiency and serving pages: it posts `ready` first (the host posts nothing before
 * it), matches replies to requests by `requestId`, and hands every other message (events, and
 * replies no one waits for) to the page's handler.
 */
import { PendingRequests, type Message } from '../common/messageKernel';

/** acquireVsCodeApi()'s object, typed by the channel. */
export interface VsCodeApi<ToHost, State> {
  postMessage(msg: ToHost): void;
  getState(): State | undefined;
  setState(state: State): void;
}
declare function acquireVsCodeApi(): VsCodeApi<unknown, unknown>;

/** Whether a VS Code host is there (a standalone report or a test page may have none). */
export function hasHost(): boolean {
  return typeof acquireVsCodeApi === 'function';
}

/** Without a host (a standalone report): state lives in memory and messages go nowhere. */
export function memoryApi<ToHost, State>(): VsCodeApi<ToHost, State> {
  let state: State | undefined;
  return { postMessage: () => undefined, getState: () => state, setState: (s) => (state = s) };
}

type Reply = Message & { requestId?: number };

export class HostClient<ToHost extends Message, FromHost extends Reply, State = unknown> {
  private readonly pending = new PendingRequests<FromHost>();

  /**
   * `api`: by default the webview's own (acquireVsCodeApi may be called once per page). The
   * window's messages are listened to unless `listen` is false (a report replays its own).
   */
  constructor(
    private readonly onMessage: (msg: FromHost) => void,
    private readonly api: VsCodeApi<ToHost, State> = acquireVsCodeApi() as VsCodeApi<ToHost, State>,
    listen = true,
  ) {
    if (listen) window.addEventListener('message', (e: MessageEvent<unknown>) => this.dispatch(e.data));
    this.api.postMessage({ type: 'ready' } as ToHost);
  }

  /** One message from the host: the reply to a request settles it, anything else is handled. */
  dispatch(msg: unknown): void {
    if (typeof msg !== 'object' || msg === null) return;
    if (this.pending.settle(msg as FromHost)) return;
    this.onMessage(msg as FromHost);
  }

  post(msg: ToHost): void {
    this.api.postMessage(msg);
  }

  /** Posts the request made with a fresh id; resolves with its reply, rejects on its `error`. */
  request<R extends FromHost>(make: (requestId: number) => ToHost): Promise<R> {
    return this.pending.request<R>((requestId) => this.api.postMessage(make(requestId)));
  }

  getState(): State | undefined {
    return this.api.getState();
  }

  setState(state: State): void {
    this.api.setState(state);
  }
}
