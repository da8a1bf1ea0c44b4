/**
 * Telling a cancelled request from a failed one, on both ends of the runtime channel: the
 * runtime answers a cancelled request with LSP's RequestCancelled code, and its own waits end
 * with CancelledError. A cancelled run is not an error to report: the panel shows "cancelled".
 */

/** LSP's RequestCancelled error code (LSPErrorCodes.RequestCancelled), as a number so common/ needs no LSP library. */
export const REQUEST_CANCELLED = -32800;

/** The wait for one text is over because the caller cancelled it (LSP: RequestCancelled). */
export class CancelledError extends Error {
  constructor(message = 'cancelled while tokenizing') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** Whether e ended a request because it was cancelled: the runtime's RequestCancelled reply, or a CancelledError. */
export function isRequestCancelled(e: unknown): boolean {
  if (e instanceof CancelledError) return true;
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === REQUEST_CANCELLED;
}
