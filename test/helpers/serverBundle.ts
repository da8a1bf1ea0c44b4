/**
 * dist/server.js for the runtime tests, rebuilt when missing or older than its sources.
 * `npm run build` first (the real build); if another target of that build is broken at the
 * moment, the server bundle alone is built with the same esbuild options so these tests still
 * exercise the runtime.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import {
  createProtocolConnection,
  InitializeRequest,
  IPCMessageReader,
  IPCMessageWriter,
  type ClientCapabilities,
  type InitializeResult,
  type ProtocolConnection,
  WorkDoneProgress,
  type WorkDoneProgressBegin,
  type WorkDoneProgressEnd,
  type WorkDoneProgressReport,
} from 'vscode-languageserver-protocol/node';

export const repoRoot = join(__dirname, '..', '..');
export const serverBundle = join(repoRoot, 'dist', 'server.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export async function ensureServerBundle(): Promise<string> {
  const sources = Math.max(
    newestSource(join(repoRoot, 'server')),
    newestSource(join(repoRoot, 'protocol')),
    statSync(join(repoRoot, 'scripts', 'build.mjs')).mtimeMs,
  );
  if (existsSync(serverBundle) && statSync(serverBundle).mtimeMs >= sources) return serverBundle;
  try {
    execFileSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'pipe' });
  } catch {
    // fall through to the server-only build below
  }
  if (!existsSync(serverBundle) || statSync(serverBundle).mtimeMs < sources) {
    await esbuild.build({
      absWorkingDir: repoRoot,
      entryPoints: { server: 'server/main.ts', tokenizeWorker: 'server/tokenize/tokenizeWorker.ts' },
      outdir: 'dist',
      bundle: true,
      sourcemap: true,
      platform: 'node',
      mainFields: ['module', 'main'],
      format: 'cjs',
      target: 'node20',
      external: ['onnxruntime-node'],
      logLevel: 'warning',
    });
  }
  return serverBundle;
}

export interface StartedRuntime {
  child: ChildProcess;
  conn: ProtocolConnection;
  init: InitializeResult;
  /** Kills the runtime if it is still running and closes the connection. */
  stop(): void;
}

/**
 * Forks dist/server.js with --node-ipc as the extension does, speaks LSP to it and completes
 * the initialize handshake. `register` adds notification handlers before the connection
 * listens, so nothing the server sends early is missed.
 */
export async function startRuntime(opts: {
  register?: (conn: ProtocolConnection, child: ChildProcess) => void;
  initializationOptions?: Record<string, unknown>;
  capabilities?: ClientCapabilities;
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
} = {}): Promise<StartedRuntime> {
  const server = await ensureServerBundle();
  const child = fork(server, ['--node-ipc'], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    execArgv: opts.execArgv ?? [],
    env: opts.env ?? process.env,
  });
  const conn = createProtocolConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  opts.register?.(conn, child);
  conn.listen();
  const init = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: null,
    capabilities: opts.capabilities ?? {},
    initializationOptions: opts.initializationOptions,
  });
  conn.sendNotification('initialized', {});
  return {
    child,
    conn,
    init,
    stop: () => {
      if (child.exitCode === null) child.kill();
      conn.dispose();
    },
  };
}

export type ProgressParams = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

/**
 * Records the work-done progress the runtime sends for `token`, in arrival order; `onEach` sees
 * each one as it comes (to order it against other messages, or to cancel on it).
 */
export function recordProgress(conn: ProtocolConnection, token: string, onEach?: (p: ProgressParams) => void): { progress: ProgressParams[]; reports(): WorkDoneProgressReport[]; dispose(): void } {
  const progress: ProgressParams[] = [];
  const sub = conn.onProgress(WorkDoneProgress.type, token, (p) => {
    progress.push(p);
    onEach?.(p);
  });
  return {
    progress,
    reports: () => progress.filter((p): p is WorkDoneProgressReport => p.kind === 'report'),
    dispose: () => sub.dispose(),
  };
}

/** Spill files of one runtime process in any spill folder (mapSpill.ts names them map-<pid>-<n>.f32). */
export function spillFiles(pid: number): string[] {
  const out: string[] = [];
  for (const d of readdirSync(tmpdir())) {
    if (!d.startsWith('attention-inspector-maps-')) continue;
    try {
      for (const f of readdirSync(join(tmpdir(), d))) if (f.startsWith(`map-${pid}-`)) out.push(join(tmpdir(), d, f));
    } catch {
      // another process's folder went away meanwhile
    }
  }
  return out;
}
