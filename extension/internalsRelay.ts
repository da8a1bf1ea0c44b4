/**
 * Answers the panel's head-internals requests through the runtime: the capture's model and ids
 * (from the relay) go out as attention/internals, attention/internalsCorpus or attention/ablate,
 * and the reply comes back to the webview under the request's id. A corpus is a text file the
 * user picks here, one text per line, read only (bounded in size before it is read).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { AblationRequest, CorpusInternalsRequest, InternalsRequest, type InternalsToHost } from '../protocol/internals';
import type { HostToWebview } from '../protocol/webview';
import type { CaptureRelay } from './captureRelay';
import { firstLine } from './log';
import type { RuntimeContext } from './runtimeContext';

const MAX_CORPUS_BYTES = 8 * 1024 * 1024;

export async function answerInternals(msg: InternalsToHost, relay: CaptureRelay, runtime: RuntimeContext, post: (m: HostToWebview) => void): Promise<void> {
  const input = relay.input(msg.captureId);
  if (!input) {
    post({ type: 'error', requestId: msg.requestId, message: `capture ${msg.captureId} was not shown in this panel; inspect the text again` });
    return;
  }
  try {
    if (msg.type === 'requestInternals') {
      const layers = await runtime.request(InternalsRequest.type, { modelId: input.modelId, ids: input.ids, layers: msg.layers, qk: msg.qk });
      post({ type: 'internals', requestId: msg.requestId, layers });
    } else if (msg.type === 'requestAblation') {
      const result = await runtime.request(AblationRequest.type, { modelId: input.modelId, ids: input.ids }, { progress: 'Attention: removing each head in turn…', cancellable: true });
      post({ type: 'ablation', requestId: msg.requestId, result });
    } else {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Embed corpus', filters: { Text: ['txt', 'text', 'tsv', 'csv'], All: ['*'] } });
      const file = picked?.[0]?.fsPath;
      if (!file) {
        post({ type: 'error', requestId: msg.requestId, message: 'no corpus file picked' });
        return;
      }
      const size = statSync(file).size;
      if (size > MAX_CORPUS_BYTES) throw new Error(`${file}: ${size} bytes is more than the ${MAX_CORPUS_BYTES / 1024 / 1024} MB a corpus may have; use a smaller file`);
      const texts = readFileSync(file, 'utf8').split(/\r?\n/).filter((t) => t.trim() !== '');
      const res = await runtime.request(CorpusInternalsRequest.type, { modelId: input.modelId, texts, layer: msg.layer, heads: msg.heads });
      post({ type: 'corpus', requestId: msg.requestId, name: basename(file), texts: res.texts });
    }
  } catch (e) {
    post({ type: 'error', requestId: msg.requestId, message: firstLine(e) });
  }
}
