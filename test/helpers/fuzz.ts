/**
 * A small seeded fuzzer for the parsers of user files: byte-level mutations (bit flips, hostile
 * bytes, cuts, splices) and structural ones on JSON (hostile values at random places), and a
 * harness that runs a reader on each mutated file and sorts the outcome into success, UserError
 * (one line that names the file) or crash (anything else, or a UserError that breaks the rules,
 * or a file that took longer than the per-file bound: a hang or an allocation spiral).
 */
import assert from 'node:assert/strict';
import { UserError } from '../../common/errors';
import { mulberry32 } from '../../common/seededRandom';

export type Rand = () => number;

/** mulberry32 (common/seededRandom.ts): fast, seeded, good enough to pick mutations. */
export const seeded: (seed: number) => Rand = mulberry32;

/** FUZZ_SEED=<n> replays another run; `fallback` is the test file's own seed. */
export function fuzzSeed(fallback: number): number {
  return Number(process.env.FUZZ_SEED ?? fallback);
}

/** A mutation count times FUZZ_SCALE=<k> (default 1), at least one. */
export function scaled(count: number): number {
  return Math.max(1, Math.round(count * Number(process.env.FUZZ_SCALE ?? 1)));
}

/**
 * Logs a reader's outcome counts and fails on any crash, or when only one kind of outcome
 * occurred: then the mutations are not reaching the reader's checks.
 */
export function checkOutcomes(what: string, c: FuzzCounts): void {
  console.log(`      ${report(what, c)}`);
  assert.deepEqual(c.crashes.slice(0, 5), [], `${what}: ${c.crashes.length} crashes`);
  assert.ok(c.userErrors > 0 && c.successes > 0, `${what}: only one kind of outcome`);
}

export const int = (r: Rand, n: number) => Math.floor(r() * n);
export const pickOne = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

const HOSTILE_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x22, 0x5b, 0x7b, 0x7d, 0x30, 0x39, 0x2d, 0x0a];

/** One to four byte-level mutations of `src` (a copy). */
export function mutateBytes(r: Rand, src: Uint8Array): Uint8Array {
  let b = Buffer.from(src);
  const times = 1 + int(r, 4);
  for (let t = 0; t < times && b.length > 0; t++) {
    const at = int(r, b.length);
    switch (int(r, 7)) {
      case 0: // flip a bit
        b[at] ^= 1 << int(r, 8);
        break;
      case 1: // a hostile byte
        b[at] = pickOne(r, HOSTILE_BYTES);
        break;
      case 2: // cut the tail
        b = b.subarray(0, at);
        break;
      case 3: // delete a run
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(r, 64)))]);
        break;
      case 4: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(r, 16) }, () => int(r, 256))), b.subarray(at)]);
        break;
      case 5: { // copy a run over another place
        const from = int(r, b.length);
        const len = 1 + int(r, 64);
        b = Buffer.from(b);
        b.set(b.subarray(from, Math.min(b.length, from + len)).subarray(0, Math.max(0, b.length - at)), at);
        break;
      }
      default: // a 32-bit little-endian extreme
        if (at + 4 <= b.length) b.writeUInt32LE(pickOne(r, [0, 1, 0x7fffffff, 0x80000000, 0xffffffff]), at);
    }
  }
  return b;
}

/** Values that break careless readers: extremes, wrong types, deep or long things. */
export function hostileValue(r: Rand): unknown {
  const choices: (() => unknown)[] = [
    () => 0, () => -1, () => 1.5, () => -0, () => 1e308, () => -1e308, () => 2 ** 53, () => 2 ** 31, () => 2 ** 32,
    () => 1e9, () => 1e12, () => 65536, () => null, () => true, () => false, () => '', () => 'x'.repeat(1 + int(r, 5000)),
    () => '12', () => '../../etc/passwd', () => [], () => [1e9, 1e9], () => [[1e9]], () => ({}), () => ({ __proto__: { polluted: 1 } }),
    () => [[['global', 'local'], 1e9]], () => 'NaN', () => '\u0000\ud800',
  ];
  return pickOne(r, choices)();
}

type Json = unknown;

/** Every (container, key) in a JSON value, so a mutation can land anywhere. */
function slots(v: Json, out: [Record<string, unknown> | unknown[], string | number][] = []): typeof out {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([v, i]);
      slots(x, out);
    });
  } else if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      out.push([v as Record<string, unknown>, k]);
      slots((v as Record<string, unknown>)[k], out);
    }
  }
  return out;
}

