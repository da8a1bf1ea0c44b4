/**
 * The weights of a Hugging Face folder: one model.safetensors or shards listed by
 * model.safetensors.index.json. Pickle checkpoints are refused, never unpickled: loading them
 * can run arbitrary code from the file.
 */
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../common/errors';
import { requireRegularFile } from '../regularFile';
import type { ExternalRef } from '../onnx/graphBuilder';
import { SafetensorsFile, TensorEntry } from './safetensors';

export interface WeightSource {
  has(name: string): boolean;
  names(): string[];
  shape(name: string): number[];
  /** The file a tensor lives in, for error messages. */
  fileOf(name: string): string;
  read(name: string): Promise<Float32Array>;
  /**
   * Where a float32 tensor's bytes lie in the checkpoint (relative to its folder), so a graph
   * can let onnxruntime read them in place; undefined for other dtypes, which read() converts.
   */
  reference(name: string): ExternalRef | undefined;
  readRows(name: string, r0: number, r1: number): Promise<Float32Array>;
  /** Bytes all tensors would take as float32. */
  float32Bytes(): number;
  close(): Promise<void>;
}

const PICKLE = /(\.bin|\.pt|\.pth|\.ckpt)$/i;

/** Throws the one-line refusal when a folder only has pickle weights. */
export function refusePickleOnly(folder: string): void {
  const files = readdirSync(folder);
  if (files.some((f) => f.endsWith('.safetensors') || f === 'model.safetensors.index.json')) return;
  const pickles = files.filter((f) => PICKLE.test(f));
  if (pickles.length) {
    throw new UserError(
      `${path.join(folder, pickles[0])}: pickle checkpoints are not loaded (they can run code); convert the folder to safetensors (model.save_pretrained(dir, safe_serialization=True)).`,
    );
  }
  throw new UserError(`${folder}: no model.safetensors or model.safetensors.index.json; save the model with save_pretrained(dir).`);
}

class ShardedSource implements WeightSource {
  constructor(
    private readonly where: Map<string, { shard: SafetensorsFile; entry: TensorEntry }>,
    private readonly shards: SafetensorsFile[],
    private readonly folder: string,
  ) {}
  has(name: string): boolean {
    return this.where.has(name);
  }
  names(): string[] {
    return [...this.where.keys()];
  }
  private get(name: string) {
    const w = this.where.get(name);
    if (!w) throw new UserError(`${this.folder}: the checkpoint has no tensor "${name}"; the weights do not match config.json.`);
    return w;
  }
  shape(name: string): number[] {
    return this.get(name).entry.shape;
  }
  fileOf(name: string): string {
    return this.get(name).shard.file;
  }
  read(name: string): Promise<Float32Array> {
    const { shard, entry } = this.get(name);
    return shard.read(entry.name);
  }
  reference(name: string): ExternalRef | undefined {
    const { shard, entry } = this.get(name);
    const length = entry.end - entry.begin;
    if (entry.dtype !== 'F32' || length !== entry.shape.reduce((a, b) => a * b, 1) * 4) return undefined;
    return { location: path.relative(this.folder, shard.file), offset: entry.begin, length };
  }
  readRows(name: string, r0: number, r1: number): Promise<Float32Array> {
    const { shard, entry } = this.get(name);
    return shard.readRows(entry.name, r0, r1);
  }
  float32Bytes(): number {
    let n = 0;
    // Entries, not names: an aliased tensor counts once.
    for (const entry of new Set([...this.where.values()].map((w) => w.entry))) n += entry.shape.reduce((a, b) => a * b, 1) * 4;
    return n;
  }
  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}

export async function openCheckpoint(folder: string): Promise<WeightSource> {
  const indexFile = path.join(folder, 'model.safetensors.index.json');
  const single = path.join(folder, 'model.safetensors');
  const shards: SafetensorsFile[] = [];
  const where = new Map<string, { shard: SafetensorsFile; entry: TensorEntry }>();
  try {
    if (existsSync(single)) {
      const f = await SafetensorsFile.open(single);
      shards.push(f);
      for (const [name, entry] of f.tensors) where.set(name, { shard: f, entry });
    } else if (existsSync(indexFile)) {
      let map: Record<string, string>;
      requireRegularFile(indexFile, 'the shard index', 're-save the model with save_pretrained(dir)');
      try {
        map = JSON.parse(await fsp.readFile(indexFile, 'utf8')).weight_map;
      } catch {
        throw new UserError(`${indexFile}: not valid JSON; re-save the model with save_pretrained(dir).`);
      }
      if (!map || typeof map !== 'object') throw new UserError(`${indexFile}: has no "weight_map"; re-save the model with save_pretrained(dir).`);
      const byFile = new Map<string, SafetensorsFile>();
      for (const [name, file] of Object.entries(map)) {
        // Shard names are plain file names; anything else could point outside the folder.
        if (typeof file !== 'string' || path.basename(file) !== file || !file.endsWith('.safetensors')) {
          throw new UserError(`${indexFile}: tensor "${name}" maps to ${JSON.stringify(file)}, not a shard file in this folder.`);
        }
        let shard = byFile.get(file);
        if (!shard) {
          if (!existsSync(path.join(folder, file))) throw new UserError(`${indexFile}: shard ${file} is missing; download all shards.`);
          shard = await SafetensorsFile.open(path.join(folder, file));
          shards.push(shard);
          byFile.set(file, shard);
        }
        const entry = shard.tensors.get(name);
        if (!entry) throw new UserError(`${path.join(folder, file)}: has no tensor "${name}" that ${path.basename(indexFile)} lists; re-download the shard.`);
        where.set(name, { shard, entry });
      }
    } else {
      const others = readdirSync(folder).filter((f) => f.endsWith('.safetensors'));
      if (others.length === 0) refusePickleOnly(folder);
      if (others.length > 1) {
        throw new UserError(`${folder}: several .safetensors files but no model.safetensors.index.json; add the index that lists the shards.`);
      }
      const f = await SafetensorsFile.open(path.join(folder, others[0]));
      shards.push(f);
      for (const [name, entry] of f.tensors) where.set(name, { shard: f, entry });
    }
  } catch (err) {
    await Promise.all(shards.map((s) => s.close()));
    throw err;
  }
  // Checkpoints converted from TensorFlow (bert-base-uncased among them) still call LayerNorm
  // parameters gamma/beta; transformers renames them when loading, and so do we.
  for (const [name, w] of [...where]) {
    const alias = name.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (alias !== name && !where.has(alias)) where.set(alias, w);
  }
  return new ShardedSource(where, shards, folder);
}
