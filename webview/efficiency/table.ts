/** The Efficiency panel's tables: every variant at one length, and measured beside estimated. */
import type { EfficiencyRow, MeasuredRow } from '../../protocol/efficiencyWebview';
import { formatBytes, formatFlops, formatRate, formatSeconds } from '../../common/format';

function table(parent: HTMLElement, head: string[], rows: string[][], titles?: string[]): void {
  parent.replaceChildren();
  const t = document.createElement('table');
  const tr = t.createTHead().insertRow();
  for (const h of head) {
    const th = document.createElement('th');
    th.textContent = h;
    tr.appendChild(th);
  }
  const body = t.createTBody();
  rows.forEach((r, i) => {
    const row = body.insertRow();
    if (titles?.[i]) row.title = titles[i];
    for (const cell of r) row.insertCell().textContent = cell;
  });
  parent.appendChild(t);
}

export function drawVariantTable(parent: HTMLElement, rows: EfficiencyRow[]): void {
  table(
    parent,
    ['variant', 'FLOPs', 'bytes moved', 'FLOP/byte', 'attention matrix / layer', 'KV cache', 'roofline time', 'bound'],
    rows.map((r) => [
      r.id, formatFlops(r.flops), formatBytes(r.bytes), r.arithmeticIntensity.toFixed(1), formatBytes(r.attentionMatrixBytesPerLayer),
      formatBytes(r.kvCacheBytes), formatSeconds(r.rooflineSeconds), r.bound,
    ]),
    rows.map((r) => `${r.name}: ${r.paper}`),
  );
}

export function drawMeasuredTable(parent: HTMLElement, rows: MeasuredRow[]): void {
  table(
    parent,
    ['variant', 'n', 'heads x dim', 'measured', 'estimated (roofline)', 'measured / estimated', 'achieved'],
    rows.map((r) => [
      r.variant, String(r.seq), `${r.heads} x ${r.headDim}`, formatSeconds(r.measuredMs / 1e3), formatSeconds(r.estimatedMs / 1e3),
      `${r.ratio.toFixed(1)}x`, formatRate(r.achievedFlopsPerSecond, 'FLOP'),
    ]),
  );
}
