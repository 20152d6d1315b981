/**
 * The annotation card's "rows this rule would label" box: the count a candidate (with its kept words) matches
 * and a few example rows. Row text is dataset text: it is inserted as text, never as markup.
 */
import { el } from './dom';
import type { MatchPreview } from '../../src/protocol';

/** Example rows shown per candidate (more travel in the preview; the list scrolls). */
const SHOWN_EXAMPLES = 5;

/** The rows a candidate would label with its kept words: the count and a few examples (as text). */
export function matchesView(m: MatchPreview | undefined, canAsk: boolean): HTMLElement {
  const box = el('div', 'efflab-ann-matches');
  if (!m) {
    box.append(
      el(
        'div',
        'efflab-ann-caption',
        canAsk
          ? 'Rows this rule would label: asking the kernel…'
          : 'Rows this rule would label: not supplied by the cell',
      ),
    );
    return box;
  }
  box.dataset.count = String(m.count);
  const of = m.total === undefined ? '' : ` of ${m.total}`;
  box.append(
    el('div', 'efflab-ann-caption', `Would label ${m.count}${of} rows${m.count ? '; for example:' : ''}`),
  );
  const list = el('ul', 'efflab-ann-examples');
  for (const ex of m.examples.slice(0, SHOWN_EXAMPLES)) {
    const li = el('li', 'efflab-ann-example');
    if (ex.label !== undefined)
      li.append(el('span', 'efflab-ann-label', ex.label), document.createTextNode(' '));
    li.append(document.createTextNode(ex.text));
    list.append(li);
  }
  box.append(list);
  return box;
}
