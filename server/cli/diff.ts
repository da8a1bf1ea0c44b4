/**
 * `attention-inspector diff`: A − B of two capture folders (written by `capture`), per layer
 * and head, as diff_<i>.npy. Two texts of different lengths are compared over their common
 * prefix, which the output says; the per-head difference is the panel's (common/diffMaps).
 */
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../capture/npy';
import { UserError } from '../../common/errors';
import { diffOverCommonPrefix } from '../../common/diffMaps';
import { parseFlags, UsageError, printedHelp } from './args';
import { OutputFolder, SUMMARY_FILE, summaryFiles } from './outputFolder';

const HELP = `usage: attention-inspector diff --a <capture dir> --b <capture dir> --out <dir>

Reads layer_<i>.npy (and cross_<i>.npy) [heads, queries, keys] from two folders written by
\`attention-inspector capture\` (two texts, or two checkpoints of one architecture) and writes
diff_<i>.npy (cross_diff_<i>.npy) = A − B to <dir>. Maps of different sizes are compared over
the common prefix: the first min(queries) queries and min(keys) keys. Only the files each
folder's summary.json lists are read (a folder without one holds no complete capture); <dir>
gets its own summary.json listing the diff files.`;

const SPEC = { a: 'string', b: 'string', out: 'string', help: 'boolean' } as const;

const MAP_FILE = /^(layer|cross)_\d+\.npy$/;

/**
 * The map files of a finished capture, as its summary.json lists them: a folder without one is
 * incomplete (a run that failed or was killed), and files a summary does not list belong to
 * another run, so neither is read.
 */
export function captureMapFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new UserError(`${dir}: no such folder; give a folder written by attention-inspector capture`);
  const listed = summaryFiles(dir) ?? legacyLayerFiles(dir);
  if (!listed) throw new UserError(`${dir}: no complete capture (no readable summary.json); run attention-inspector capture --out ${dir} again`);
  return listed.filter((f) => MAP_FILE.test(f)).sort((x, y) => x.localeCompare(y, 'en', { numeric: true }));
}

/** Captures written before summaries listed `files` name their maps in layerFiles. */
function legacyLayerFiles(dir: string): string[] | undefined {
  const file = join(dir, SUMMARY_FILE);
  try {
    if (!lstatSync(file).isFile()) return undefined;
    const s = JSON.parse(readFileSync(file, 'utf8')) as { layerFiles?: { file?: unknown }[] };
    if (!Array.isArray(s.layerFiles)) return undefined;
    return s.layerFiles.map((l) => l?.file).filter((f): f is string => typeof f === 'string' && MAP_FILE.test(f));
  } catch {
    return undefined;
  }
}

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, SPEC, 'diff');
  if (printedHelp(flags, HELP)) return 0;
  const [a, b, out] = [flags.a, flags.b, flags.out];
  if (typeof a !== 'string' || typeof b !== 'string' || typeof out !== 'string') throw new UsageError('diff: --a, --b and --out are required (see diff --help)');
  const files = captureMapFiles(a);
  if (files.length === 0) throw new UserError(`${a}: no layer_<i>.npy files; run attention-inspector capture --out ${a} first`);
  const inB = new Set(captureMapFiles(b));
  const folder = OutputFolder.open(out, { command: 'diff', owns: [/^(cross_)?diff_\d+\.npy$/] });
  const written: { file: string; from: string; shape: number[]; maxAbs: number }[] = [];
  for (const f of files) {
    const fileB = join(b, f);
    if (!inB.has(f)) throw new UserError(`${fileB}: not part of the capture in ${b}; both captures must come from models with the same layers`);
    const A = readNpy(join(a, f));
    const B = readNpy(fileB);
    if (A.shape.length !== 3 || B.shape.length !== 3 || A.shape[0] !== B.shape[0]) {
      throw new UserError(`${f}: shapes [${A.shape}] and [${B.shape}] differ in heads; compare checkpoints of one architecture`);
    }
    const [heads, qa, ka] = A.shape;
    const [, qb, kb] = B.shape;
    const rows = Math.min(qa, qb);
    const cols = Math.min(ka, kb);
    const data = new Float32Array(heads * rows * cols);
    let maxAbs = 0;
    for (let h = 0; h < heads; h++) {
      const d = diffOverCommonPrefix({ rows: qa, cols: ka, data: A.data.subarray(h * qa * ka, (h + 1) * qa * ka) }, { rows: qb, cols: kb, data: B.data.subarray(h * qb * kb, (h + 1) * qb * kb) });
      data.set(d.diff.data, h * rows * cols);
      maxAbs = Math.max(maxAbs, d.maxAbs);
    }
    const name = f.replace(/^layer_/, 'diff_').replace(/^cross_/, 'cross_diff_');
    folder.writeNpy(name, data, [heads, rows, cols]);
    written.push({ file: name, from: f, shape: [heads, rows, cols], maxAbs });
    const prefix = rows !== qa || rows !== qb || cols !== ka || cols !== kb ? ` (common prefix: ${rows} x ${cols} of ${qa} x ${ka} and ${qb} x ${kb})` : '';
    process.stdout.write(`${name}: [${heads}, ${rows}, ${cols}], max |A − B| ${maxAbs.toFixed(4)}${prefix}\n`);
  }
  folder.finish({ a, b, diffs: written });
  return 0;
}
