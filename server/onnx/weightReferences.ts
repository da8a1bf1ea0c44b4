/**
 * Large float weights of an .onnx file, referenced in place instead of held in memory.
 *
 * Why: a capture builds one onnxruntime session per model segment (and per query-block part)
 * from ModelProto bytes made here. With the weights inline, the runtime held the whole decoded
 * file in JS while onnxruntime held its own copy in every session: on the bench's
 * GPT-2-small-shaped model (397 MB) the process peaked at 1.3 GB opening a model whose sessions
 * hold 0.4 GB. ONNX external data can name any file and byte range, and the raw bytes of an
 * inline initializer are a contiguous range of the .onnx file itself, so each large float
 * initializer becomes {location: the model file, offset, length} and onnxruntime reads it from
 * the file when a session is made. Nothing is written: the user's file is only read.
 *
 * Only float weights are referenced: integer and boolean initializers (shapes, masks, indices)
 * stay inline because the graph readers here look at their values (server/capture/shapeReading.ts).
 */
import { statSync } from 'node:fs';
import { onnx } from 'onnx-proto';
import { UserError } from '../../common/errors';
import { tensorsOf } from './tensorWalk';

/** Float initializers at least this large are referenced; smaller ones are copied (cheap). */
export const REFERENCED_WEIGHT_BYTES = 64 * 1024;

const FLOAT_TYPES = new Set<number>([
  onnx.TensorProto.DataType.FLOAT,
  onnx.TensorProto.DataType.FLOAT16,
  onnx.TensorProto.DataType.BFLOAT16,
  onnx.TensorProto.DataType.DOUBLE,
]);

/** A file's size and modification time when it was read. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
}

/** The files a graph's weights are read from by onnxruntime, each with its stamp when read. */
export type ReferencedFiles = [string, FileStamp][];

export function fileStamp(path: string): FileStamp {
  const s = statSync(path);
  return { size: s.size, mtimeMs: s.mtimeMs };
}

/** The first of `files` that is gone or no longer the file its stamp was taken of. */
export function changedFile(files: ReferencedFiles): string | undefined {
  return files.find(([path, stamp]) => {
    try {
      const now = fileStamp(path);
      return now.size !== stamp.size || now.mtimeMs !== stamp.mtimeMs;
    } catch {
      return true;
    }
  })?.[0];
}

/**
 * Throws a one-line error naming a file that changed since the graph's weights were referenced
 * in it: a session made now would read other bytes as the weights.
 */
export function requireUnchanged(files: ReferencedFiles): void {
  const changed = changedFile(files);
  if (changed !== undefined) throw new UserError(`${changed}: changed on disk since the model was opened; open the model again`);
}

/**
 * Rewrites, in `model` (decoded from `file`, the bytes of the file named `location` in its
 * folder), every top-level float initializer of REFERENCED_WEIGHT_BYTES or more to external data
 * at its range of the file, and copies every other tensor's bytes out of `file`, so the decoded
 * model no longer keeps the file's buffer alive. Returns how many initializers were referenced.
 */
export function referenceInlineWeights(model: onnx.IModelProto, file: Uint8Array, location: string): number {
  let referenced = 0;
  for (const [t, top] of tensorsOf(model.graph)) {
    const raw = t.rawData;
    // protobufjs decodes bytes fields as views of the buffer it reads: a view's offset in that
    // buffer is where the bytes sit in the file.
    if (!raw || raw.length === 0 || raw.buffer !== file.buffer) continue;
    const offset = raw.byteOffset - file.byteOffset;
    if (offset < 0 || offset + raw.length > file.length) continue;
    if (top && raw.length >= REFERENCED_WEIGHT_BYTES && FLOAT_TYPES.has(t.dataType ?? 0)) {
      delete t.rawData;
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.length) },
      ];
      referenced++;
    } else {
      t.rawData = new Uint8Array(raw);
    }
  }
  return referenced;
}

/**
 * Bytes of tensor data the decoded model still holds (inline raw bytes and typed fields), so a
 * model whose weights could not be referenced (e.g. stored as float_data) is not kept in memory.
 */
export function inlineBytes(model: onnx.IModelProto): number {
  let total = 0;
  for (const [t] of tensorsOf(model.graph)) {
    total += t.rawData?.length ?? 0;
    total += 4 * ((t.floatData?.length ?? 0) + (t.int32Data?.length ?? 0));
    total += 8 * ((t.int64Data?.length ?? 0) + (t.doubleData?.length ?? 0) + (t.uint64Data?.length ?? 0));
  }
  return total;
}
