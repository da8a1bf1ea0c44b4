/**
 * The runtime's side of the tokenizer worker: one worker per tokenizer, started on first use,
 * given one text at a time, terminated at the time limit, on cancel, and after a while idle.
 * Terminating is the only way to stop a regex that backtracks: it cannot be interrupted from
 * inside its own thread.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CancelledError } from '../../common/cancellation';
import { UserError } from '../../common/errors';
import type { Encoded } from './build';
import type { WorkerReply, WorkerSetup } from './workerMessages';

/** Default time limit for tokenizing one text; ATTENTION_INSPECTOR_TOKENIZE_TIMEOUT_MS overrides it. */
export const DEFAULT_TOKENIZE_TIMEOUT_MS = 30_000;
const IDLE_MS = 20_000;
const POLL_MS = 20;
/** A worker that needs more than this for one text is stopped (an allocation spiral, not a real text). */
const WORKER_HEAP_MB = 2048;

export function tokenizeTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.ATTENTION_INSPECTOR_TOKENIZE_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_TOKENIZE_TIMEOUT_MS;
}

/**
 * The worker script: dist/tokenizeWorker.js beside the bundle; from sources (tests under tsx)
 * the .ts file, loaded through tsx's require hook.
 */
function startWorker(setup: WorkerSetup): Worker {
  const options = { workerData: setup, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } };
  const built = join(__dirname, 'tokenizeWorker.js');
  if (existsSync(built)) return new Worker(built, options);
  const source = join(__dirname, 'tokenizeWorker.ts');
  if (!existsSync(source)) throw new Error(`tokenizer worker script missing (looked for ${built})`);
  const code = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(source)});`;
  return new Worker(code, { ...options, eval: true });
}

export interface EncodeOptions {
  isCancelled?: () => boolean;
}

export class TokenizeWorker {
  private worker: Worker | undefined;
  private idle: NodeJS.Timeout | undefined;
  private next = 1;
  /** One text at a time: a second waits for the first (a tokenizer is one thread of work). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly setup: WorkerSetup,
    private readonly timeoutMs = tokenizeTimeoutMs(),
  ) {}

  encode(text: string, options: EncodeOptions = {}): Promise<Encoded> {
    const run = this.queue.then(() => this.encodeNow(text, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the worker now (a later encode starts a new one). */
  dispose(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private encodeNow(text: string, options: EncodeOptions): Promise<Encoded> {
    if (options.isCancelled?.()) return Promise.reject(new CancelledError());
    if (this.idle) clearTimeout(this.idle);
    const worker = (this.worker ??= startWorker(this.setup));
    worker.ref();
    const id = this.next++;
    return new Promise<Encoded>((resolve, reject) => {
      const finish = (stop: boolean) => {
        clearTimeout(limit);
        clearInterval(poll);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (stop) {
          this.dispose();
          return;
        }
        worker.unref();
        this.idle = setTimeout(() => this.dispose(), IDLE_MS);
        this.idle.unref();
      };
      const onMessage = (reply: WorkerReply) => {
        if (reply.id !== id) return;
        finish(false);
        if ('error' in reply) {
          reject(new UserError(reply.kind === 'file'
            ? `${this.file}: ${reply.error}`
            : `${this.file}: the tokenizer fails on this text (${reply.error}); re-save it with tokenizer.save_pretrained or pass --ids instead`));
        } else {
          resolve({ ids: reply.ids, tokens: reply.tokens });
        }
      };
      const onError = (e: Error) => {
        finish(true);
        const memory = (e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
        reject(new UserError(memory
          ? `${this.file}: tokenizing this text needs more than ${WORKER_HEAP_MB} MB; shorten the text or pass --ids`
          : `${this.file}: the tokenizer failed on this text (${String(e.message).split('\n')[0]}); re-save it with tokenizer.save_pretrained or pass --ids instead`));
      };
      const onExit = () => {
        finish(true);
        reject(new UserError(`${this.file}: the tokenizer stopped while encoding this text; re-save it with tokenizer.save_pretrained or pass --ids instead`));
      };
      const limit = setTimeout(() => {
        finish(true);
        reject(new UserError(
          `${this.file}: tokenizing took longer than ${Number((this.timeoutMs / 1000).toFixed(1))} s and was stopped (a normalizer or pre-tokenizer regex that backtracks on this text?); shorten the text, fix the tokenizer, or pass --ids`,
        ));
      }, this.timeoutMs);
      const poll = setInterval(() => {
        if (!options.isCancelled?.()) return;
        finish(true);
        reject(new CancelledError());
      }, POLL_MS);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ id, text });
    });
  }
}
