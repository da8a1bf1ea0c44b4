/**
 * The CLI starting itself again, once, with the malloc settings the runtime uses
 * (common/mallocTunables.ts): glibc reads them only at process start. The second process gets
 * the terminal (stdin, stdout, stderr) and the signals sent to this one; its exit status or
 * signal becomes this one's. It also ends when this one is gone, even by kill -9 (an IPC
 * channel that closes), so killing the command a user started never leaves a model running.
 */
import { spawn } from 'node:child_process';
import { withHugePages } from '../../common/mallocTunables';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const RELAUNCHED_VARIABLE = 'ATTENTION_INSPECTOR_RELAUNCHED';

/**
 * The environment to start again with, or undefined to run here: already set up (or not Linux,
 * or opted out), or under a debugger (`--inspect*`), which is attached to this process.
 */
export function relaunchEnv(env: NodeJS.ProcessEnv = process.env, execArgv: string[] = process.execArgv): NodeJS.ProcessEnv | undefined {
  if (execArgv.some((a) => a.startsWith('--inspect'))) return undefined;
  const wanted = withHugePages(env);
  return wanted === env ? undefined : wanted;
}

export function runAgain(env: NodeJS.ProcessEnv): void {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...env, [RELAUNCHED_VARIABLE]: '1' },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const s of FORWARDED) process.on(s, forward);
  child.on('error', (e) => {
    process.stderr.write(`attention-inspector: could not start (${e.message})\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of FORWARDED) process.off(s, forward);
    // Ended by a signal: end the same way, so a shell sees what the user's command did.
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

/** In the process runAgain started: end (as by SIGTERM, so temporary files go) when the first one is gone. */
export function endWithLauncher(): void {
  if (process.env[RELAUNCHED_VARIABLE] !== '1') return;
  delete process.env[RELAUNCHED_VARIABLE];
  // Gone before this process got this far.
  if (!process.channel || !process.connected) return void process.kill(process.pid, 'SIGTERM');
  // The channel must not keep this process alive once the command is done.
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
