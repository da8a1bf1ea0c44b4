/**
 * The worker thread that encodes texts (dist/tokenizeWorker.js). A tokenizer.json can hold a
 * normalizer or pre-tokenizer regex that backtracks for minutes on some texts; run here, it
 * blocks only this thread, which the runtime terminates at the time limit or on cancel.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildTokenizer, parseTokenizerJson, TokenizerFileError } from './build';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './workerMessages';

const setup = workerData as WorkerSetup;
const port = parentPort!;
let built: ReturnType<typeof buildTokenizer> | undefined;
let setupError: string | undefined;
try {
  built = buildTokenizer(parseTokenizerJson(setup.json, 'tokenizer.json'), setup.config ? parseTokenizerJson(setup.config, 'tokenizer_config.json') : {});
} catch (e) {
  setupError = String((e as Error)?.message ?? e).split('\n')[0];
}

port.on('message', (req: WorkerRequest) => {
  let reply: WorkerReply;
  if (!built) {
    reply = { id: req.id, error: setupError ?? 'the tokenizer did not load', kind: 'file' };
  } else {
    try {
      reply = { id: req.id, ...built.encode(req.text) };
    } catch (e) {
      const message = String((e as Error)?.message ?? e).split('\n')[0];
      reply = { id: req.id, error: message, kind: e instanceof TokenizerFileError ? 'file' : 'fails' };
    }
  }
  port.postMessage(reply);
});
