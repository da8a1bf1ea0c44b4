/**
 * Answers the panel's head-internals requests through the runtime: the capture's model and ids
 * (from the relay) go out as attention/internals, attention/internalsCorpus or attention/ablate,
 * and the reply goes back to the webview under the request's id (the panel host posts it; a
 * failure becomes the request's error reply there). A corpus is a text file the user picks
 * here, one text per line, read only (bounded in size before it is read).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { AblationRequest, CorpusInternalsRequest, InternalsRequest, type InternalsToHost } from '../protocol/internals';
import type { HostToWebview } from '../protocol/webview';
import type { CaptureRelay } from './captureRelay';
import type { RuntimeContext } from './runtimeContext';

const MAX_CORPUS_BYTES = 8 * 1024 * 1024;

/** The reply to one head-internals request; throws when the runtime fails. */
export async function answerInternals(msg: InternalsToHost, relay: CaptureRelay, runtime: RuntimeContext): Promise<HostToWebview> {
  const { requestId } = msg;
  const input = relay.input(msg.captureId);
  if (!input) return { type: 'error', requestId, message: `capture ${msg.captureId} was not shown in this panel; inspect the text again` };
  if (msg.type === 'requestInternals') {
    const layers = await runtime.request(InternalsRequest.type, { modelId: input.modelId, ids: input.ids, layers: msg.layers, qk: msg.qk });
    return { type: 'internals', requestId, layers };
  }
  if (msg.type === 'requestAblation') {
    const result = await runtime.request(AblationRequest.type, { modelId: input.modelId, ids: input.ids }, { progress: 'Attention: removing each head in turn…', cancellable: true });
    return { type: 'ablation', requestId, result };
  }
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Embed corpus', filters: { Text: ['txt', 'text', 'tsv', 'csv'], All: ['*'] } });
  const file = picked?.[0]?.fsPath;
  if (!file) return { type: 'error', requestId, message: 'no corpus file picked' };
  const size = statSync(file).size;
  if (size > MAX_CORPUS_BYTES) throw new Error(`${file}: ${size} bytes is more than the ${MAX_CORPUS_BYTES / 1024 / 1024} MB a corpus may have; use a smaller file`);
  const texts = readFileSync(file, 'utf8').split(/\r?\n/).filter((t) => t.trim() !== '');
  const res = await runtime.request(CorpusInternalsRequest.type, { modelId: input.modelId, texts, layer: msg.layer, heads: msg.heads });
  return { type: 'corpus', requestId, name: basename(file), texts: res.texts };
}
