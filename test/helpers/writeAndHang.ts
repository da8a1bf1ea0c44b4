/**
 * A writer to kill: run as `node --require tsx/cjs writeAndHang.ts <out> <layers> <cutBytes>`.
 * It opens <out> as a capture folder, commits layers 0..layers-2 whole, starts the last one and,
 * after <cutBytes> of it are written, prints "mid" and blocks without returning to the event
 * loop, so the parent's kill -9 lands in the middle of a write at a known byte.
 */
import { writeSync } from 'node:fs';
import { npyChunks } from '../../common/npy';
import { CAPTURE_FILES } from '../../server/cli/captureRun';
import { OutputFolder } from '../../server/cli/outputFolder';
import { writePartial } from '../../server/files/atomicWrite';

const [out, layersArg, cutArg] = process.argv.slice(2);
const layers = Number(layersArg);
const cut = Number(cutArg);
const values = (l: number) => Float32Array.from({ length: 2 * 64 * 64 }, (_, i) => l + i / 1e4);

const folder = OutputFolder.open(out, { command: 'capture', owns: CAPTURE_FILES });
for (let l = 0; l < layers - 1; l++) folder.writeNpy(`layer_${l}.npy`, values(l), [2, 64, 64]);

function* cutAt(chunks: Uint8Array[]): Generator<Uint8Array> {
  const all = Buffer.concat(chunks);
  yield all.subarray(0, cut);
  writeSync(1, 'mid\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  yield all.subarray(cut);
}
writePartial(folder.path(`layer_${layers - 1}.npy`), cutAt(npyChunks(values(layers - 1), [2, 64, 64])));
