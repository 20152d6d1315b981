/**
 * Element helpers that only ever set text: everything shown by the widgets (rule prompts, words, instances,
 * labels, layer names) comes from datasets or model output and must never be parsed as HTML.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A button with a text label and a title (the tooltip names the keyboard shortcut). */
export function button(label: string, title: string, onClick: () => void, className = ''): HTMLButtonElement {
  const b = el('button', `efflab-btn jp-Button ${className}`.trim(), label);
  b.type = 'button';
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}
