/**
 * The Compare panel channel: messages between the Compare webview (browser code) and its host
 * in the extension. Discriminated unions on `type`. The host posts nothing before `ready`; the
 * webview never sees file paths, only the runtime's figures and maps.
 */
import { messageParser, type MessageValidators } from '../common/messageKernel';
import type { CompareVariantsRequest } from './mechanisms';

/** host -> webview */
export type HostToCompare =
  | { type: 'busy'; title: string; message: string }
  | { type: 'result'; title: string; result: CompareVariantsRequest.Result }
  | { type: 'error'; message: string; requestId?: number };

/** webview -> host: the page only says `ready`. */
export type CompareToHost = { type: 'ready' };

export const compareToHost: MessageValidators<CompareToHost> = {
  ready: () => ({ type: 'ready' }),
};

export const parseCompareMessage = messageParser(compareToHost);
