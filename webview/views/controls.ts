/**
 * Labelled native form controls for the analysis views: native elements keep keyboard use and
 * screen readers working without extra code, and their values are plain to read in tests.
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, parent: HTMLElement, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  parent.appendChild(e);
  return e;
}

function labelled(parent: HTMLElement, text: string): HTMLLabelElement {
  const label = el('label', 'control', parent);
  el('span', 'control-label', label, text);
  return label;
}

export function selectControl(
  parent: HTMLElement,
  text: string,
  name: string,
  options: [string, string][],
  value: string,
  onChange: (v: string) => void,
): HTMLSelectElement {
  const s = el('select', '', labelled(parent, text));
  s.name = name;
  setOptions(s, options, value);
  s.addEventListener('change', () => onChange(s.value));
  return s;
}

export function setOptions(s: HTMLSelectElement, options: [string, string][], value: string): void {
  s.replaceChildren(
    ...options.map(([v, t]) => {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = t;
      return o;
    }),
  );
  s.value = options.some(([v]) => v === value) ? value : (options[0]?.[0] ?? '');
}

export function numberControl(
  parent: HTMLElement,
  text: string,
  name: string,
  value: number,
  opts: { min: number; max?: number; step: number },
  onChange: (v: number) => void,
): HTMLInputElement {
  const i = el('input', '', labelled(parent, text));
  i.type = 'number';
  i.name = name;
  i.min = String(opts.min);
  if (opts.max !== undefined) i.max = String(opts.max);
  i.step = String(opts.step);
  i.value = String(value);
  i.addEventListener('change', () => {
    const v = Number(i.value);
    if (Number.isFinite(v)) onChange(v);
  });
  return i;
}

export function checkboxControl(parent: HTMLElement, text: string, name: string, checked: boolean, onChange: (v: boolean) => void): HTMLInputElement {
  const label = el('label', 'control', parent);
  const i = el('input', '', label);
  i.type = 'checkbox';
  i.name = name;
  i.checked = checked;
  el('span', 'control-label', label, text);
  i.addEventListener('change', () => onChange(i.checked));
  return i;
}

/** A table row for one head whose header cell is a button that opens the head (stats and ablation tables). */
export function headRow(layer: number, head: number, open: (layer: number, head: number) => void): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.layer = String(layer);
  tr.dataset.head = String(head);
  const b = el('button', 'head-link', el('th', '', tr), `L${layer} H${head}`);
  b.type = 'button';
  b.title = `Open layer ${layer}, head ${head}`;
  b.addEventListener('click', () => open(layer, head));
  return tr;
}
