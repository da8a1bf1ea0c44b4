/**
 * The BertViz-style views, wired to main.ts through a few calls: the head view (several heads'
 * lines over the tokens) and the model view (a small line view per layer × head).
 */
import type { LayerMaps } from '../layerMaps';
import { keyTokensOf, type CaptureLike } from './captureHistory';
import { HeadView } from './headView';
import { ModelView } from './modelView';
import './headViews.css';

export class HeadViews {
  readonly head: HeadView;
  readonly model: ModelView;

  constructor(after: Element, onSelect: (layer: number, head: number) => void) {
    const host = document.createElement('div');
    host.className = 'head-views';
    after.after(host);
    this.head = new HeadView(host);
    this.model = new ModelView(host, onSelect);
  }

  captureStarted(heads: number[]): void {
    this.head.show(undefined);
    this.model.reset(heads);
  }

  addLayer(m: LayerMaps): void {
    this.model.addLayer(m);
  }

  /** The selected head changed or its layer arrived (maps undefined: not there yet). */
  select(c: CaptureLike, layer: number, head: number, maps: LayerMaps | undefined): void {
    this.model.select(layer, head);
    this.head.show(maps && { layer, head, maps, queryTokens: c.tokens, keyTokens: keyTokensOf(c, layer) });
  }
}
