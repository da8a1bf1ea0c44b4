/**
 * Temporary files and folders that must not outlive the process: spilled attention maps and
 * half-written outputs. Node runs 'exit' handlers on a normal end, but SIGTERM and SIGINT end the
 * process without them unless someone listens, so the first registration installs listeners for
 * both that delete everything registered and then end the process the way the signal would have
 * (re-raised once our listener is gone, so the exit status still says which signal it was).
 * kill -9 cannot be caught: what it leaves is swept by the next start (spill folders) or the next
 * write into the same output folder (partial files).
 */
import { rmSync, unlinkSync } from 'node:fs';

const files = new Set<string>();
const folders = new Set<string>();
let installed = false;

function removeAll(): void {
  for (const f of files) {
    try {
      unlinkSync(f);
    } catch {
      // already gone
    }
  }
  files.clear();
  for (const d of folders) rmSync(d, { recursive: true, force: true });
  folders.clear();
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

function onSignal(signal: NodeJS.Signals): void {
  removeAll();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  // Others listening (the language server's own shutdown) decide how the process ends; alone,
  // end as the default action of the signal would.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  // Synchronous on purpose: 'exit' handlers cannot wait.
  process.once('exit', removeAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

/** Deletes `file` if the process ends (normally, or by SIGTERM, SIGINT, SIGHUP) before forget(). */
export function removeOnExit(file: string): void {
  install();
  files.add(file);
}

/** The same for a whole folder. */
export function removeFolderOnExit(dir: string): void {
  install();
  folders.add(dir);
}

/** `file` is committed or already deleted: leave it alone at exit. */
export function forgetOnExit(path: string): void {
  files.delete(path);
  folders.delete(path);
}

/** Paths that would be deleted now (tests check that dropping work unregisters it). */
export function pendingExitCleanup(): string[] {
  return [...files, ...folders];
}
