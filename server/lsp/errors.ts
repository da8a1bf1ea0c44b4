/**
 * Turning anything a handler throws into the one-line ResponseError the client shows. A
 * UserError is the user's to fix and goes back as is; anything else is a bug, so its stack goes
 * to the runtime log and only its first line goes back.
 */
import { LSPErrorCodes, ResponseError, type Connection } from 'vscode-languageserver/node';
import { UserError, firstLine } from '../../common/errors';
import { CancelledError } from '../../common/cancellation';

export function toResponseError(connection: Connection, method: string, e: unknown): ResponseError<void> {
  if (e instanceof ResponseError) return e;
  // Cancelled while tokenizing: the LSP answer to a cancelled request, which clients ignore.
  if (e instanceof CancelledError) return new ResponseError(LSPErrorCodes.RequestCancelled, e.message);
  if (e instanceof UserError) {
    connection.console.warn(`${method}: ${firstLine(e)}`);
    return new ResponseError(LSPErrorCodes.RequestFailed, firstLine(e));
  }
  const stack = e instanceof Error && e.stack ? e.stack : String(e);
  connection.console.error(`${method} failed unexpectedly: ${stack}`);
  return new ResponseError(LSPErrorCodes.RequestFailed, `internal error in ${method}: ${firstLine(e)} (see the Attention Inspector log)`);
}

/** Wraps a handler so every failure leaves as a ResponseError with one line. */
export function guarded<P, R, A extends unknown[]>(
  connection: Connection,
  method: string,
  handler: (params: P, ...rest: A) => Promise<R>,
): (params: P, ...rest: A) => Promise<R | ResponseError<void>> {
  return async (params: P, ...rest: A) => {
    try {
      return await handler(params, ...rest);
    } catch (e) {
      return toResponseError(connection, method, e);
    }
  };
}
