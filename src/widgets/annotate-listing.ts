/** Text and HTML fallbacks of the annotation widget (a notebook opened without the extension still lists the candidates). */
import { escapeHtml } from '../display';
import type { MatchPreview, RuleCandidate } from '../protocol';

function matchSummary(m: MatchPreview | undefined): string {
  if (!m) return '';
  return `${m.count}${m.total === undefined ? '' : ` of ${m.total}`} rows`;
}

/** Text fallback of the widget (a saved notebook opened elsewhere still lists the candidates). */
export function plainListing(title: string, candidates: RuleCandidate[]): string {
  const lines = candidates.map((c, i) => {
    const m = c.matches ? `  matches ${matchSummary(c.matches)}` : '';
    return `${i + 1}. [${c.label}] ${c.prompt}  {${c.words.join(', ')}}  (id ${c.id})${m}`;
  });
  return `${title}: ${candidates.length} candidate rules (the efflab JupyterLab extension shows the annotation widget)\n${lines.join('\n')}`;
}

/** HTML fallback: the candidates as an escaped table (their text is data, never markup). */
export function htmlListing(title: string, candidates: RuleCandidate[]): string {
  const rows = candidates
    .map((c) => {
      const examples = (c.matches?.examples ?? [])
        .slice(0, 3)
        .map(
          (e) => `<li>${e.label === undefined ? '' : `[${escapeHtml(e.label)}] `}${escapeHtml(e.text)}</li>`,
        )
        .join('');
      const matches = c.matches ? `${escapeHtml(matchSummary(c.matches))}<ul>${examples}</ul>` : '';
      return (
        `<tr><td>${escapeHtml(c.id)}</td><td>${escapeHtml(c.label)}</td><td>${escapeHtml(c.prompt)}</td>` +
        `<td>${escapeHtml(c.words.join(', '))}</td><td>${escapeHtml(c.instance)}</td><td>${matches}</td></tr>`
      );
    })
    .join('');
  return (
    `<p><b>${escapeHtml(title)}</b>: ${candidates.length} candidate rules (install the efflab JupyterLab ` +
    `extension to annotate them)</p><table><tr><th>id</th><th>label</th><th>prompt</th><th>words</th>` +
    `<th>instance</th><th>matches</th></tr>${rows}</table>`
  );
}
