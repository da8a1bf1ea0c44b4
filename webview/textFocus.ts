/**
 * Focus for the panel's text box after a model is opened: now when the panel has the keyboard
 * (VS Code gave it focus on opening), or else the next time it gets it, so keys the user types
 * elsewhere meanwhile are never taken. The toolkit's text area keeps its <textarea> in a shadow
 * root: that element gets the focus, cursor at the end.
 */
export function textFocuser(textArea: HTMLElement): () => void {
  let pending = false;
  const focusNow = () => {
    const inner = textArea.shadowRoot?.querySelector('textarea');
    (inner ?? textArea).focus();
    if (inner) inner.setSelectionRange(inner.value.length, inner.value.length);
  };
  window.addEventListener('focus', () => {
    if (!pending) return;
    pending = false;
    focusNow();
  });
  return () => {
    if (document.hasFocus()) focusNow();
    else pending = true;
  };
}
