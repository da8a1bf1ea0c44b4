/**
 * The colour controls above the head grid: which scale (viridis, cividis, greys) and whether the
 * thumbnails share one scale or each head is scaled to its own maximum. Native selects keep
 * keyboard use and screen readers working; the choices live in PanelState so a reload keeps
 * them. Also writes the legend line, which states both choices.
 */
import { SCALE_NAMES, type ScaleName } from './colorScale';
import type { ColorMode } from './thumbnailGrid';
import { selectControl } from './views/controls';

export interface ScaleChoice {
  scale: ScaleName;
  colorMode: ColorMode;
}

const SCALE_LABELS: Record<ScaleName, string> = {
  viridis: 'Viridis',
  cividis: 'Cividis (colour-blind safe)',
  greys: 'Greys (print, high contrast)',
};

/** A stored choice, with anything unknown (older or hand-edited state) replaced by the default. */
export function normaliseChoice(s: { scale?: string; colorMode?: string }): ScaleChoice {
  return {
    scale: SCALE_NAMES.includes(s.scale as ScaleName) ? (s.scale as ScaleName) : 'viridis',
    colorMode: s.colorMode === 'perHead' ? 'perHead' : 'shared',
  };
}

export class ScaleControls {
  readonly el: HTMLElement;
  private readonly scaleSelect: HTMLSelectElement;
  private readonly modeSelect: HTMLSelectElement;

  constructor(parent: HTMLElement, before: HTMLElement, choice: ScaleChoice, onChange: (c: ScaleChoice) => void) {
    this.el = document.createElement('div');
    this.el.className = 'scale-controls';
    parent.insertBefore(this.el, before);
    const changed = () => onChange(this.value());
    this.scaleSelect = selectControl(this.el, 'Colours', 'colour-scale', SCALE_NAMES.map((n) => [n, SCALE_LABELS[n]]), choice.scale, changed);
    this.modeSelect = selectControl(
      this.el,
      'Thumbnails',
      'colour-mode',
      [
        ['shared', 'Shared scale'],
        ['perHead', 'Per head'],
      ],
      choice.colorMode,
      changed,
    );
  }

  value(): ScaleChoice {
    return normaliseChoice({ scale: this.scaleSelect.value, colorMode: this.modeSelect.value });
  }

  set(choice: ScaleChoice): void {
    this.scaleSelect.value = choice.scale;
    this.modeSelect.value = choice.colorMode;
  }
}

/** The legend under the grid: scale, square-root mapping, thumbnail scaling and pooling. */
export function legendText(choice: ScaleChoice, sharedMax: number, tokensPerPixel: number): string {
  const scaling =
    choice.colorMode === 'perHead'
      ? 'Thumbnails: each head scaled to its own largest weight; the heatmap shows 0 to 1.'
      : `Thumbnails: all heads on one scale, 0 to ${sharedMax.toFixed(3)} (the largest weight).`;
  const base = `Colour: attention weight (${choice.scale} on a square-root scale, as in the heatmap). ${scaling}`;
  if (tokensPerPixel <= 1) return base;
  return `${base} Each thumbnail pixel shows the largest weight of a ${tokensPerPixel.toFixed(1)} × ${tokensPerPixel.toFixed(1)} token block.`;
}
