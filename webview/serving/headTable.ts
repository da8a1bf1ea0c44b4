/**
 * Head types as a table: one row per head with its four scores and the types it carries
 * (common/headScores.ts: thresholds, ε = 0.3 for sinks). A null score (no row
 * qualifies) shows as a dash.
 */
import type { ServingLayer } from '../../protocol/servingWebview';
import { headTypes } from '../../common/headScores';

export function drawHeadTable(parent: HTMLElement, layers: ServingLayer[], onOpen: (layer: number, head: number) => void): void {
  const table = document.createElement('table');
  table.className = 'head-types';
  const head = table.createTHead().insertRow();
  for (const t of ['Head', 'Previous-token', 'Duplicate-token', 'Induction', 'Sink', 'Type']) {
    const th = document.createElement('th');
    th.textContent = t;
    head.appendChild(th);
  }
  const body = table.createTBody();
  layers.forEach((l, li) => {
    const types = headTypes(l);
    for (let h = 0; h < l.heads; h++) {
      const tr = body.insertRow();
      tr.dataset.layer = String(li);
      tr.dataset.head = String(h);
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'head-link';
      b.textContent = `L${li} H${h}`;
      b.addEventListener('click', () => onOpen(li, h));
      tr.insertCell().appendChild(b);
      for (const v of [l.previousToken[h], l.duplicateToken[h], l.induction[h], l.sink[h]]) tr.insertCell().textContent = v === null ? '–' : v.toFixed(3);
      const type = tr.insertCell();
      type.className = 'head-type';
      type.textContent = types[h].join(', ');
    }
  });
  parent.replaceChildren(table);
}
