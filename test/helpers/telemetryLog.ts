/**
 * Whether onnxruntime's telemetry client wrote its log for process `pid` at or after `sinceMs`.
 * It writes a fixed `/tmp/mat-debug-<pid>.log` (not TMPDIR) when it is on; such files of earlier
 * processes stay behind, and pids are reused, so a file older than the process is not its own.
 */
import { statSync } from 'node:fs';

export function telemetryLogWritten(pid: number, sinceMs: number): boolean {
  try {
    return statSync(`/tmp/mat-debug-${pid}.log`).mtimeMs >= sinceMs - 1;
  } catch {
    return false;
  }
}
