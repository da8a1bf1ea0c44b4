/**
 * `attention-inspector estimate --config <config.json|folder> --seq N [--batch B]
 * [--dtype fp16|bf16|fp32] [--hardware <id>|local] [--decode] [--variants a,b]
 * [--param variant.key=value] [--measure [--measure-seqs 128,256]]`: prints the cost estimate as
 * JSON on stdout; --measure adds `measured`: the attention core of one layer run here by
 * onnxruntime-node beside its roofline estimate on this machine's measured profile.
 */
import { UserError } from '../../common/errors';
import { estimate } from '../efficiency/estimate';
import { DTYPE_BYTES, type Dtype } from '../efficiency/formulas';
import { HARDWARE_PROFILES } from '../efficiency/hardware';
import { resolveHardware } from '../efficiency/localProbe';
import { measureVsEstimate } from '../efficiency/measured';
import { loadModelShape } from '../efficiency/modelShape';
import { flagSubject } from '../variants/memoryNeed';

const USAGE = 'usage: attention-inspector estimate --config <config.json> --seq N [--batch B] [--dtype fp16|bf16|fp32] [--hardware <id>|local] [--decode] [--variants exact,flash,...] [--param linformer.k=128] [--measure [--measure-seqs 128,256]]';

interface Args {
  config?: string;
  seq?: number;
  batch?: number;
  dtype?: Dtype;
  hardware?: string;
  decode: boolean;
  variants?: string[];
  params: Record<string, Record<string, number>>;
  measure: boolean;
  measureSeqs?: number[];
}

function int(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 1) throw new UserError(`${flag} needs a positive integer (got ${value ?? 'nothing'}). ${USAGE}`);
  return n;
}

export function parseEstimateArgs(argv: string[]): Args {
  const a: Args = { decode: false, params: {}, measure: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = () => argv[++i];
    switch (flag) {
      case '--config': a.config = next(); break;
      case '--seq': a.seq = int(flag, next()); break;
      case '--batch': a.batch = int(flag, next()); break;
      case '--dtype': {
        const d = next();
        if (!d || !Object.hasOwn(DTYPE_BYTES, d)) throw new UserError(`--dtype must be one of ${Object.keys(DTYPE_BYTES).join(', ')} (got ${d ?? 'nothing'}).`);
        a.dtype = d as Dtype;
        break;
      }
      case '--hardware': a.hardware = next(); break;
      case '--decode': a.decode = true; break;
      case '--variants': a.variants = (next() ?? '').split(',').filter(Boolean); break;
      case '--param': {
        const m = /^([\w-]+)\.(\w+)=(\d+(?:\.\d+)?)$/.exec(next() ?? '');
        if (!m) throw new UserError(`--param takes variant.key=number, e.g. linformer.k=128. ${USAGE}`);
        (a.params[m[1]] ??= {})[m[2]] = Number(m[3]);
        break;
      }
      case '--measure': a.measure = true; break;
      case '--measure-seqs': a.measureSeqs = (next() ?? '').split(',').map((x) => int(flag, x)); break;
      case '--list-hardware': break;
      default:
        throw new UserError(`Unknown option ${flag}. ${USAGE}`);
    }
  }
  return a;
}

/** Errors are UserErrors: server/cli.ts prints them as one line and exits 1. */
export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\nhardware ids: ${HARDWARE_PROFILES.map((p) => p.id).join(', ')}, local\n`);
    return 0;
  }
  if (argv.includes('--list-hardware')) {
    process.stdout.write(JSON.stringify(HARDWARE_PROFILES.map((p) => ({ id: p.id, name: p.name })).concat([{ id: 'local', name: 'this machine (measured)' }]), null, 2) + '\n');
    return 0;
  }
  const a = parseEstimateArgs(argv);
  if (!a.config) throw new UserError(`--config is required. ${USAGE}`);
  if (a.seq === undefined) throw new UserError(`--seq is required. ${USAGE}`);
  const shape = loadModelShape(a.config);
  const hardware = await resolveHardware(a.hardware);
  const result = estimate(shape, { seq: a.seq, batch: a.batch, dtype: a.dtype, hardware, decode: a.decode, variants: a.variants, params: a.params });
  const output: Record<string, unknown> = { ...result };
  if (a.measure) {
    const local = hardware.id === 'local' ? hardware : await resolveHardware('local');
    output.measured = await measureVsEstimate(shape, { seqs: a.measureSeqs ?? [a.seq], variants: a.variants, hardware: local, params: a.params, subject: flagSubject(a.measureSeqs ? '--measure-seqs' : '--seq') });
  }
  process.stdout.write(JSON.stringify(output, null, 2) + '\n');
  return 0;
}
