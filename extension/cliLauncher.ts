/**
 * The CLI as an installed extension has it: dist/cli.js inside the extension's folder, run by the
 * Node of VS Code's extension host (ELECTRON_RUN_AS_NODE makes VS Code's own binary a plain
 * Node; code-server runs on Node already). A VSIX install puts nothing on PATH, so the snippets
 * the panel copies name that path unless a launcher is on PATH. No vscode import: unit-tested.
 */
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { shellQuote } from '../common/snippet';

export const CLI_NAME = 'attention-inspector';

/** Whether `name` is an executable on PATH (as the shell would find it). */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  return (env.PATH ?? '').split(delimiter).some((dir) => dir && exts.some((e) => existsSync(join(dir, name + e))));
}

/** The program part of a CLI command line: the launcher's name, or node and the bundled cli.js. */
export function cliProgram(extensionPath: string, launcherOnPath: boolean): string {
  if (launcherOnPath) return CLI_NAME;
  return `node ${shellQuote(join(extensionPath, 'dist', 'cli.js'))}`;
}

/**
 * Writes `attention-inspector` (and .cmd on Windows) into `binDir`, each atomically (temp name,
 * then rename). Returns the launcher's path.
 */
export function writeLauncher(binDir: string, nodePath: string, cliJs: string): string {
  mkdirSync(binDir, { recursive: true });
  const write = (file: string, text: string, mode: number) => {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, file);
  };
  const sh = join(binDir, CLI_NAME);
  write(
    sh,
    `#!/bin/sh\n# Written by Attention Inspector: its bundled CLI, run by VS Code's own Node.\nELECTRON_RUN_AS_NODE=1 exec ${shellQuote(nodePath)} ${shellQuote(cliJs)} "$@"\n`,
    0o755,
  );
  if (process.platform === 'win32') write(`${sh}.cmd`, `@echo off\r\nset ELECTRON_RUN_AS_NODE=1\r\n"${nodePath}" "${cliJs}" %*\r\n`, 0o644);
  return sh;
}
