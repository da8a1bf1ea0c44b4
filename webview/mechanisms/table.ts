/**
 * The metrics table: one row per variant, sortable by any column (click a header; again to
 * reverse). Each numeric cell keeps its exact figure in data-value and shows it rounded;
 * missing figures ("-") sort last either way.
 */
import type { CompareVariantRow } from '../../protocol/mechanisms';
import { formatBytes, formatFlops } from '../../common/format';

interface Column {
  key: string;
  label: string;
  title: string;
  value(r: CompareVariantRow): number | string | null;
  show(r: CompareVariantRow): string;
}

const num = (x: number | null, digits = 4) => (x === null ? '-' : x === 0 ? '0' : Math.abs(x) < 1e-3 ? x.toExponential(digits - 1) : x.toPrecision(digits));

export const COLUMNS: Column[] = [
  { key: 'id', label: 'variant', title: 'registry id', value: (r) => r.id, show: (r) => r.id },
  { key: 'relL2', label: 'rel. L2', title: 'relative L2 error of the layer output against exact', value: (r) => r.relL2, show: (r) => num(r.relL2) },
  { key: 'cosine', label: 'cosine', title: 'cosine similarity of the output to exact', value: (r) => r.cosine, show: (r) => num(r.cosine, 6) },
  { key: 'js', label: 'JS (bits)', title: 'mean Jensen-Shannon divergence of map rows from exact (both probability maps)', value: (r) => r.js, show: (r) => num(r.js) },
  { key: 'massKept', label: 'mass kept', title: "share of exact's attention mass inside a sparse pattern", value: (r) => r.massKept, show: (r) => num(r.massKept) },
  { key: 'latencyMs', label: 'latency', title: 'median of the timed runs', value: (r) => r.latencyMs, show: (r) => `${num(r.latencyMs, 3)} ms` },
  { key: 'peakBytes', label: 'peak memory', title: 'measured RSS growth over a run (0: below what RSS resolves)', value: (r) => r.peakBytes, show: (r) => formatBytes(r.peakBytes) },
  { key: 'flops', label: 'FLOPs (est.)', title: 'analytic FLOPs of the layer, all heads', value: (r) => r.flops, show: (r) => formatFlops(r.flops) },
  { key: 'bytes', label: 'memory (est.)', title: 'analytic bytes of the largest live intermediates', value: (r) => r.bytes, show: (r) => formatBytes(r.bytes) },
  { key: 'paper', label: 'paper', title: 'where the mechanism comes from (hover for the title)', value: (r) => r.paper, show: (r) => r.paper.split(',')[0] },
];

function compare(a: number | string | null, b: number | string | null, dir: number): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  return (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))) * dir;
}

export function drawTable(parent: HTMLElement, rows: CompareVariantRow[]): void {
  let sortKey = '';
  let dir = 1;
  const t = document.createElement('table');
  t.className = 'cmp-table';
  const head = t.createTHead().insertRow();
  const body = t.createTBody();
  const fill = () => {
    const col = COLUMNS.find((c) => c.key === sortKey);
    const sorted = col ? [...rows].sort((a, b) => compare(col.value(a), col.value(b), dir)) : rows;
    body.replaceChildren();
    for (const r of sorted) {
      const tr = body.insertRow();
      tr.dataset.variant = r.id;
      if (r.error) tr.className = 'cmp-failed';
      tr.title = [...(r.error ? [`failed: ${r.error}`] : []), ...r.notes].join('\n');
      for (const c of COLUMNS) {
        const td = tr.insertCell();
        td.dataset.key = c.key;
        const v = c.value(r);
        if (typeof v === 'number') td.dataset.value = String(v);
        if (c.key === 'paper') td.title = r.paper;
        td.textContent = r.error && c.key !== 'id' && c.key !== 'paper' && c.key !== 'flops' && c.key !== 'bytes' ? (c.key === 'relL2' ? 'failed' : '') : c.show(r);
      }
    }
    for (const th of head.cells) th.dataset.sort = th.dataset.key === sortKey ? (dir > 0 ? 'asc' : 'desc') : '';
  };
  for (const c of COLUMNS) {
    const th = document.createElement('th');
    th.textContent = c.label;
    th.title = `${c.title} (click to sort)`;
    th.dataset.key = c.key;
    th.addEventListener('click', () => {
      dir = sortKey === c.key ? -dir : 1;
      sortKey = c.key;
      fill();
    });
    head.appendChild(th);
  }
  fill();
  parent.replaceChildren(t);
}
