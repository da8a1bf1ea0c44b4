/**
 * Errors as every side shows them: UserError for what the user can fix, and firstLine for any
 * error that has to fit one line (a notification, an LSP reply, a table cell, the CLI's stderr).
 * Pure: no Node, VS Code or DOM API, so extension/, server/ and webview/ all import it.
 */

/**
 * An error meant for the user: one line naming the file and the fix. Anything else that
 * reaches the top level is a bug and is logged with its stack, never shown raw.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Longest line firstLine returns. */
export const ERROR_LINE_MAX = 400;
/** What a cut line keeps of its end: wrapped errors put the fix or "see the log" last. */
const KEPT_TAIL = 100;

/**
 * The first non-blank line of an error's message, trimmed. A line longer than ERROR_LINE_MAX
 * (a native error quoting a whole graph, say) loses its middle, not its ends: the start names
 * the file and the end carries the fix, both of which the user needs.
 */
export function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const line = (msg.split('\n').find((l) => l.trim()) ?? msg).trim();
  if (line.length <= ERROR_LINE_MAX) return line;
  return `${line.slice(0, ERROR_LINE_MAX - KEPT_TAIL - 1)}…${line.slice(line.length - KEPT_TAIL)}`;
}
