/**
 * Finding the checkpoints people have: a fake Hugging Face cache (blobs, snapshot symlinks,
 * refs/main) and a fake workspace written to a temp dir, listed by server/discovery/hubCache.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hubCacheDir, listHubCache, listModels, listWorkspace, repoIdOf } from '../../server/discovery/hubCache';

const root = mkdtempSync(join(tmpdir(), 'attn-hub-'));
const cache = join(root, 'hub');

function write(path: string, bytes: number | string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, typeof bytes === 'number' ? Buffer.alloc(bytes) : bytes);
}

/** A snapshot as huggingface_hub lays it out: files are symlinks into ../../blobs/<hash>. */
function snapshot(repo: string, rev: string, files: Record<string, number | string>): void {
  for (const [name, content] of Object.entries(files)) {
    const blob = join(cache, repo, 'blobs', `${rev}-${name.replace(/\//g, '_')}`);
    write(blob, content);
    const link = join(cache, repo, 'snapshots', rev, name);
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(blob, link);
  }
}

describe('Hugging Face cache and workspace discovery', () => {
  before(() => {
    // gpt2: two snapshots, refs/main names the older-looking one; it must win over mtime.
    snapshot('models--openai-community--gpt2', 'aaaa1111', { 'config.json': '{}', 'model.safetensors': 1000, 'tokenizer.json': '{}' });
    snapshot('models--openai-community--gpt2', 'bbbb2222', { 'config.json': '{}', 'model.safetensors': 50 });
    write(join(cache, 'models--openai-community--gpt2', 'refs', 'main'), 'aaaa1111\n');
    utimesSync(join(cache, 'models--openai-community--gpt2', 'snapshots', 'aaaa1111'), new Date(2020, 0, 1), new Date(2020, 0, 1));
    // Sharded llama without refs (copied offline): newest complete snapshot, sizes summed.
    snapshot('models--meta-llama--Llama-3.2-1B', 'cccc3333', {
      'config.json': '{}', 'model-00001-of-00002.safetensors': 300, 'model-00002-of-00002.safetensors': 200,
    });
    // An ONNX export in the cache (optimum layout) with external data.
    snapshot('models--Xenova--bert-tiny', 'dddd4444', { 'onnx/model.onnx': 70, 'onnx/model.onnx_data': 30, 'tokenizer.json': '{}' });
    // Incomplete download: config only. Datasets and stray folders are not models.
    snapshot('models--someone--partial', 'eeee5555', { 'config.json': '{}' });
    snapshot('datasets--someone--data', 'ffff6666', { 'config.json': '{}', 'x.safetensors': 10 });
    mkdirSync(join(cache, '.locks'), { recursive: true });

    const ws = join(root, 'ws');
    write(join(ws, 'exports', 'tiny', 'model.onnx'), 40);
    write(join(ws, 'exports', 'tiny', 'tokenizer.json'), '{}');
    write(join(ws, 'ckpt', 'config.json'), '{}');
    write(join(ws, 'ckpt', 'model.safetensors'), 64);
    write(join(ws, 'node_modules', 'pkg', 'model.onnx'), 10);
    write(join(ws, '.git', 'x.onnx'), 10);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('finds the cache folder the way huggingface_hub does', () => {
    assert.equal(hubCacheDir({ HF_HUB_CACHE: '/a/b', HF_HOME: '/c' }, '/home/u'), '/a/b');
    assert.equal(hubCacheDir({ HF_HOME: '/c' }, '/home/u'), '/c/hub');
    assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/x' }, '/home/u'), '/x/huggingface/hub');
    assert.equal(hubCacheDir({}, '/home/u'), '/home/u/.cache/huggingface/hub');
    assert.equal(repoIdOf('models--openai-community--gpt2'), 'openai-community/gpt2');
    assert.equal(repoIdOf('models--gpt2'), 'gpt2');
    assert.equal(repoIdOf('datasets--a--b'), undefined);
  });

  it('lists one openable snapshot per repository, refs/main first', () => {
    const models = listHubCache(cache);
    assert.deepEqual(models.map((m) => m.name), ['meta-llama/Llama-3.2-1B', 'openai-community/gpt2', 'Xenova/bert-tiny'].sort((a, b) => a.localeCompare(b)));
    const gpt2 = models.find((m) => m.name === 'openai-community/gpt2')!;
    assert.equal(gpt2.revision, 'aaaa1111');
    assert.equal(gpt2.path, join(cache, 'models--openai-community--gpt2', 'snapshots', 'aaaa1111'));
    assert.deepEqual([gpt2.format, gpt2.source, gpt2.sizeBytes, gpt2.hasTokenizer], ['huggingface', 'hub-cache', 1000, true]);
    const llama = models.find((m) => m.name === 'meta-llama/Llama-3.2-1B')!;
    assert.deepEqual([llama.revision, llama.sizeBytes, llama.hasTokenizer], ['cccc3333', 500, false]);
    const bert = models.find((m) => m.name === 'Xenova/bert-tiny')!;
    assert.equal(bert.format, 'onnx');
    assert.equal(bert.path, join(cache, 'models--Xenova--bert-tiny', 'snapshots', 'dddd4444', 'onnx', 'model.onnx'));
    assert.equal(bert.sizeBytes, 100, 'the .onnx file plus its external data');
  });

  it('falls back from a refs/main whose snapshot is gone to the newest complete one', () => {
    write(join(cache, 'models--meta-llama--Llama-3.2-1B', 'refs', 'main'), 'deadbeef');
    const llama = listHubCache(cache).find((m) => m.name === 'meta-llama/Llama-3.2-1B')!;
    assert.equal(llama.revision, 'cccc3333');
  });

  it('lists workspace ONNX files and checkpoint folders, skipping dependency and VCS folders', () => {
    const ws = join(root, 'ws');
    const models = listWorkspace(ws);
    assert.deepEqual(models.map((m) => [m.name, m.format, m.sizeBytes, m.hasTokenizer]), [
      ['ckpt', 'huggingface', 64, false],
      ['exports/tiny/model.onnx', 'onnx', 40, true],
    ]);
    assert.ok(models.every((m) => m.source === 'workspace'));
  });

  it('combines both, honouring HF_HOME, and tolerates a missing cache', () => {
    const both = listModels({ workspaceFolders: [join(root, 'ws')], env: { HF_HOME: root }, home: '/nowhere' });
    assert.equal(both.hubCacheDir, cache);
    assert.equal(both.models.length, 5);
    const none = listModels({ env: { HF_HUB_CACHE: join(root, 'missing') } });
    assert.deepEqual(none, { models: [], hubCacheDir: undefined });
    assert.equal(listModels({ hubCache: false, env: { HF_HOME: root } }).models.length, 0);
  });
});
