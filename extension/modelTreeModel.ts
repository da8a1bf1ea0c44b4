/**
 * What the "Attention Inspector" side panel shows: models found on disk (Hugging Face cache and
 * workspace) -> their attention layers -> heads. Layers and heads are known only once the
 * runtime has opened the model, so a model that was not opened yet has no children until then.
 * No vscode import: the tree view (extension/modelTree.ts) maps these nodes to TreeItems, and
 * the logic here is unit-tested.
 */
import { resolve } from 'node:path';
import type { DiscoveredModel, ModelInfo } from '../protocol/runtime';

export type TreeNode =
  | { kind: 'model'; path: string; name: string; model?: DiscoveredModel; info?: ModelInfo }
  | { kind: 'layer'; path: string; layer: number; layerKind: 'self' | 'cross'; heads: number }
  | { kind: 'head'; path: string; layer: number; head: number }
  | { kind: 'note'; text: string };

/** What the tree view needs for one row; modelTree.ts turns it into a vscode.TreeItem. */
export interface RowView {
  label: string;
  description?: string;
  tooltip: string;
  /** Names the context menu (package.json menus view/item/context `viewItem == …`). */
  contextValue: 'model' | 'openModel' | 'layer' | 'head' | 'note';
  collapsible: boolean;
  icon: string;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(0)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} kB`;
}

const key = (p: string) => resolve(p);

export class ModelTreeModel {
  private discovered: DiscoveredModel[] = [];
  private readonly opened = new Map<string, ModelInfo>();
  /** Set while the first listing is pending or when it failed. */
  status: string | undefined = 'Looking for models…';

  setDiscovered(models: DiscoveredModel[]): void {
    this.discovered = models;
    this.status = undefined;
  }

  setStatus(text: string | undefined): void {
    this.status = text;
  }

  /** A model the runtime opened (from the tree, the palette or Browse…): its layers become known. */
  setOpened(path: string, info: ModelInfo): void {
    this.opened.set(key(path), info);
  }

  /** After a runtime restart the ids are stale; layers stay visible but must be reopened to use. */
  clearOpened(): void {
    this.opened.clear();
  }

  infoFor(path: string): ModelInfo | undefined {
    return this.opened.get(key(path));
  }

  roots(): TreeNode[] {
    const nodes: TreeNode[] = this.discovered.map((m) => ({ kind: 'model', path: m.path, name: m.name, model: m, info: this.infoFor(m.path) }));
    const listed = new Set(this.discovered.map((m) => key(m.path)));
    // Opened by Browse… (or a folder that holds model.onnx): shown too, so its layers are reachable.
    for (const [path, info] of this.opened) {
      if (!listed.has(path)) nodes.push({ kind: 'model', path, name: info.name, info });
    }
    // Nothing found: no rows, so the view's welcome content (package.json viewsWelcome) shows
    // its buttons instead; a note only while listing or when it failed.
    if (nodes.length === 0) return this.status ? [{ kind: 'note', text: this.status }] : [];
    return nodes;
  }

  children(node?: TreeNode): TreeNode[] {
    if (!node) return this.roots();
    if (node.kind === 'model') {
      const info = this.infoFor(node.path);
      if (!info) return [];
      return info.layers.map((l) => ({ kind: 'layer', path: node.path, layer: l.index, layerKind: l.kind, heads: l.heads }));
    }
    if (node.kind === 'layer') {
      return Array.from({ length: node.heads }, (_, head) => ({ kind: 'head', path: node.path, layer: node.layer, head }));
    }
    return [];
  }

  /** A stable id per row, so the view keeps expansion state across refreshes. */
  id(node: TreeNode): string {
    switch (node.kind) {
      case 'model':
        return `m:${key(node.path)}`;
      case 'layer':
        return `l:${key(node.path)}:${node.layer}`;
      case 'head':
        return `h:${key(node.path)}:${node.layer}:${node.head}`;
      case 'note':
        return `n:${node.text}`;
    }
  }

  view(node: TreeNode): RowView {
    switch (node.kind) {
      case 'model': {
        const info = this.infoFor(node.path);
        const m = node.model;
        const where = m ? (m.source === 'hub-cache' ? 'Hugging Face cache' : 'workspace') : 'opened';
        const format = (m?.format ?? info?.format) === 'onnx' ? 'ONNX' : 'safetensors';
        const parts = [format, m && m.sizeBytes > 0 ? formatBytes(m.sizeBytes) : undefined, info ? `${info.layers.length} layers × ${info.heads} heads` : undefined];
        return {
          label: node.name,
          description: parts.filter(Boolean).join(' · '),
          tooltip: [
            `${node.name} (${where})`,
            node.path,
            m?.revision ? `revision ${m.revision.slice(0, 12)}` : undefined,
            m && !m.hasTokenizer ? 'no tokenizer.json: inspect by token ids from the CLI' : undefined,
            info ? undefined : 'Open it (Inspect Text…) to list its layers and heads',
          ].filter(Boolean).join('\n'),
          contextValue: info ? 'openModel' : 'model',
          collapsible: info !== undefined && info.layers.length > 0,
          icon: m?.source === 'hub-cache' ? 'cloud-download' : format === 'ONNX' ? 'file-binary' : 'folder',
        };
      }
      case 'layer':
        return {
          label: `${node.layerKind === 'cross' ? 'Cross layer' : 'Layer'} ${node.layer}`,
          description: `${node.heads} heads`,
          tooltip: `${node.layerKind === 'cross' ? 'cross-attention (source × target)' : 'self-attention'} layer ${node.layer}, ${node.heads} heads`,
          contextValue: 'layer',
          collapsible: node.heads > 0,
          icon: 'layers',
        };
      case 'head':
        return {
          label: `Head ${node.head}`,
          description: `L${node.layer}.H${node.head}`,
          tooltip: `layer ${node.layer}, head ${node.head}: Open Head in Panel shows its map`,
          contextValue: 'head',
          collapsible: false,
          icon: 'eye',
        };
      case 'note':
        return { label: node.text, tooltip: node.text, contextValue: 'note', collapsible: false, icon: 'info' };
    }
  }
}
