/**
 * A small flag parser shared by the CLI subcommands: `--name value`, `--name=value` and
 * boolean `--name`. Unknown flags and missing values are usage errors (exit code 2).
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagSpec = Record<string, 'string' | 'boolean'>;
export type Flags = Record<string, string | boolean | undefined>;

/** Prints `help` when --help was given: then the command has nothing more to do (exit 0). */
export function printedHelp(flags: Flags, help: string): boolean {
  if (!flags.help) return false;
  process.stdout.write(`${help}\n`);
  return true;
}

/** --model and --out, which every command that runs a model and writes a folder requires. */
export function requireModelAndOut(flags: Flags, command: string): asserts flags is Flags & { model: string; out: string } {
  if (typeof flags.model !== 'string') throw new UsageError(`${command}: --model <folder|file.onnx> is required`);
  if (typeof flags.out !== 'string') throw new UsageError(`${command}: --out <dir> is required`);
}

export function parseFlags(argv: string[], spec: FlagSpec, command: string): Flags {
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`${command}: unexpected argument "${arg}" (see ${command} --help)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`${command}: unknown option --${name} (see ${command} --help)`);
    if (kind === 'boolean') {
      flags[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`${command}: --${name} needs a value`);
    flags[name] = value;
  }
  return flags;
}

export function positiveInt(value: string | boolean | undefined, flag: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n <= 0) {
    throw new UsageError(`${command}: --${flag} needs a positive integer, got "${value}"`);
  }
  return n;
}
