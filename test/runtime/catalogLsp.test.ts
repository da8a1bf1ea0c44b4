/**
 * The catalogs as a client sees them: dist/server.js forked with --node-ipc answers
 * attention/listVariants and attention/listFamilies with the registry's and the family table's
 * entries, in order, and what it lists can be used: a listed variant id is accepted by
 * attention/estimate, an old id (lsh) is answered under its catalog id with a note.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ProtocolConnection } from 'vscode-languageserver-protocol/node';
import { ListFamiliesRequest, ListVariantsRequest } from '../../protocol/catalog';
import { EstimateRequest } from '../../protocol/efficiency';
import { FAMILIES, familyKeys } from '../../server/hf/family';
import { KV_LAYOUTS, VARIANTS } from '../../server/variants/registry';
import { repoRoot, startRuntime } from '../helpers/serverBundle';

describe('catalogs over LSP (dist/server.js)', function () {
  this.timeout(60000);
  let child: ChildProcess;
  let conn: ProtocolConnection;

  before(async () => {
    ({ child, conn } = await startRuntime());
  });
  after(() => {
    conn?.dispose();
    child?.kill();
  });

  it('attention/listVariants lists every registry variant, then the KV layouts, with paper, parameters and cost model', async () => {
    const list = await conn.sendRequest(ListVariantsRequest.type, {});
    assert.deepEqual(list.map((v) => v.id), [...VARIANTS.map((v) => v.id), ...KV_LAYOUTS.map((v) => v.id)]);
    assert.deepEqual(list.filter((v) => v.runnable).map((v) => v.id), VARIANTS.map((v) => v.id));
    const lsh = list.find((v) => v.id === 'reformer-lsh')!;
    assert.deepEqual(lsh.aliases, ['lsh']);
    assert.deepEqual(lsh.params, { buckets: 8, chunk: 64, sharedQK: 0 });
    assert.equal(lsh.cost.model, 'io');
    assert.equal(list.find((v) => v.id === 'decomposable')!.paper, 'Parikh et al. 2016, A Decomposable Attention Model for Natural Language Inference');
    for (const v of list) assert.match(v.paper, /\b(19|20)\d\d\b/, `${v.id} cites a year`);
  });

  it('attention/listFamilies lists every model_type the runtime builds, with its builder and keys', async () => {
    const list = await conn.sendRequest(ListFamiliesRequest.type, null);
    assert.deepEqual(list.map((f) => [f.modelType, f.builder]), FAMILIES.map((f) => [f.modelType, f.builder]));
    const qwen2 = list.find((f) => f.modelType === 'qwen2')!;
    assert.deepEqual(qwen2.configKeys, familyKeys(FAMILIES.find((f) => f.modelType === 'qwen2')!));
    assert.ok(qwen2.configKeys.includes('max_window_layers'));
  });

  it('every listed variant is estimated under its id; an old id is answered under the new one with a note', async () => {
    const ids = (await conn.sendRequest(ListVariantsRequest.type, {})).map((v) => v.id);
    const configPath = join(repoRoot, 'samples/configs/llama-3-8b/config.json');
    const all = await conn.sendRequest(EstimateRequest.type, { configPath, seq: 1024 });
    assert.deepEqual(Object.keys(all.variants as object), ids);
    const old = await conn.sendRequest(EstimateRequest.type, { configPath, seq: 1024, variants: ['lsh', 'sliding'] });
    assert.deepEqual(Object.keys(old.variants as object), ['reformer-lsh', 'longformer']);
    assert.ok((old.notes as string[]).some((n) => n.includes('"lsh" is now "reformer-lsh"')), String(old.notes));
  });
});
