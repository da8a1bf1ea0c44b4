/** Saving a test model the way large exports are saved: weights in a separate data file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';

/**
 * Writes the model with the bytes of every initializer of at least minBytes moved to one
 * external file beside it (ONNX external data: location/offset/length), as large exports are
 * saved; small shape constants stay inline, as onnx's converter leaves them. Returns the .onnx path.
 */
export function saveWithExternalData(
  model: onnx.IModelProto,
  dir: string,
  modelFile = 'model.onnx',
  dataFile = 'model.onnx.data',
  minBytes = 128,
): string {
  mkdirSync(dir, { recursive: true });
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const t of copy.graph?.initializer ?? []) {
    const raw = Buffer.from(t.rawData ?? new Uint8Array(0));
    if (raw.length < minBytes) continue;
    const pad = (64 - (offset % 64)) % 64;
    chunks.push(Buffer.alloc(pad));
    offset += pad;
    t.externalData = [
      { key: 'location', value: dataFile },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.length) },
    ];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.rawData = new Uint8Array(0);
    chunks.push(raw);
    offset += raw.length;
  }
  writeFileSync(join(dir, dataFile), Buffer.concat(chunks));
  const path = join(dir, modelFile);
  writeFileSync(path, onnx.ModelProto.encode(copy).finish());
  return path;
}
