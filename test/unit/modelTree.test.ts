/**
 * The side panel's tree logic (extension/modelTreeModel.ts, no vscode): models -> layers ->
 * heads once a model is opened, rows and context values the menus key on, stable ids.
 */
import assert from 'node:assert/strict';
import { ModelTreeModel, formatBytes, type TreeNode } from '../../extension/modelTreeModel';
import type { DiscoveredModel, ModelInfo } from '../../protocol/runtime';

const gpt2: DiscoveredModel = { path: '/cache/models--gpt2/snapshots/abc123def4567', name: 'gpt2', format: 'huggingface', source: 'hub-cache', revision: 'abc123def4567', sizeBytes: 548 * 2 ** 20, hasTokenizer: true };
const tiny: DiscoveredModel = { path: '/ws/tiny/model.onnx', name: 'tiny/model.onnx', format: 'onnx', source: 'workspace', sizeBytes: 3000, hasTokenizer: false };
const info = (name: string, heads: number[], cross = 0): ModelInfo => ({
  modelId: 'id', name, format: 'onnx', heads: Math.max(...heads), hasTokenizer: true,
  layers: heads.map((h, index) => ({ index, kind: index >= heads.length - cross ? 'cross' : 'self', heads: h, source: `s${index}` })),
});

describe('model tree (side panel logic)', () => {
  it('shows a note until models are listed, and no rows when none are found (the welcome view shows then)', () => {
    const t = new ModelTreeModel();
    assert.deepEqual(t.roots(), [{ kind: 'note', text: 'Looking for models…' }]);
    const [note] = t.roots();
    assert.equal(t.view(note).contextValue, 'note');
    t.setDiscovered([]);
    assert.deepEqual(t.roots(), []);
    t.setStatus('Could not list models: runtime down');
    assert.deepEqual(t.roots(), [{ kind: 'note', text: 'Could not list models: runtime down' }]);
  });

  it('lists models without children until opened, then layers and heads', () => {
    const t = new ModelTreeModel();
    t.setDiscovered([gpt2, tiny]);
    const roots = t.roots();
    assert.deepEqual(roots.map((r) => (r as { name: string }).name), ['gpt2', 'tiny/model.onnx']);
    assert.deepEqual(t.children(roots[1]), []);
    const closed = t.view(roots[1]);
    assert.equal(closed.contextValue, 'model');
    assert.equal(closed.collapsible, false);
    assert.equal(closed.description, 'ONNX · 3 kB');
    assert.match(closed.tooltip, /no tokenizer\.json/);

    t.setOpened('/ws/tiny/../tiny/model.onnx', info('tiny', [4, 4, 2]));
    const model = t.roots()[1];
    const open = t.view(model);
    assert.equal(open.contextValue, 'openModel');
    assert.equal(open.collapsible, true);
    assert.equal(open.description, 'ONNX · 3 kB · 3 layers × 4 heads');
    const layers = t.children(model);
    assert.deepEqual(layers.map((l) => [(l as { layer: number }).layer, (l as { heads: number }).heads]), [[0, 4], [1, 4], [2, 2]]);
    const heads = t.children(layers[2]);
    assert.deepEqual(heads, [
      { kind: 'head', path: '/ws/tiny/model.onnx', layer: 2, head: 0 },
      { kind: 'head', path: '/ws/tiny/model.onnx', layer: 2, head: 1 },
    ]);
    assert.equal(t.view(heads[1]).contextValue, 'head');
    assert.equal(t.view(heads[1]).label, 'Head 1');
    assert.equal(t.view(heads[1]).description, 'L2.H1');
    assert.deepEqual(t.children(heads[0]), []);
  });

  it('describes hub-cache models with size and revision, and cross layers by kind', () => {
    const t = new ModelTreeModel();
    t.setDiscovered([gpt2]);
    const v = t.view(t.roots()[0]);
    assert.equal(v.description, 'safetensors · 548 MB');
    assert.equal(v.icon, 'cloud-download');
    assert.match(v.tooltip, /Hugging Face cache/);
    assert.match(v.tooltip, /revision abc123def456\b/);
    t.setOpened(gpt2.path, info('t5', [8, 8], 1));
    const [self, cross] = t.children(t.roots()[0]);
    assert.equal(t.view(self).label, 'Layer 0');
    assert.equal(t.view(cross).label, 'Cross layer 1');
    assert.match(t.view(cross).tooltip, /source × target/);
  });

  it('adds models opened elsewhere (Browse…) and gives every row a stable, unique id', () => {
    const t = new ModelTreeModel();
    t.setDiscovered([tiny]);
    t.setOpened('/elsewhere/m.onnx', info('m.onnx', [2, 2]));
    const roots = t.roots();
    assert.equal(roots.length, 2);
    const all: TreeNode[] = [];
    const walk = (n: TreeNode) => {
      all.push(n);
      t.children(n).forEach(walk);
    };
    roots.forEach(walk);
    assert.equal(all.length, 2 + 2 + 4);
    const ids = all.map((n) => t.id(n));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(t.id(all[0]), t.id(t.roots()[0]), 'same id after a refresh');
  });

  it('formats sizes', () => {
    assert.deepEqual([formatBytes(500), formatBytes(3 * 2 ** 20), formatBytes(1.5 * 2 ** 30)], ['1 kB', '3 MB', '1.5 GB']);
  });
});
