/**
 * CSV of one attention map (RFC 4180): a header row of key tokens, then one row per query
 * token, its label first. Values carry 9 significant digits, enough to give back the exact
 * float32. Labels are quoted when they hold a separator, a quote, a line break or edge
 * spaces (BPE tokens often start with one). Pure: the webview and the host both use it.
 */

export function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A float32 as the shortest decimal of at most 9 significant digits that reads back exactly. */
export function csvNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(9)));
}

export function matrixCsv(rows: number, cols: number, data: ArrayLike<number>, rowLabels: string[], colLabels: string[], corner = 'query \\ key'): string {
  if (data.length !== rows * cols) throw new Error(`csv: ${data.length} values for ${rows} x ${cols}`);
  const lines = [[corner, ...Array.from({ length: cols }, (_, j) => colLabels[j] ?? `#${j}`)].map(csvField).join(',')];
  for (let i = 0; i < rows; i++) {
    const cells = [csvField(rowLabels[i] ?? `#${i}`)];
    for (let j = 0; j < cols; j++) cells.push(csvNumber(data[i * cols + j]));
    lines.push(cells.join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
