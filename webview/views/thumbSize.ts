/**
 * The thumbnails' size: fit to the panel's width (default), or a fixed side the user picks;
 * a grid larger than its box scrolls. Kept in the webview's state across reloads.
 */
import type { ThumbnailGrid } from '../thumbnailGrid';
import { selectControl } from './controls';

export const THUMB_SIZES: [string, string][] = [
  ['auto', 'Fit width'],
  ['32', 'Small (32 px)'],
  ['64', 'Medium (64 px)'],
  ['128', 'Large (128 px)'],
  ['192', 'Huge (192 px)'],
];

export function thumbSizeControl(parent: HTMLElement, grid: ThumbnailGrid, initial: string | undefined, save: (size: string) => void): HTMLSelectElement {
  const value = THUMB_SIZES.some(([v]) => v === initial) ? initial! : 'auto';
  const apply = (v: string) => grid.setCellSize(v === 'auto' ? undefined : Number(v));
  const s = selectControl(parent, 'Size', 'thumb-size', THUMB_SIZES, value, (v) => {
    apply(v);
    save(v);
  });
  apply(value);
  return s;
}
