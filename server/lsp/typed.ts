/**
 * Typed registration for the protocol/runtime.ts messages. vscode-languageserver 10 carries its
 * own older copy of vscode-jsonrpc, whose RequestType is not assignable from the one the shared
 * protocol file (and the client) use, so the server registers by method name and these
 * wrappers keep the parameter and result types checked.
 */
import type { CancellationToken, Connection, ResponseError } from 'vscode-languageserver/node';
import type { NotificationType, RequestType } from 'vscode-languageserver-protocol';

export function onRequest<P, R>(
  connection: Connection,
  type: RequestType<P, R, void>,
  handler: (params: P, token: CancellationToken) => Promise<R | ResponseError<void>>,
): void {
  connection.onRequest(type.method, (params: P, token: CancellationToken) => handler(params, token));
}

export function notify<P>(connection: Connection, type: NotificationType<P>, params: P): Promise<void> {
  return connection.sendNotification(type.method, params);
}
