/**
 * Names users see: a Hugging Face cache snapshot opened by path is called by its repository,
 * other models by their folder; exports are named model, text, layer and head, sanitised.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../../server/capture/openModel';
import { hubRepoOf, modelDisplayName } from '../../server/discovery/modelName';
import { exportName, namePart } from '../../webview/export/exportName';
import { repoRoot } from '../helpers/webviewBundle';

describe('model and export names', () => {
  it('names a hub-cache snapshot by org/name, a folder by its name, model.onnx by its folder', () => {
    assert.equal(modelDisplayName('/home/u/.cache/huggingface/hub/models--meta-llama--Llama-3.2-1B/snapshots/4e20de362430cd3b72f300e6b0f18e50e7166e08'), 'meta-llama/Llama-3.2-1B');
    assert.equal(modelDisplayName('/c/hub/models--openai-community--gpt2/snapshots/abc123/onnx/model.onnx'), 'openai-community/gpt2');
    assert.equal(hubRepoOf('/c/hub/models--gpt2/snapshots/abc'), 'gpt2');
    assert.equal(hubRepoOf('/work/models--gpt2/other/abc'), undefined);
    assert.equal(modelDisplayName('/work/checkpoints/my-llama'), 'my-llama');
    assert.equal(modelDisplayName('/work/samples/tiny-gpt/model.onnx'), 'tiny-gpt');
    assert.equal(modelDisplayName('/work/exports/distilbert/onnx/model.onnx'), 'distilbert');
    assert.equal(modelDisplayName('/work/exports/bert-base-uncased.onnx'), 'bert-base-uncased');
  });

  it('a model opened from a hub-cache snapshot is titled by its repository, not by the snapshot hash', async () => {
    const root = mkdtempSync(join(tmpdir(), 'attn-names-'));
    const snap = join(root, 'hub', 'models--acme--tiny-gpt', 'snapshots', '0123456789abcdef0123456789abcdef01234567');
    mkdirSync(snap, { recursive: true });
    const src = join(repoRoot, 'samples', 'tiny-gpt');
    for (const f of readdirSync(src)) copyFileSync(join(src, f), join(snap, f));
    const m = await openModel(snap);
    try {
      assert.equal(m.info.name, 'acme/tiny-gpt');
    } finally {
      await m.dispose();
      rmSync(root, { recursive: true, force: true });
    }
    const sample = await openModel(join(src, 'model.onnx'));
    try {
      assert.equal(sample.info.name, 'tiny-gpt');
    } finally {
      await sample.dispose();
    }
  });

  it('export names: model, text, layer and head, with unsafe characters replaced', () => {
    assert.equal(exportName('acme/tiny-gpt', 'The cat sat on the mat today, said she.', 'L0-H3'), 'acme_tiny-gpt_The-cat-sat-on-the-mat_L0-H3');
    assert.equal(exportName('m', 'a/b\\c: "d" <e>|*?', 'lines-L1-H2'), 'm_a_b-c-d-e_lines-L1-H2');
    assert.equal(exportName('tiny-gpt', 'café  naïve', 'L0-H0'), 'tiny-gpt_cafe-naive_L0-H0');
    assert.equal(exportName(undefined, undefined, 'L0-H0'), 'L0-H0');
    assert.equal(exportName('', '   ', ''), 'attention');
    assert.equal(namePart('..hidden', 10), 'hidden');
    assert.ok(exportName('m'.repeat(200), 'w'.repeat(200), 'L0-H0').length <= 48 + 32 + 6 + 2);
    for (const n of [exportName('../../etc', 'x', 'L0-H0'), exportName('C:\\x', '\u0000\n', 'L0-H0')]) assert.match(n, /^[A-Za-z0-9._-]+$/);
  });
});
