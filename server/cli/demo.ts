/**
 * `attention-inspector demo`: a capture written as a self-contained HTML report, built from the
 * same HostToWebview messages the panel receives, so the report shows what the panel shows.
 */
import { resolve } from 'node:path';
import { encodeFloat32 } from '../../protocol/encoding';
import type { HostToWebview } from '../../protocol/webview';
import { renderHtmlReport } from '../report/htmlReport';
import { parseFlags, printedHelp } from './args';
import { EXECUTION_PROVIDERS, captureToFolder, openCaptureFolder, requestFromFlags, summaryLine } from './captureRun';

const HELP = `usage: attention-inspector demo --model <folder|file.onnx> (--text-file <file> | --text "<text>" | --ids 3,17,5 | --ids-file <file>) --out <dir> [--ep <provider>] [--max-tokens N]

Captures the text and writes <dir>/report.html (open it in a browser; no network needed)
next to the capture files (tokens.json, layer_<i>.npy, summary.json).
  --ep  ${EXECUTION_PROVIDERS.join(' | ')} (default auto)`;

const SPEC = { model: 'string', text: 'string', 'text-file': 'string', ids: 'string', 'ids-file': 'string', out: 'string', ep: 'string', 'max-tokens': 'string', help: 'boolean' } as const;

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, SPEC, 'demo');
  if (printedHelp(flags, HELP)) return 0;
  const req = requestFromFlags(flags, 'demo');
  const captureId = 'demo';
  const layers: HostToWebview[] = [];
  req.onLayer = (m) => {
    layers.push({ type: 'layer', captureId, layer: m.index, heads: m.heads, queries: m.queries, keys: m.keys, pool: 1, data: encodeFloat32(m.data) });
  };
  req.folder = openCaptureFolder(req.out, 'demo');
  const outcome = await captureToFolder(req);
  await outcome.model.dispose();
  const r = outcome.result;
  const messages: HostToWebview[] = [
    {
      type: 'captureStarted',
      captureId,
      modelName: outcome.model.info.name,
      tokens: r.tokens.map((text, i) => ({ text, id: r.ids[i] })),
      layers: r.layers.map((l) => ({ index: l.index, kind: l.kind, heads: l.heads })),
    },
    ...layers,
    { type: 'captureDone', captureId, executionProvider: r.executionProvider, totalMs: r.timings.totalMs, cancelled: r.cancelled },
  ];
  const file = resolve(req.folder.path('report.html'));
  req.folder.writeFile('report.html', renderHtmlReport(messages, `Attention Inspector: ${outcome.model.info.name}`));
  req.folder.finish(outcome.summary);
  process.stdout.write(`${file}\n${summaryLine(outcome)}\n`);
  return 0;
}
