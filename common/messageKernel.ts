/**
 * The message kernel of every webview channel, shared by the panel hosts (extension/panelHost.ts)
 * and the pages (webview/hostClient.ts), in the spirit of vscode-hexeditor's MessageHandler:
 *
 * - a message is a discriminated union member on `type`;
 * - a request carries a `requestId` that its reply (or an `error` reply) echoes;
 * - other messages are events;
 * - the page posts `ready` first and the host answers with the initial state, then everything it
 *   posted before (queued, in order);
 * - each channel declares one validator per message type beside the type (protocol/*Webview.ts),
 *   and a message that fails its validator, or has no validator, is rejected with a one-line
 *   reason.
 *
 * Pure TypeScript: no vscode, DOM or Node API.
 */

export interface Message {
  type: string;
}

/** The reply to a request that failed, or an error event when it has no `requestId`. */
export interface ErrorMessage {
  type: 'error';
  message: string;
  requestId?: number;
}

/**
 * One validator per message type: it gets the posted object (its `type` already matched) and
 * returns a fresh, narrowed message, so nothing the page added travels on, or undefined when any
 * field is off.
 */
export type MessageValidators<M extends Message> = {
  [K in M['type']]: (m: Record<string, unknown>) => Extract<M, { type: K }> | undefined;
};

export type Checked<M> = { ok: true; message: M } | { ok: false; reason: string };

/** Largest request id (ids are small positive integers, counted per page). */
export const MAX_REQUEST_ID = 2 ** 31 - 1;

export function isInt(v: unknown, lo: number, hi: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
}

export function isRequestId(v: unknown): v is number {
  return isInt(v, 0, MAX_REQUEST_ID);
}

/** Whole numbers in [lo, hi], 1 to `max` of them, checked index by index (a sparse array fails). */
export function intList(v: unknown, lo: number, hi: number, max: number): number[] | undefined {
  if (!Array.isArray(v) || v.length < 1 || v.length > max) return undefined;
  const out: number[] = [];
  // every() would skip the holes of [128, , 256].
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (!isInt(x, lo, hi)) return undefined;
    out.push(x);
  }
  return out;
}

function describeType(raw: unknown): string {
  const t = (raw as { type?: unknown }).type;
  // JSON quoting keeps a newline in the type from breaking the log line.
  return typeof t === 'string' ? JSON.stringify(t.slice(0, 40)) : `of type ${typeof t}`;
}

/** The message checked against its channel's validators, or a one-line reason. */
export function checkMessage<M extends Message>(validators: MessageValidators<M>, raw: unknown): Checked<M> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: `not a message object (${Array.isArray(raw) ? 'array' : raw === null ? 'null' : typeof raw})` };
  const m = raw as Record<string, unknown>;
  // Own keys only: "__proto__" or "constructor" must not reach Object.prototype's members.
  const check = typeof m.type === 'string' && Object.prototype.hasOwnProperty.call(validators, m.type)
    ? (validators as Record<string, (m: Record<string, unknown>) => M | undefined>)[m.type]
    : undefined;
  if (!check) return { ok: false, reason: `unknown message type ${describeType(m)}` };
  const message = check(m);
  return message ? { ok: true, message } : { ok: false, reason: `malformed ${describeType(m)} message` };
}

/** The channel's parser: the narrowed message, or undefined when anything is off. */
export function messageParser<M extends Message>(validators: MessageValidators<M>): (raw: unknown) => M | undefined {
  return (raw) => {
    const c = checkMessage(validators, raw);
    return c.ok ? c.message : undefined;
  };
}

/**
 * The asking side of request/response: numbers requests and matches replies to them by
 * `requestId`. A reply of type `error` rejects its request; a reply no one waits for (an answer
 * to a page that reloaded, a duplicate) is not claimed and goes to the ordinary handler.
 */
export class PendingRequests<Reply extends Message & { requestId?: number }> {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  /** Sends the request built with a fresh id; resolves with its reply. */
  request<R extends Reply>(send: (requestId: number) => void): Promise<R> {
    const requestId = this.next++;
    if (this.next > MAX_REQUEST_ID) this.next = 1;
    return new Promise<R>((resolve, reject) => {
      this.waiting.set(requestId, { resolve: resolve as (r: Reply) => void, reject });
      try {
        send(requestId);
      } catch (e) {
        this.waiting.delete(requestId);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Settles the request this message answers; false when it answers none. */
  settle(msg: Reply): boolean {
    const id = msg.requestId;
    if (typeof id !== 'number') return false;
    const w = this.waiting.get(id);
    if (!w) return false;
    this.waiting.delete(id);
    if (msg.type === 'error') w.reject(new Error((msg as unknown as ErrorMessage).message));
    else w.resolve(msg);
    return true;
  }

  get size(): number {
    return this.waiting.size;
  }
}

/**
 * The host's side of the ready handshake: messages posted before the page said `ready` are
 * queued, and handed back in order once it does.
 */
export class ReadyQueue<M> {
  private isReady = false;
  private readonly queue: M[] = [];

  constructor(private readonly send: (m: M) => void) {}

  get ready(): boolean {
    return this.isReady;
  }

  post(m: M): void {
    if (this.isReady) this.send(m);
    else this.queue.push(m);
  }

  /** The page came up: returns what was queued (and empties the queue); posts go straight on. */
  open(): M[] {
    this.isReady = true;
    return this.queue.splice(0);
  }

  /** The page is loading again (new HTML): posts wait for its `ready`. */
  close(): void {
    this.isReady = false;
  }
}
