/**
 * What a layer run by query blocks (server/capture/queryBlocks.ts) puts back together: the
 * blocks' row ranges, their row outputs side by side, and their reductions combined into those
 * of the whole map (server/capture/reductions.ts).
 */
import * as ort from 'onnxruntime-node';
import { BLOCK_ROWS_INPUT, BLOCK_START_INPUT } from './queryBlocks';
import { ROW_OFFSET_INPUT } from './reductions';

/**
 * [start, rows] of each block: `rows` at a time over the rows that fill whole pool blocks, then
 * the remainder (fewer than `pool` rows) alone. Only a block whose rows are not a multiple of
 * the pool factor has its map copied to pad it (reductions.ts), so that copy is of a few rows,
 * not of a whole block.
 */
export function blockRanges(total: number, rows: number, pool: number): [number, number][] {
  const whole = total >= pool ? total - (total % pool) : total;
  const ranges: [number, number][] = [];
  for (let start = 0; start < whole; start += rows) ranges.push([start, Math.min(rows, whole - start)]);
  if (whole < total) ranges.push([whole, total - whole]);
  return ranges;
}

export function rowOffset(n: number): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.of(BigInt(n)), [1]);
}

type Typed = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | BigUint64Array;

/**
 * Sets a block's first row and row count, and the reductions' row offset where they read one
 * (`inputs`: the extra inputs of the block part's reductions).
 */
export function setBlock(feeds: Record<string, ort.Tensor>, start: number, rows: number, inputs: { name?: string | null }[] = []): void {
  feeds[BLOCK_START_INPUT] = rowOffset(start);
  feeds[BLOCK_ROWS_INPUT] = rowOffset(rows);
  if (inputs.some((v) => v.name === ROW_OFFSET_INPUT)) feeds[ROW_OFFSET_INPUT] = rowOffset(start);
}

/** Places row blocks of a tensor side by side on its row axis (`axis` < 0) as they come. */
export class RowAssembler {
  private data?: Typed;
  private dims: number[] = [];
  private type = 'float32';

  constructor(private readonly total: number, private readonly axis: number) {}

  add(t: ort.Tensor, start: number): void {
    const dims = t.dims.map(Number);
    const p = dims.length + this.axis;
    const inner = dims.slice(p + 1).reduce((a, b) => a * b, 1);
    const outer = dims.slice(0, p).reduce((a, b) => a * b, 1);
    const src = t.data as Typed;
    if (!this.data) {
      this.dims = dims.map((d, i) => (i === p ? this.total : d));
      this.type = t.type;
      const Ctor = src.constructor as new (n: number) => Typed;
      this.data = new Ctor(outer * this.total * inner);
    }
    const rows = dims[p];
    for (let o = 0; o < outer; o++) {
      const from = o * rows * inner;
      (this.data as Float32Array).set((src as Float32Array).subarray(from, from + rows * inner), (o * this.total + start) * inner);
    }
  }

  tensor(): ort.Tensor {
    return new ort.Tensor(this.type as 'float32', this.data as Float32Array, this.dims);
  }
}

/**
 * The reductions of blocks combined into those of the whole map (server/capture/reductions.ts):
 * `stats` and `colsum` are sums over rows, so they add; `pooled` and `headsum` are per block of
 * rows, so they follow each other on their row axis; `dims` is the whole map's shape.
 */
export class ReductionSum {
  private readonly sums = new Map<string, ort.Tensor>();
  private readonly rows = new Map<string, ort.Tensor[]>();

  add(key: string, t: ort.Tensor, totalRows: number): void {
    if (key === 'dims') {
      const d = BigInt64Array.from(t.data as BigInt64Array);
      d[d.length - 2] = BigInt(totalRows);
      this.sums.set(key, new ort.Tensor('int64', d, t.dims));
    } else if (key === 'stats' || key === 'colsum') {
      const prev = this.sums.get(key);
      if (!prev) {
        const Ctor = (t.data as Float32Array).constructor as new (x: ArrayLike<number>) => Float32Array;
        this.sums.set(key, new ort.Tensor(t.type as 'float32', new Ctor(t.data as Float32Array), t.dims));
      } else {
        const acc = prev.data as Float32Array;
        const x = t.data as Float32Array;
        for (let i = 0; i < acc.length; i++) acc[i] += x[i];
      }
    } else {
      this.rows.set(key, [...(this.rows.get(key) ?? []), t]);
    }
  }

  tensors(): Record<string, ort.Tensor> {
    const out: Record<string, ort.Tensor> = Object.fromEntries(this.sums);
    for (const [key, parts] of this.rows) {
      const total = parts.reduce((a, t) => a + Number(t.dims[t.dims.length - 2]), 0);
      const a = new RowAssembler(total, -2);
      let start = 0;
      for (const t of parts) {
        a.add(t, start);
        start += Number(t.dims[t.dims.length - 2]);
      }
      out[key] = a.tensor();
    }
    return out;
  }
}
