/**
 * The token strip's two readings of a hover (CircuitsVis has both): "looks from" paints the
 * weights the hovered token, as a query, gives every key; "attended by" paints the weight every
 * query gives the hovered token, as a key. A hovered heatmap cell follows the same choice (its
 * query or its key).
 */
import type { TokenStrip } from '../tokenStrip';

export function hoverDirectionToggle(parent: HTMLElement, strip: TokenStrip): HTMLElement {
  const box = document.createElement('div');
  box.className = 'hover-direction';
  box.setAttribute('role', 'radiogroup');
  box.setAttribute('aria-label', 'What a hovered token shows');
  const hint = parent.querySelector('.hint');
  const texts = {
    from: 'Hover a token (or a heatmap cell) to see where the selected head looks from it.',
    to: 'Hover a token (or a heatmap cell) to see which tokens attend to it in the selected head.',
  };
  for (const [value, label] of [['from', 'looks from'], ['to', 'attended by']] as const) {
    const l = document.createElement('label');
    const r = document.createElement('input');
    r.type = 'radio';
    r.name = 'hover-direction';
    r.value = value;
    r.checked = value === strip.getDirection();
    r.addEventListener('change', () => {
      if (!r.checked) return;
      strip.setDirection(value);
      if (hint) hint.textContent = texts[value];
    });
    l.append(r, ` ${label}`);
    box.appendChild(l);
  }
  parent.appendChild(box);
  return box;
}
