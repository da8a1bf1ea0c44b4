/**
 * Starts a real VS Code (code-server: the VS Code workbench and extension host on Node, served
 * to a browser) with the packaged extension installed, for the end-to-end tests.
 * @vscode/test-electron cannot download VS Code here; code-server comes from the npm registry
 * (scripts/e2e/install-code-server.sh). Contributors with internet can run the same suite in
 * desktop VS Code through .vscode-test.mjs.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const repoRoot = join(__dirname, '..', '..');
const VERSION = '4.100.3';

export function codeServerEntry(): string {
  const cache = process.env.E2E_CACHE ?? join(homedir(), '.cache', 'attention-inspector-e2e');
  return join(cache, `code-server-${VERSION}`, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

export function installCodeServer(): void {
  execFileSync('bash', [join(repoRoot, 'scripts/e2e/install-code-server.sh')], { stdio: 'inherit' });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface RunningCodeServer {
  url: string;
  dir: string;
  extensionsDir: string;
  process: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  /** Workspace trust on (test/e2e/trust.e2e.ts): the folder opens asking whether to trust it. */
  workspaceTrust?: boolean;
  /** More user settings (settings.json). */
  settings?: Record<string, unknown>;
  /** More environment for code-server and so the extension host and runtime (e.g. HF_HOME). */
  env?: Record<string, string>;
}

export async function startCodeServer(vsix: string, workspace: string, opts: CodeServerOptions = {}): Promise<RunningCodeServer> {
  const entry = codeServerEntry();
  if (!existsSync(entry)) throw new Error(`code-server is not installed at ${entry}: run scripts/e2e/install-code-server.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'ai-e2e-'));
  const userData = join(dir, 'user-data');
  const extensionsDir = join(dir, 'extensions');
  mkdirSync(join(userData, 'User'), { recursive: true });
  // Workspace trust is off (every folder trusted, models load) unless a test turns it on.
  writeFileSync(
    join(userData, 'User', 'settings.json'),
    JSON.stringify({
      'security.workspace.trust.enabled': opts.workspaceTrust === true,
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'workbench.tips.enabled': false,
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      ...opts.settings,
    }),
  );
  const common = ['--user-data-dir', userData, '--extensions-dir', extensionsDir];
  execFileSync(process.execPath, [entry, ...common, '--install-extension', vsix], { stdio: 'pipe' });
  const port = await freePort();
  let output = '';
  const child = spawn(
    process.execPath,
    [entry, ...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry',
      '--disable-update-check', workspace],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } },
  );
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    dir,
    extensionsDir,
    process: child,
    log: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
    },
  };
}
