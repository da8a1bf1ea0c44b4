/**
 * A config.json open in the editor, parsed with offsets (jsonc-parser) so hovers, diagnostics and
 * lenses can point at the exact key or value. Only the top-level object and a nested
 * text_config (multimodal models) hold the keys we read.
 */
import { findNodeAtOffset, getNodeValue, parseTree, type Node } from 'jsonc-parser';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { UserError } from '../../common/errors';
import { looksLikeTransformerConfig, readModelShape, type ModelShape } from '../efficiency/modelShape';
import { boundConfigText, type SkippedKey } from './boundedJson';

export interface ParsedConfig {
  root: Node;
  value: Record<string, unknown>;
  /** Property nodes by key, of the top-level object and text_config (text_config wins). */
  properties: Map<string, Node>;
  shape?: ModelShape;
  /** Why the shape could not be read (a one-line user message). */
  shapeError?: string;
  /** Keys whose values were too deep or too large to parse, read as null (boundedJson.ts). */
  skipped: SkippedKey[];
}

export function isConfigUri(uri: string): boolean {
  return /(^|[/\\])config\.json$/i.test(decodeURIComponent(uri));
}

function collect(obj: Node | undefined, into: Map<string, Node>): void {
  for (const prop of obj?.children ?? []) {
    const key = prop.children?.[0]?.value;
    if (typeof key === 'string') into.set(key, prop);
  }
}

/**
 * The last parse of each open document, by version: the editor asks for a hover on every
 * mouse move, and a large config need not be parsed again until it changes.
 */
const parsedByDocument = new WeakMap<TextDocument, { version: number; parsed: ParsedConfig | undefined }>();

/** Parses a document; undefined when it is not a transformer config. */
export function parseConfig(doc: TextDocument): ParsedConfig | undefined {
  const hit = parsedByDocument.get(doc);
  if (hit && hit.version === doc.version) return hit.parsed;
  const parsed = parseConfigNow(doc);
  parsedByDocument.set(doc, { version: doc.version, parsed });
  return parsed;
}

function parseConfigNow(doc: TextDocument): ParsedConfig | undefined {
  if (!isConfigUri(doc.uri)) return undefined;
  const bounded = boundConfigText(doc.getText());
  const root = parseTree(bounded.text, [], { allowTrailingComma: true, disallowComments: false });
  if (!root || root.type !== 'object') return undefined;
  let value: unknown;
  try {
    value = getNodeValue(root);
  } catch {
    return undefined;
  }
  if (!looksLikeTransformerConfig(value)) return undefined;
  const properties = new Map<string, Node>();
  collect(root, properties);
  const text = properties.get('text_config')?.children?.[1];
  if (text?.type === 'object') collect(text, properties);
  const parsed: ParsedConfig = { root, value: value as Record<string, unknown>, properties, skipped: bounded.skipped };
  try {
    parsed.shape = readModelShape(parsed.value, 'config.json');
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    parsed.shapeError = e.message;
  }
  return parsed;
}

/** The key under the cursor when the cursor is on a key or its value of a top-level/text_config property. */
export function keyAtOffset(parsed: ParsedConfig, offset: number): { key: string; property: Node } | undefined {
  let node = findNodeAtOffset(parsed.root, offset, true);
  while (node && node.type !== 'property') node = node.parent;
  // Walk up out of nested values (rope_scaling's fields hover as rope_scaling).
  while (node?.parent?.parent?.type === 'property' && node.parent.parent.children?.[0]?.value !== 'text_config') {
    node = node.parent.parent;
  }
  const key = node?.children?.[0]?.value;
  if (!node || typeof key !== 'string') return undefined;
  if (parsed.properties.get(key) !== node) return undefined;
  return { key, property: node };
}
