/**
 * Hostile input beyond malformed bytes: special files named like model files, tokenizers whose
 * regexes backtrack catastrophically, config.json values that break recursive readers (in the
 * hover path, where the editor calls them on every mouse move), and webview messages of the
 * Efficiency and Compare panels. Each outcome is a success, a one-line UserError naming the
 * file, or a crash (anything else, or a hang past the bound). FUZZ_SEED / FUZZ_SCALE as in
 * fuzz.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parseCompareMessage } from '../../protocol/mechanismsWebview';
import { MAX_MEASURE_SEQ, parseEfficiencyMessage } from '../../protocol/efficiencyWebview';
import { UserError } from '../../common/errors';
import { configCodeLenses } from '../../server/config/codeLens';
import { configDiagnostics } from '../../server/config/diagnostics';
import { configHover } from '../../server/config/hover';
import { KEY_ALIASES } from '../../server/efficiency/modelShape';
import { loadTokenizer } from '../../server/tokenizer';
import {
  CATASTROPHIC_REGEXES, backtrackingText, checkOutcomes, fuzz, fuzzSeed, scaled, hostileValue, int, mutateJson, oversizedJsonText, pickOne, seeded,
} from '../helpers/fuzz';
import { gpt2Fixture } from '../helpers/hfFixtures';
import { ensureServerBundle, repoRoot } from '../helpers/serverBundle';
import { writeHfFolder } from '../helpers/writeCheckpoint';

const SEED = fuzzSeed(20261203);
const SAMPLE = join(repoRoot, 'samples/tiny-gpt');

describe('fuzz: special files, backtracking regexes, hostile config.json in hovers, panel messages', function () {
  this.timeout(300_000);
  let root: string;
  let server: Server | undefined;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'fuzz-hostile-'));
    console.log(`      fuzz seed ${SEED} (FUZZ_SEED to replay)`);
  });
  after(() => {
    server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('special files: FIFOs, sockets, devices and folders named like every file a model is read from', async () => {
    await ensureServerBundle();
    const r = seeded(SEED);
    const { config, tensors } = gpt2Fixture();
    const hf = join(root, 'hf');
    writeHfFolder(hf, config, tensors);
    const onnx = join(root, 'onnx');
    cpSync(SAMPLE, onnx, { recursive: true });
    const sock = join(root, 'a.sock');
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(sock, resolve));
    // [folder, file in it, how the CLI is asked to read it]
    const targets: [string, string, string[]][] = [
      [onnx, 'model.onnx', ['--text', 'the cat']],
      [onnx, 'tokenizer.json', ['--text', 'the cat']],
      [onnx, 'tokenizer_config.json', ['--text', 'the cat']],
      [hf, 'model.safetensors', ['--ids', '1,2,3']],
      [hf, 'config.json', ['--ids', '1,2,3']],
    ];
    const kinds = ['fifo', 'socket', 'device', 'folder', 'link-to-regular', 'text-file-fifo', 'text-file-device'] as const;
    let current: { args: string[]; restore: () => void } | undefined;
    const file = join(root, 'case');
    const make = () => {
      current?.restore();
      const [dir, name, input] = pickOne(r, targets);
      const kind = pickOne(r, kinds);
      const path = join(dir, name);
      const backup = `${path}.orig`;
      cpSync(path, backup);
      rmSync(path);
      const out = join(root, 'out');
      let args = ['capture', '--model', dir, ...input, '--out', out];
      if (kind === 'fifo') execFileSync('mkfifo', [path]);
      else if (kind === 'socket') symlinkSync(sock, path);
      else if (kind === 'device') symlinkSync('/dev/zero', path);
      else if (kind === 'folder') mkdirSync(path);
      else if (kind === 'link-to-regular') symlinkSync(backup, path);
      if (kind.startsWith('text-file')) {
        cpSync(backup, path);
        const text = join(root, 'text.in');
        rmSync(text, { force: true });
        if (kind === 'text-file-fifo') execFileSync('mkfifo', [text]);
        else symlinkSync('/dev/zero', text);
        args = ['capture', '--model', onnx, '--text-file', text, '--out', out];
      }
      writeFileSync(file, `${kind} ${name}`);
      current = {
        args,
        restore: () => {
          rmSync(path, { recursive: true, force: true });
          cpSync(backup, path);
        },
      };
    };
    const c = await fuzz(scaled(40), file, make, () => {
      const res = spawnSync(process.execPath, [join(repoRoot, 'dist/cli.js'), ...current!.args], { encoding: 'utf8', timeout: 20_000 });
      if (res.error) throw new Error(`hung: ${current!.args.join(' ')}`);
      if (res.status === 0) return;
      const line = res.stderr.trim();
      if (res.status !== 1 || line.includes('\n') || /internal error/.test(line)) throw new Error(`exit ${res.status}: ${line.slice(0, 200)}`);
      // The file or the text file must be named, with what it is.
      if (!/(FIFO|socket|character device|folder|is a directory|not a regular file)/.test(line)) throw new Error(`unclear refusal: ${line.slice(0, 200)}`);
      throw new UserError(line);
    }, (m) => /model\.onnx|tokenizer\.json|tokenizer_config\.json|model\.safetensors|config\.json|text\.in/.test(m));
    current?.restore();
    checkOutcomes('special files', c);
  });

  it('tokenizers with catastrophically backtracking normalizer and pre-tokenizer regexes, within a time limit', async () => {
    const r = seeded(SEED + 1);
    const seed = JSON.parse(readFileSync(join(SAMPLE, 'tokenizer.json'), 'utf8'));
    const folder = join(root, 'tok');
    mkdirSync(folder, { recursive: true });
    cpSync(join(SAMPLE, 'tokenizer_config.json'), join(folder, 'tokenizer_config.json'));
    const file = join(folder, 'tokenizer.json');
    let text = '';
    const make = () => {
      const t = JSON.parse(JSON.stringify(seed));
      const pattern = { Regex: pickOne(r, CATASTROPHIC_REGEXES) };
      if (r() < 0.5) t.normalizer = { type: 'Sequence', normalizers: [t.normalizer, { type: 'Replace', pattern, content: pickOne(r, ['x', '', ' ']) }] };
      else t.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern, behavior: pickOne(r, ['Isolated', 'Removed', 'MergedWithNext']), invert: false }, t.pre_tokenizer] };
      writeFileSync(file, JSON.stringify(t));
      text = backtrackingText(r);
    };
    const c = await fuzz(scaled(30), file, make, async () => {
      const tok = loadTokenizer(folder, { timeoutMs: 300 });
      try {
        await tok.encode(text, { maxTokens: 4096 });
      } finally {
        tok.dispose();
      }
    });
    checkOutcomes('catastrophic regexes', c);
  });

  it('config.json in the hover path: hovers on every key, CodeLenses and diagnostics never throw', async () => {
    const r = seeded(SEED + 2);
    const dirs = ['llama-3-8b', 'gpt2', 'qwen2-7b', 'gemma-2-9b', 'mistral-7b-v0.1', 't5-base', 'falcon-7b'];
    const seeds = dirs.map((d) => JSON.parse(readFileSync(join(repoRoot, 'samples/configs', d, 'config.json'), 'utf8')));
    const keys = [...Object.values(KEY_ALIASES).flat(), 'model_type', 'rope_scaling', 'rope_theta', 'layer_types', 'attention_types', 'text_config', 'use_sliding_window', 'max_window_layers'];
    const file = join(root, 'config.json');
    let doc: TextDocument;
    const make = () => {
      let text = JSON.stringify(mutateJson(r, pickOne(r, seeds), keys), null, 1);
      // Splice one oversized value in as text (as a value it could not even be stringified).
      if (r() < 0.6) text = text.replace(/^\{/, `{"${pickOne(r, [...keys, 'junk'])}": ${oversizedJsonText(r)},`);
      if (r() < 0.2) text = text.replace(/"model_type": "[^"]*"/, `"model_type": ${JSON.stringify(pickOne(r, ['__proto__', 'constructor', 'toString', hostileValue(r)]))}`);
      writeFileSync(file, text);
      doc = TextDocument.create(`file://${file}`, 'json', 1, text);
    };
    let hovers = 0;
    const c = await fuzz(scaled(200), file, make, () => {
      configCodeLenses(doc);
      configDiagnostics(doc);
      const text = doc.getText();
      let figures = 0;
      for (const key of keys) {
        const at = text.indexOf(`"${key}"`);
        if (at < 0) continue;
        const h = configHover(doc, at + 2);
        hovers++;
        const md = (h?.contents as { value?: string } | undefined)?.value ?? '';
        if (md.includes('KV cache per token')) figures++;
      }
      // A config the cost model cannot read is this harness's "refused" outcome.
      if (figures === 0) throw new UserError(`${file}: no figures`);
    });
    console.log(`      config.json hovers: ${hovers} hovers asked`);
    checkOutcomes('config.json in hovers', c);
  });

  it('Efficiency and Compare panel messages: only well-formed ones pass, in range, and parsing never throws', () => {
    const r = seeded(SEED + 3);
    const types = ['ready', 'settings', 'measure', 'inspect', 'x', '', 'constructor', '__proto__'];
    const good = { settings: { batch: 1, dtype: 'fp16', hardware: 'h100-sxm', decode: false, tableSeq: 8192 }, seqs: [128, 256, 512] };
    const settingFields = ['batch', 'dtype', 'hardware', 'decode', 'tableSeq', 'configPath'];
    let accepted = 0;
    let rejected = 0;
    const total = scaled(20000);
    for (let i = 0; i < total; i++) {
      let msg: unknown;
      if (r() < 0.1) msg = hostileValue(r);
      else {
        const m: Record<string, unknown> = { type: pickOne(r, types), settings: { ...good.settings }, seqs: [...good.seqs] };
        for (let k = int(r, 3); k > 0; k--) {
          const v = r() < 0.5 ? hostileValue(r) : pickOne(r, [-1, 0, 1, 4096, 4097, 12000, 1e8, 1e300, 0.5, '128', 'bf16', 'local', '../x']);
          if (r() < 0.5 && typeof m.settings === 'object' && m.settings !== null) (m.settings as Record<string, unknown>)[pickOne(r, settingFields)] = v;
          else if (r() < 0.5 && Array.isArray(m.seqs)) (m.seqs as unknown[])[int(r, 10)] = v;
          else m[pickOne(r, ['settings', 'seqs', 'type'])] = v;
        }
        msg = m;
      }
      const eff = parseEfficiencyMessage(msg);
      const cmp = parseCompareMessage(msg);
      if (cmp) assert.deepEqual(cmp, { type: 'ready' });
      if (!eff) {
        rejected++;
        continue;
      }
      accepted++;
      if (eff.type === 'measure') {
        assert.ok(eff.seqs.length >= 1 && eff.seqs.length <= 8 && eff.seqs.every((s) => Number.isInteger(s) && s >= 1 && s <= MAX_MEASURE_SEQ));
      }
      if (eff.type === 'settings') {
        const s = eff.settings;
        assert.deepEqual(Object.keys(s).sort(), ['batch', 'decode', 'dtype', 'hardware', 'tableSeq']);
        assert.ok(Number.isInteger(s.batch) && s.batch >= 1 && Number.isInteger(s.tableSeq) && s.tableSeq >= 1 && s.tableSeq <= 1e8);
        assert.ok(['fp32', 'fp16', 'bf16'].includes(s.dtype) && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s.hardware));
      }
    }
    console.log(`      efficiency/compare messages: ${total} tried, ${accepted} accepted, ${rejected} rejected, 0 crashes`);
    assert.ok(accepted > 0 && rejected > 0);
  });
});
