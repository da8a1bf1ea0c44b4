/**
 * What the host writes for a validated export message: the file's bytes and the save dialog's
 * filter, or, for the CLI snippet, the command for the clipboard. The .npy file is encoded
 * here with the runtime's own encoder (server/capture/npy.ts), so it loads with numpy.load
 * like the CLI's layer_<i>.npy. No vscode import, so it is unit-tested.
 */
import { decodeFloat32 } from '../protocol/encoding';
import type { WebviewToHost } from '../protocol/webview';
import { encodeNpy } from '../common/npy';
import { cliSnippet } from '../common/snippet';

type ExportMessage = Extract<WebviewToHost, { type: 'export' }>;

export type ExportPayload = { kind: 'file'; bytes: Uint8Array; filters: Record<string, string[]> } | { kind: 'clipboard'; text: string };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** `model` names the model in the snippet: its path when the host knows it. */
export function exportPayload(msg: ExportMessage, model: string, program?: string): ExportPayload {
  switch (msg.format) {
    case 'png': {
      const bytes = Buffer.from(msg.data.slice(msg.data.indexOf(',') + 1), 'base64');
      if (!PNG_SIGNATURE.every((b, i) => bytes[i] === b)) throw new Error(`${msg.name}: the panel sent an image that is not a PNG`);
      return { kind: 'file', bytes, filters: { 'PNG image': ['png'] } };
    }
    case 'svg':
      return { kind: 'file', bytes: Buffer.from(msg.data, 'utf8'), filters: { 'SVG image': ['svg'] } };
    case 'csv':
      return { kind: 'file', bytes: Buffer.from(msg.data, 'utf8'), filters: { CSV: ['csv'] } };
    case 'npy':
      return { kind: 'file', bytes: encodeNpy(decodeFloat32(msg.data), msg.shape ?? []), filters: { 'NumPy array': ['npy'] } };
    case 'snippet':
      return { kind: 'clipboard', text: cliSnippet(model, msg.data, undefined, program) };
  }
}
