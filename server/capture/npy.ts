/**
 * NumPy .npy files on disk: written atomically, read by pieces. The format itself (header,
 * little-endian float32 data) is common/npy.ts.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { LITTLE_ENDIAN_HOST, npyChunks, npyTruncated, parseNpyHeader } from '../../common/npy';
import { WRITE_PIECE_BYTES, commitPartial, writePartial } from '../files/atomicWrite';
import { UserError } from '../../common/errors';

/**
 * Written whole or not at all (server/files/atomicWrite.ts): a temporary name, renamed when every
 * byte is out, in pieces under the 2 GiB limit of one write().
 */
export function writeNpy(path: string, data: Float32Array, shape: number[]): void {
  commitPartial(writePartial(path, npyChunks(data, shape)), path);
}

/** Read by pieces into the array itself: no 2 GiB file-size limit, no second copy. */
export function readNpy(path: string): { data: Float32Array; shape: number[] } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    throw new UserError(`${path}: cannot read the file; check the path`);
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 12 + 65536));
    readSync(fd, head, 0, head.length, 0);
    const { shape, offset, count } = parseNpyHeader(head, path);
    if (size - offset < count * 4) throw npyTruncated(path, size - offset, count);
    const data = new Float32Array(count);
    const bytes = new Uint8Array(data.buffer);
    for (let done = 0; done < bytes.length; ) {
      const n = readSync(fd, bytes, done, Math.min(WRITE_PIECE_BYTES, bytes.length - done), offset + done);
      if (n === 0) throw npyTruncated(path, done, count);
      done += n;
    }
    if (!LITTLE_ENDIAN_HOST) {
      const view = new DataView(data.buffer);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
    }
    return { data, shape };
  } finally {
    closeSync(fd);
  }
}
