/**
 * Writing result files so a reader never sees half of one: each file is written under a
 * temporary name in the same folder and renamed into place.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNpy } from '../capture/npy';

function atomically(path: string, write: (tmp: string) => void): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    write(tmp);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function outputFolder(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function writeJsonAtomic(dir: string, name: string, value: unknown): void {
  atomically(join(dir, name), (tmp) => writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`));
}

export function writeNpyAtomic(dir: string, name: string, data: Float32Array, shape: number[]): void {
  atomically(join(dir, name), (tmp) => writeNpy(tmp, data, shape));
}
