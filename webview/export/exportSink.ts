/**
 * Where an export goes. In VS Code: posted to the host, which asks for a location and writes
 * the file (a webview cannot download). In the standalone report (no host): downloaded
 * directly through an <a download> on a blob: URL; navigation is outside the CSP's fetch
 * directives, and a browser that still refuses leaves the panel's error line saying so.
 */
import type { ExportFormat, WebviewToHost } from '../../protocol/webview';

export type ExportMessage = Extract<WebviewToHost, { type: 'export' }>;
export type ExportSink = (msg: ExportMessage) => Promise<void> | void;

export function hostSink(post: (msg: WebviewToHost) => void): ExportSink {
  return (msg) => post(msg);
}

const MIME: Record<ExportFormat, string> = {
  png: 'image/png',
  svg: 'image/svg+xml',
  csv: 'text/csv',
  npy: 'application/octet-stream',
  snippet: 'text/plain',
};

function base64Bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The report's sink: PNG, SVG and CSV become files; the snippet goes to the clipboard. */
export function downloadSink(onError: (message: string) => void, snippetOf: (text: string) => string): ExportSink {
  return async (msg) => {
    if (msg.format === 'snippet') {
      const command = snippetOf(msg.data);
      try {
        await navigator.clipboard.writeText(command);
      } catch {
        // A file:// page may have no clipboard access: show the command to copy by hand.
        onError(`Copy this command: ${command}`);
      }
      return;
    }
    const body: BlobPart = msg.format === 'png' ? (base64Bytes(msg.data.slice(msg.data.indexOf(',') + 1)) as BlobPart) : msg.data;
    try {
      const url = URL.createObjectURL(new Blob([body], { type: MIME[msg.format] }));
      const a = document.createElement('a');
      a.href = url;
      a.download = msg.name;
      a.hidden = true;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      onError(`This browser refused the download of ${msg.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}
