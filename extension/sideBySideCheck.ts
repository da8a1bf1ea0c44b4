/**
 * The pure parts of the side-by-side commands: whether two checkpoints can be compared head by
 * head, and the short labels of the two sides. No vscode import, so they are unit-tested.
 */
import type { ModelInfo } from '../protocol/runtime';

/** Why two models cannot be compared head by head, or undefined when they can. */
export function architectureMismatch(a: ModelInfo, b: ModelInfo): string | undefined {
  if (a.layers.length !== b.layers.length) return `${a.name} has ${a.layers.length} attention layers and ${b.name} has ${b.layers.length}`;
  for (let i = 0; i < a.layers.length; i++) {
    const la = a.layers[i];
    const lb = b.layers[i];
    if (la.heads !== lb.heads || la.kind !== lb.kind) return `layer ${i}: ${a.name} has ${la.heads} ${la.kind} heads and ${b.name} has ${lb.heads} ${lb.kind} heads`;
  }
  return undefined;
}

/** A text's start as a label: one line, at most `max` characters. */
export function textLabel(text: string, max = 40): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `“${line.slice(0, max - 1)}…”` : `“${line}”`;
}
