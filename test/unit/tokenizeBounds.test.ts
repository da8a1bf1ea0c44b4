/**
 * Tokenizing that cannot hang or run away: a tokenizer.json whose normalizer regex backtracks
 * catastrophically is stopped at the time limit while the calling thread keeps running, a
 * cancel terminates it, a text far over --max-tokens is refused after reading a bounded prefix,
 * WordLevel maps unknown words to its unk_token, and a mostly unknown text is warned about.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveIds } from '../../server/capture/captureInput';
import { UserError } from '../../common/errors';
import { buildTokenizer } from '../../server/tokenize/build';
import { fileSource, stringSource, type TextSource } from '../../server/tokenize/textSource';
import { unknownTokenWarning } from '../../server/tokenize/unknownTokens';
import { CancelledError } from '../../common/cancellation';
import { loadTokenizer } from '../../server/tokenizer';
import { ensureServerBundle } from '../helpers/serverBundle';

const repo = join(__dirname, '..', '..');
const SAMPLE = join(repo, 'samples/tiny-gpt');
const root = mkdtempSync(join(tmpdir(), 'attn-tokbounds-'));
/** 2^40 backtracking steps for (a+)+b on 40 a's: it never finishes in a test's lifetime. */
const EVIL_TEXT = 'a'.repeat(40);

/** tiny-gpt's tokenizer with a normalizer regex that backtracks on runs of "a" without a "b". */
function evilFolder(): string {
  const dir = join(root, 'evil');
  mkdirSync(dir, { recursive: true });
  cpSync(join(SAMPLE, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  const tok = JSON.parse(readFileSync(join(SAMPLE, 'tokenizer.json'), 'utf8'));
  tok.normalizer = { type: 'Sequence', normalizers: [tok.normalizer, { type: 'Replace', pattern: { Regex: '(a+)+b' }, content: 'x' }] };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tok));
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected a rejection');
}

/** Counts how far a source is read. */
function counted(source: TextSource): TextSource & { maxChars: number } {
  const c = {
    name: source.name,
    maxChars: 0,
    read(chars: number) {
      const r = source.read(chars);
      c.maxChars = Math.max(c.maxChars, r.text.length);
      return r;
    },
    close: () => source.close(),
  };
  return c;
}

