/**
 * The line above the grid that says when the input itself makes the maps doubtful (most of
 * the text unknown to the tokenizer). Cleared by the next capture.
 */
export class InputWarning {
  readonly el: HTMLDivElement;

  constructor(parent: HTMLElement, after: HTMLElement) {
    this.el = document.createElement('div');
    this.el.className = 'panel-warning';
    this.el.setAttribute('role', 'status');
    this.el.hidden = true;
    parent.insertBefore(this.el, after.nextSibling);
  }

  show(lines: string[] | undefined): void {
    const text = (lines ?? []).filter((l) => typeof l === 'string' && l.trim() !== '').join(' ');
    this.el.textContent = text;
    this.el.hidden = text === '';
  }
}
