/**
 * A hook for end-to-end tests that must act while a capture is in flight (kill the runtime,
 * cancel): with ATTENTION_INSPECTOR_TEST_HOLD_TOKENS=N set in the runtime's environment, a
 * capture of at least N tokens stops after its first layer has been sent and waits there until
 * it is cancelled or the process dies. The test then acts on a state it can see (the first layer
 * in the panel) instead of racing a capture that may finish first on a fast machine. Unset in
 * use: the hook is a no-op.
 */
import type { CancellationToken } from 'vscode-languageserver/node';

const ENV = 'ATTENTION_INSPECTOR_TEST_HOLD_TOKENS';

export function holdTokens(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const n = Number(env[ENV]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Resolves at once unless the hook is on and this capture is long enough; then on cancellation. */
export function holdForTest(tokens: number, token: CancellationToken, log: (line: string) => void): Promise<void> {
  const at = holdTokens();
  if (at === undefined || tokens < at || token.isCancellationRequested) return Promise.resolve();
  log(`test hold: capture of ${tokens} tokens held after its first layer (${ENV}=${at})`);
  return new Promise((resolve) => {
    const sub = token.onCancellationRequested(() => {
      sub.dispose();
      resolve();
    });
  });
}
