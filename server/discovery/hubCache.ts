/**
 * The checkpoints people already have: the local Hugging Face cache and the workspace. Only
 * directory listings and file sizes are read, so listing is cheap and never loads weights.
 *
 * Hub cache layout (huggingface_hub):
 *   <cache>/models--<org>--<name>/refs/main            the commit hash "main" points at
 *   <cache>/models--<org>--<name>/snapshots/<hash>/    config.json, *.safetensors (links to blobs)
 * The snapshot refs/main names is the current one; without refs (offline copies) the newest
 * complete snapshot stands in.
 */
import { existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { specialKind } from '../regularFile';
import { homedir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import type { DiscoveredModel } from '../../protocol/runtime';

/** Folders never searched in a workspace: dependency trees and VCS data hold no user models. */
const SKIP_DIRS = new Set(['node_modules', '.git', '.hg', '.svn', '.venv', 'venv', '__pycache__', '.cache', 'dist', 'out']);
const MAX_DEPTH = 6;
const MAX_ENTRIES = 20000;

/** HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub (huggingface_hub's order). */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  if (env.HF_HUB_CACHE) return resolve(env.HF_HUB_CACHE);
  if (env.HF_HOME) return join(resolve(env.HF_HOME), 'hub');
  const xdg = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(home, '.cache');
  return join(xdg, 'huggingface', 'hub');
}

function list(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Size of a file, following the snapshot's symlinks to their blobs; 0 for a dangling link. */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const hasTokenizerFile = (dir: string) => isFile(join(dir, 'tokenizer.json'));

/** What a folder holds as a model: a Hugging Face checkpoint or an ONNX export, else nothing. */
export function modelInFolder(dir: string): { format: 'huggingface' | 'onnx'; path: string; sizeBytes: number } | undefined {
  const names = list(dir).map((e) => e.name);
  const tensors = names.filter((n) => n.endsWith('.safetensors'));
  if (names.includes('config.json') && tensors.length > 0) {
    const sizeBytes = tensors.reduce((s, n) => s + sizeOf(join(dir, n)), 0);
    // A snapshot whose blobs are missing (interrupted download) cannot be opened.
    if (sizeBytes > 0) return { format: 'huggingface', path: dir, sizeBytes };
  }
  for (const candidate of ['model.onnx', join('onnx', 'model.onnx')]) {
    const file = join(dir, candidate);
    if (isFile(file)) return { format: 'onnx', path: file, sizeBytes: onnxBytes(file) };
  }
  return undefined;
}

/** An .onnx file plus its external data (model.onnx_data / *.onnx.data beside it). */
function onnxBytes(file: string): number {
  return sizeOf(file) + sizeOf(`${file}_data`) + sizeOf(`${file}.data`);
}

function readRef(repoDir: string, ref: string): string | undefined {
  try {
    // A FIFO planted as refs/main would block the scan forever on open: skipped like a missing ref.
    if (specialKind(join(repoDir, 'refs', ref)) !== undefined) return undefined;
    const hash = readFileSync(join(repoDir, 'refs', ref), 'utf8').trim();
    return /^[0-9a-f]{6,64}$/i.test(hash) ? hash : undefined;
  } catch {
    return undefined;
  }
}

/** "models--openai-community--gpt2" -> "openai-community/gpt2"; "models--gpt2" -> "gpt2". */
export function repoIdOf(folderName: string): string | undefined {
  if (!folderName.startsWith('models--')) return undefined;
  const parts = folderName.slice('models--'.length).split('--');
  return parts.every((p) => p.length > 0) ? parts.join('/') : undefined;
}

/** One entry per cached model repository that holds an openable snapshot. */
export function listHubCache(cacheDir: string): DiscoveredModel[] {
  const found: DiscoveredModel[] = [];
  for (const repo of list(cacheDir)) {
    const name = repoIdOf(repo.name);
    if (!name || !repo.isDirectory()) continue;
    const repoDir = join(cacheDir, repo.name);
    const snapshotsDir = join(repoDir, 'snapshots');
    const main = readRef(repoDir, 'main');
    const revisions = list(snapshotsDir).filter((e) => e.isDirectory()).map((e) => e.name);
    // refs/main first; the others newest first, so an offline copy without refs still shows.
    const byAge = revisions
      .filter((r) => r !== main)
      .sort((a, b) => mtimeOf(join(snapshotsDir, b)) - mtimeOf(join(snapshotsDir, a)));
    const ordered = main && revisions.includes(main) ? [main, ...byAge] : byAge;
    for (const revision of ordered) {
      const model = modelInFolder(join(snapshotsDir, revision));
      if (!model) continue;
      const dir = join(snapshotsDir, revision);
      found.push({ ...model, name, source: 'hub-cache', revision, hasTokenizer: hasTokenizerFile(dir) });
      break;
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * ONNX files and checkpoint folders under a workspace folder, breadth first, bounded in depth
 * and in entries read so a huge workspace cannot stall the runtime.
 */
export function listWorkspace(root: string): DiscoveredModel[] {
  const found: DiscoveredModel[] = [];
  const seen = new Set<string>();
  const queue: { dir: string; depth: number }[] = [{ dir: resolve(root), depth: 0 }];
  let entries = 0;
  const add = (path: string, format: DiscoveredModel['format'], sizeBytes: number, dir: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    const rel = relative(resolve(root), path) || basename(path);
    found.push({ path, name: rel.split('\\').join('/'), format, source: 'workspace', sizeBytes, hasTokenizer: hasTokenizerFile(dir) });
  };
  while (queue.length > 0 && entries < MAX_ENTRIES) {
    const { dir, depth } = queue.shift()!;
    const items = list(dir);
    entries += items.length;
    const names = items.map((e) => e.name);
    if (names.includes('config.json') && names.some((n) => n.endsWith('.safetensors'))) {
      const m = modelInFolder(dir);
      if (m?.format === 'huggingface') add(dir, 'huggingface', m.sizeBytes, dir);
    }
    for (const e of items) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < MAX_DEPTH && !SKIP_DIRS.has(e.name) && !e.name.startsWith('.')) queue.push({ dir: p, depth: depth + 1 });
      } else if (e.name.toLowerCase().endsWith('.onnx')) {
        add(p, 'onnx', onnxBytes(p), dir);
      }
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

export interface ListOptions {
  workspaceFolders?: string[];
  hubCache?: boolean;
  env?: NodeJS.ProcessEnv;
  home?: string;
}

export function listModels(o: ListOptions = {}): { models: DiscoveredModel[]; hubCacheDir?: string } {
  const models: DiscoveredModel[] = [];
  let cacheDir: string | undefined;
  if (o.hubCache !== false) {
    const dir = hubCacheDir(o.env, o.home);
    if (existsSync(dir)) {
      cacheDir = dir;
      models.push(...listHubCache(dir));
    }
  }
  for (const root of o.workspaceFolders ?? []) models.push(...listWorkspace(root));
  return { models, hubCacheDir: cacheDir };
}
