/**
 * The CLI as a user runs it: a child process on the TypeScript sources (tsx), with its exit
 * code, the signal that ended it, its pid (to look for files it left) and its output.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { withHugePages } from '../../common/mallocTunables';

const ROOT = join(__dirname, '..', '..');

export interface CliRun {
  code: number;
  signal: NodeJS.Signals | null;
  pid: number;
  stdout: string;
  stderrLines: string[];
}

export function cli(args: string[], input?: string): CliRun {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'server', 'cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    input,
    // Started with the malloc settings it would give itself (common/mallocTunables.ts), so it
    // does not start again and the pid is the process that runs the command.
    env: withHugePages({ ...process.env, ATTENTION_INSPECTOR_DEBUG: '' }),
    maxBuffer: 64 * 2 ** 20,
  });
  return { code: r.status ?? -1, signal: r.signal, pid: r.pid ?? -1, stdout: r.stdout, stderrLines: r.stderr.split('\n').filter((l) => l.length > 0) };
}

/** A WordPiece tokenizer that drops whitespace: a text padded with 40 kB of spaces is still 3 tokens. */
export function wordPieceTokenizer(words: string[]): object {
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'BertPreTokenizer' }, post_processor: null, decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(words.map((w, i) => [w, i])) },
  };
}
