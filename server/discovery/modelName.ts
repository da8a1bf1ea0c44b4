/**
 * What a model is called on screen (panel title, Models tree, exports): a Hugging Face cache
 * snapshot by its repository ("org/name", as hub-cache discovery lists it), not by its commit
 * hash; anything else by its folder, or by its file name when a lone .onnx file has one of its
 * own (model.onnx says nothing, so its folder names it).
 */
import { basename, dirname, resolve, sep } from 'node:path';
import { repoIdOf } from './hubCache';

/** The repository id of a path inside `models--org--name/snapshots/<rev>/`, if it is one. */
export function hubRepoOf(path: string): string | undefined {
  const parts = resolve(path).split(sep);
  for (let i = parts.length - 3; i >= 0; i--) {
    if (parts[i + 1] === 'snapshots' && parts[i + 2]) {
      const repo = repoIdOf(parts[i]);
      if (repo) return repo;
    }
  }
  return undefined;
}

export function modelDisplayName(path: string): string {
  const repo = hubRepoOf(path);
  if (repo) return repo;
  const abs = resolve(path);
  if (!abs.toLowerCase().endsWith('.onnx')) return basename(abs);
  const stem = basename(abs).replace(/\.onnx$/i, '');
  if (stem !== 'model') return stem;
  // Optimum's layout keeps model.onnx in onnx/: the checkpoint folder above names it.
  const dir = dirname(abs);
  return basename(dir) === 'onnx' ? basename(dirname(dir)) : basename(dir);
}