describe('tokenizing within a time limit, cancel and token limit', function () {
  this.timeout(60_000);
  // dist/cli.js for the CLI's warning (`npm test` builds it first; rebuilt here when stale).
  before(() => ensureServerBundle());
  after(() => rmSync(root, { recursive: true, force: true }));

  it('a catastrophically backtracking normalizer is stopped at the time limit while this thread keeps running', async () => {
    const tok = loadTokenizer(evilFolder(), { timeoutMs: 400 });
    try {
      // Ordinary text is untouched by the regex and encodes as the sample's own tokenizer does.
      const plain = await tok.encode('the cat sat');
      assert.deepEqual(plain.tokens, ['[BOS]', 'the', 'cat', 'sat']);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const err = await rejection(tok.encode(EVIL_TEXT));
      clearInterval(timer);
      assert.ok(err instanceof UserError, String(err));
      assert.match(err.message, /evil\/tokenizer\.json: tokenizing took longer than 0\.4 s and was stopped/);
      assert.ok(!err.message.includes('\n'));
      // Had the regex run on this thread, no timer callback could have run until it ended.
      assert.ok(ticks > 0, 'the calling thread was blocked');
      // The stopped worker is replaced: the next text is tokenized normally.
      assert.deepEqual((await tok.encode('the cat sat')).tokens, plain.tokens);
    } finally {
      tok.dispose();
    }
  });

  it('cancel terminates a tokenizer stuck in a regex (CancelledError), and the next text works', async () => {
    const tok = loadTokenizer(evilFolder(), { timeoutMs: 600_000 });
    try {
      let cancelled = false;
      let polls = 0;
      const isCancelled = () => {
        polls++;
        // Cancelled once the worker is busy (a few polls in), as a user's cancel would come.
        if (polls > 3) cancelled = true;
        return cancelled;
      };
      const err = await rejection(tok.encode(EVIL_TEXT, { isCancelled }));
      assert.ok(err instanceof CancelledError, String(err));
      assert.ok(cancelled);
      assert.deepEqual((await tok.encode('the dog')).tokens, ['[BOS]', 'the', 'dog']);
    } finally {
      tok.dispose();
    }
  });

  it('a text file far over --max-tokens is refused after a bounded prefix; under it, tokens equal a whole-text encode', async () => {
    const words = readFileSync(join(repo, 'samples/texts/long.txt'), 'utf8');
    const big = join(root, 'big.txt');
    // About 8 MB: 300 copies of the long sample text.
    writeFileSync(big, Array.from({ length: 300 }, () => words).join('\n'));
    const tok = loadTokenizer(SAMPLE);
    try {
      const src = counted(fileSource(big));
      const err = await rejection(tok.encode(src, { maxTokens: 500 }));
      src.close();
      assert.ok(err instanceof UserError, String(err));
      assert.match(err.message, /big\.txt: more than 500 tokens \(its first [\d,]+ characters already give \d+\)/);
      const size = readFileSync(big).length;
      assert.ok(src.maxChars <= 65_536 && src.maxChars * 100 < size, `read ${src.maxChars} of ${size} characters`);

      // Independent reference: the library's own encode of the whole text in this thread.
      const reference = buildTokenizer(JSON.parse(readFileSync(join(SAMPLE, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(SAMPLE, 'tokenizer_config.json'), 'utf8')));
      // Wide spacing (about 14 characters a token) makes the first prefix too short to decide, so
      // acceptance goes through the growing-prefix steps before it encodes the whole text.
      const text = words.split(/\s+/).slice(0, 3000).join('          ');
      const whole = reference.encode(text);
      const n = whole.ids.length;
      assert.ok(n > 3000);
      assert.ok(text.length > n * 8, 'the first prefix holds the whole text');
      // Exactly at the limit the text passes (after a prefix step) and gives the same tokens.
      const steps = counted(stringSource(text));
      const at = await tok.encode(steps, { maxTokens: n });
      assert.equal(steps.maxChars, text.length);
      assert.deepEqual(at.ids, whole.ids);
      // One token less and it is refused, whether by a prefix or the whole text.
      await assert.rejects(resolveIds({ text }, tok, SAMPLE, { maxTokens: n - 1 }), (e: unknown) => e instanceof UserError && /more than/.test(e.message));
    } finally {
      tok.dispose();
    }
  });

  it('WordLevel maps unknown words to its unk_token as Hugging Face does; without one it names the word', async () => {
    const dir = join(root, 'wordlevel');
    mkdirSync(dir, { recursive: true });
    const json = {
      version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
      pre_tokenizer: { type: 'Whitespace' }, post_processor: null, decoder: null,
      model: { type: 'WordLevel', vocab: { '[UNK]': 0, the: 1, cat: 2, sat: 3 }, unk_token: '[UNK]' },
    };
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
    let tok = loadTokenizer(dir);
    // transformers: Tokenizer.from_file(...).encode("the dog sat") -> ids [1, 0, 3], tokens ['the', '[UNK]', 'sat'].
    const enc = await tok.encode('the dog sat');
    tok.dispose();
    assert.deepEqual(enc, { ids: [1, 0, 3], tokens: ['the', '[UNK]', 'sat'] });
    assert.equal(tok.unkId, 0);

    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({ ...json, model: { ...json.model, unk_token: undefined } }));
    tok = loadTokenizer(dir);
    const err = await rejection(tok.encode('the dog sat'));
    tok.dispose();
    assert.ok(err instanceof UserError, String(err));
    assert.match(err.message, /wordlevel\/tokenizer\.json: "dog" is not in the WordLevel vocabulary and the tokenizer has no unk_token/);
  });

  it('a text mostly unknown to the tokenizer is warned about, with the count; a known one is not', async () => {
    const tok = loadTokenizer(SAMPLE);
    try {
      const warnings: string[] = [];
      const text = 'zebra quokka axolotl the narwhal';
      const r = await resolveIds({ text }, tok, SAMPLE, { onWarning: (w) => warnings.push(w) });
      // Independently: tiny-gpt's vocabulary (README) has "the" but none of the animals; [UNK] is id 1.
      const vocab = JSON.parse(readFileSync(join(SAMPLE, 'tokenizer.json'), 'utf8')).model.vocab as Record<string, number>;
      const unknown = text.split(' ').filter((w) => !(w in vocab)).length;
      assert.equal(unknown, 4);
      assert.equal(r.ids.filter((id) => id === vocab['[UNK]']).length, unknown);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], new RegExp(`^${unknown} of ${r.ids.length} tokens are unknown to the tokenizer \\(\\[UNK\\]\\)`));
      const none: string[] = [];
      await resolveIds({ text: 'the cat sat on the mat' }, tok, SAMPLE, { onWarning: (w) => none.push(w) });
      assert.deepEqual(none, []);
      // The CLI says so on stderr and in summary.json, and still writes the capture.
      const out = join(root, 'cli-unknown');
      const res = spawnSync(process.execPath, [join(repo, 'dist/cli.js'), 'capture', '--model', SAMPLE, '--text', text, '--out', out], { encoding: 'utf8' });
      assert.equal(res.status, 0, res.stderr);
      assert.match(res.stderr, /^warning: 4 of 6 tokens are unknown to the tokenizer \(\[UNK\]\)/);
      assert.deepEqual(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).warnings, warnings);
      // Half unknown is not "most".
      assert.equal(unknownTokenWarning([1, 5, 1, 6], ['[UNK]', 'a', '[UNK]', 'b'], 1), undefined);
    } finally {
      tok.dispose();
    }
  });
});
