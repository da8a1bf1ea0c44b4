/**
 * When to restart a runtime that exited on its own: 1 s, 2 s, 4 s … up to 30 s, and not at all
 * after too many exits in a row. A runtime that stayed up a minute has recovered, so its next
 * exit starts the sequence again. Pure, so it is tested without VS Code.
 */
export class CrashBackoff {
  private crashes = 0;
  private startedAt = 0;

  constructor(
    private readonly maxRestarts = 5,
    private readonly baseMs = 1000,
    private readonly capMs = 30_000,
    private readonly stableMs = 60_000,
  ) {}

  started(now: number): void {
    this.startedAt = now;
  }

  reset(): void {
    this.crashes = 0;
  }

  get attempts(): number {
    return this.crashes;
  }

  /** Delay before the next restart, or undefined when it should give up. */
  exited(now: number): number | undefined {
    if (now - this.startedAt >= this.stableMs) this.crashes = 0;
    this.crashes++;
    if (this.crashes > this.maxRestarts) return undefined;
    return Math.min(this.capMs, this.baseMs * 2 ** (this.crashes - 1));
  }
}
