/**
 * The last few captures shown in the panel, by id, so a comparison can refer to a capture that
 * is no longer the current one. main.ts hands over its own capture objects (their maps fill in
 * as layers arrive), so nothing is decoded or stored twice.
 */
import type { LayerMaps } from '../layerMaps';

export interface CaptureLike {
  id: string;
  modelName: string;
  tokens: string[];
  /** Encoder-decoder models: the keys of 'cross' layers. */
  sourceTokens?: string[];
  kinds?: ('self' | 'cross')[];
  maps: Map<number, LayerMaps>;
}

export class CaptureHistory {
  private readonly captures: CaptureLike[] = [];

  /** Keeps the `keep` latest: a comparison needs two, one more covers a capture in flight. */
  constructor(private readonly keep = 3) {}

  remember(c: CaptureLike): void {
    const i = this.captures.findIndex((x) => x.id === c.id);
    if (i >= 0) this.captures.splice(i, 1);
    this.captures.push(c);
    if (this.captures.length > this.keep) this.captures.shift();
  }

  get(id: string): CaptureLike | undefined {
    return this.captures.find((c) => c.id === id);
  }
}

/** Key tokens of a layer: the source for cross-attention, the tokens themselves otherwise. */
export function keyTokensOf(c: CaptureLike, layer: number): string[] {
  return c.kinds?.[layer] === 'cross' && c.sourceTokens ? c.sourceTokens : c.tokens;
}
