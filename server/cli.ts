/**
 * The attention-inspector command line: a dispatch table of subcommands, each a module under
 * server/cli/ exporting run(argv) -> exit code, imported statically (one bundle, no loader
 * quirks). Errors end as ONE line on stderr (exit 1, or 2 for usage); the stack is printed
 * only with ATTENTION_INSPECTOR_DEBUG=1, because a user needs the file and the fix, not our
 * call chain.
 */
import './onnx/runtimeEnvironment';
import { UsageError } from './cli/args';
import * as capture from './cli/capture';
import * as demo from './cli/demo';
import * as diff from './cli/diff';
import * as estimate from './cli/estimate';
import * as variantsCmd from './cli/variants';
import * as compare from './cli/mechanisms';
import * as heads from './cli/heads';
import * as kv from './cli/kv';
import * as kvReport from './cli/kvReport';
import * as internals from './cli/internals';
import * as ablate from './cli/ablate';
import { UserError } from '../common/errors';
import { endWithLauncher, relaunchEnv, runAgain } from './cli/relaunch';

interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

// One import and one line per subcommand; add yours here.
const COMMANDS: Record<string, Command> = {
  capture: { summary: 'run a model on a text and write every attention map (.npy) and a summary', run: capture.run },
  variants: { summary: 'list the attention variants compare can run, with their papers', run: variantsCmd.run },
  compare: { summary: 'run attention variants on one layer\'s Q, K, V and score them against exact', run: compare.run },
  diff: { summary: 'A − B of two capture folders, per layer (diff_<i>.npy), over the common prefix', run: diff.run },
  demo: { summary: 'capture a text and write a self-contained HTML report', run: demo.run },
  heads: { summary: 'score every head: previous-token, duplicate-token, induction, sink (heads.json)', run: heads.run },
  kv: { summary: 'simulate a KV-cache eviction policy (StreamingLLM, H2O, SnapKV, TOVA) on the model (kv.json)', run: kv.run },
  'kv-report': { summary: 'every eviction policy swept over budgets: an HTML view (mass kept, KL, bytes saved, head map) and JSON', run: kvReport.run },
  internals: { summary: 'one layer\'s queries and keys as they enter the score, and value-weighted norms (.npy)', run: internals.run },
  ablate: { summary: 'remove each head in turn and measure the change of the output (ablation.json)', run: ablate.run },
  estimate: { summary: 'FLOPs, bytes, KV cache and roofline time of attention from a config.json, per variant', run: estimate.run },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return ['usage: attention-inspector <command> [options]', '', 'commands:', ...lines, '', 'Run attention-inspector <command> --help for its options.'].join('\n');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  // Own keys only: "__proto__" or "constructor" is an unknown command, not Object's.
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) throw new UsageError(`unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
  return command.run(rest);
}

function report(e: unknown): number {
  const debug = process.env.ATTENTION_INSPECTOR_DEBUG === '1';
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  if (e instanceof UsageError) {
    process.stderr.write(`attention-inspector: ${oneLine(e.message)}\n`);
    return 2;
  }
  if (e instanceof UserError) {
    process.stderr.write(`attention-inspector: ${oneLine(e.message)}\n`);
    return 1;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`attention-inspector: internal error: ${oneLine(msg)}${debug ? '' : ' (set ATTENTION_INSPECTOR_DEBUG=1 for the stack)'}\n`);
  return 1;
}

if (require.main === module) {
  const env = relaunchEnv();
  if (env) runAgain(env);
  else {
    endWithLauncher();
    main(process.argv.slice(2)).then(
      (code) => process.exit(code),
      (e) => process.exit(report(e)),
    );
  }
}
