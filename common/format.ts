/**
 * Number formatting for hovers and the panel: bytes in binary units (KV caches are powers of two
 * and read best as "128 KiB"), FLOPs and rates in decimal units, counts with separators.
 */

function trim(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1).replace(/\.0$/, '') : x.toFixed(2).replace(/\.?0+$/, '');
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${trim(v)} ${units[i]}`;
}

function decimal(x: number, unit: string): string {
  const prefixes = ['', 'K', 'M', 'G', 'T', 'P', 'E'];
  let v = x;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < prefixes.length - 1) {
    v /= 1000;
    i++;
  }
  return `${trim(Number(v.toPrecision(3)))} ${prefixes[i]}${unit}`;
}

export const formatFlops = (flops: number): string => decimal(flops, 'FLOP');
export const formatRate = (perSecond: number, unit: string): string => decimal(perSecond, `${unit}/s`);

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatSeconds(s: number): string {
  if (s >= 1) return `${trim(Number(s.toPrecision(3)))} s`;
  if (s >= 1e-3) return `${trim(Number((s * 1e3).toPrecision(3)))} ms`;
  return `${trim(Number((s * 1e6).toPrecision(3)))} µs`;
}