/** One to three structural mutations of a JSON document (a deep copy), plus extra keys from `keys`. */
export function mutateJson(r: Rand, doc: Json, keys: readonly string[] = []): Json {
  const copy = JSON.parse(JSON.stringify(doc));
  const times = 1 + int(r, 3);
  for (let t = 0; t < times; t++) {
    const all = slots(copy);
    const op = int(r, 5);
    if (op === 0 && keys.length && copy && typeof copy === 'object' && !Array.isArray(copy)) {
      (copy as Record<string, unknown>)[pickOne(r, keys)] = hostileValue(r);
      continue;
    }
    if (all.length === 0) return hostileValue(r);
    const [parent, key] = pickOne(r, all);
    const p = parent as Record<string | number, unknown>;
    if (op === 1) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete p[key];
    } else if (op === 2) {
      const v = p[key];
      p[key] = typeof v === 'number' ? pickOne(r, [0, -v, v * 1e6, v + 1, v - 1, v / 3, 2 ** 53]) : hostileValue(r);
    } else if (op === 3) {
      p[key] = Array.isArray(p[key]) ? [...(p[key] as unknown[]), ...(p[key] as unknown[])] : [p[key]];
    } else {
      p[key] = hostileValue(r);
    }
  }
  return copy;
}

export interface FuzzCounts {
  tried: number;
  userErrors: number;
  successes: number;
  crashes: string[];
  slowestMs: number;
}

/** Longer than any honest parse of these small files by orders of magnitude; a hang or a huge allocation shows. */
export const PER_FILE_MS = 5000;

/**
 * Runs `run` on `n` mutated inputs. `file` is the path the reader is given (errors must name
 * it, by full path or base name); `make` writes the i-th mutated input there.
 */
export async function fuzz(
  n: number,
  file: string,
  make: (i: number) => void,
  run: () => unknown | Promise<unknown>,
  fileName: (message: string) => boolean = (m) => m.includes(file) || m.includes(file.split('/').pop()!),
): Promise<FuzzCounts> {
  const c: FuzzCounts = { tried: 0, userErrors: 0, successes: 0, crashes: [], slowestMs: 0 };
  for (let i = 0; i < n; i++) {
    make(i);
    c.tried++;
    const t0 = performance.now();
    try {
      await run();
      c.successes++;
    } catch (e) {
      if (!(e instanceof UserError)) c.crashes.push(`#${i}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`.slice(0, 300));
      else if (e.message.includes('\n')) c.crashes.push(`#${i}: multi-line UserError: ${e.message.slice(0, 200)}`);
      else if (!fileName(e.message)) c.crashes.push(`#${i}: UserError without the file name: ${e.message.slice(0, 200)}`);
      else c.userErrors++;
    }
    const ms = performance.now() - t0;
    c.slowestMs = Math.max(c.slowestMs, ms);
    if (ms > PER_FILE_MS) c.crashes.push(`#${i}: took ${Math.round(ms)} ms (bound ${PER_FILE_MS} ms)`);
  }
  return c;
}

export function report(what: string, c: FuzzCounts): string {
  return `${what}: ${c.tried} files tried, ${c.userErrors} user errors, ${c.successes} successes, ${c.crashes.length} crashes`;
}

/**
 * JSON text (not a value: JSON.stringify of it would itself overflow the stack) that breaks
 * recursive readers or spread calls: nesting tens of thousands deep, lists of 20,000+ values.
 */
export function oversizedJsonText(r: Rand): string {
  const depth = 1000 + int(r, 100_000);
  switch (int(r, 5)) {
    case 0: return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    case 1: return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    case 2: return `${'['.repeat(depth)}`; // unclosed
    case 3: return `[${Array.from({ length: 20_001 + int(r, 100_000) }, () => 4).join(',')}]`;
    default: return `[${Array.from({ length: 20_001 + int(r, 20_000) }, (_, i) => (i % 2 ? '"sliding_attention"' : '"full_attention"')).join(',')}]`;
  }
}

/**
 * Regexes that backtrack catastrophically on the right text (nested or overlapping
 * quantifiers), and texts that trigger them: the input of a tokenizer's Replace normalizer or
 * Split pre-tokenizer that must be stopped, not waited for.
 */
export const CATASTROPHIC_REGEXES = ['(a+)+b', '(a|a)+b', '(a|aa)+b', '(a*)*b', '(\\w+\\s?)+$', '(.*a){12}', '^(a+)+$', '(x+x+)+y'];

export function backtrackingText(r: Rand): string {
  const run = pickOne(r, ['a', 'x', 'ab', 'a ']).repeat(20 + int(r, 30));
  return pickOne(r, [run, `${run}!`, `the cat ${run}`, 'the cat sat', `${run}b`]);
}
