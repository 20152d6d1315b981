/**
 * danfojs DataFrames and Series as HTML tables (pandas-like markup, long frames elided in the
 * middle) and as text. Detection is structural so the library does not depend on danfojs.
 */

/** The parts of a danfojs DataFrame or Series this module reads. */
export interface FrameLike {
  index: (string | number)[];
  values: unknown[];
  columns?: string[];
  shape: number[];
  toString?: () => string;
}

/** Whether `value` looks like a danfojs DataFrame or Series. */
export function isFrameLike(value: unknown): value is FrameLike {
  if (typeof value !== 'object' || value === null) return false;
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  if (name !== 'DataFrame' && name !== 'Series') return false;
  const v = value as Partial<FrameLike>;
  return Array.isArray(v.index) && Array.isArray(v.values) && Array.isArray(v.shape);
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function cell(value: unknown): string {
  if (value === null || value === undefined || (typeof value === 'number' && Number.isNaN(value)))
    return 'NaN';
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  return String(value);
}

/** Rows to show: all when short, else the first and last `edge` with a gap marker (-1). */
function visibleRows(count: number, maxRows: number): number[] {
  if (count <= maxRows) return Array.from({ length: count }, (_, i) => i);
  const edge = Math.floor(maxRows / 2);
  return [
    ...Array.from({ length: edge }, (_, i) => i),
    -1,
    ...Array.from({ length: edge }, (_, i) => count - edge + i),
  ];
}

/** An HTML table for a frame or series (at most `maxRows` rows shown). */
export function frameToHtml(frame: FrameLike, maxRows = 40): string {
  const isSeries = !Array.isArray(frame.columns);
  const columns = isSeries ? ['0'] : (frame.columns as string[]);
  const rows = frame.values.map((row) => (isSeries ? [row] : Array.isArray(row) ? row : [row]));
  const head = `<thead><tr style="text-align: right;"><th></th>${columns.map((c) => `<th>${escapeHtml(String(c))}</th>`).join('')}</tr></thead>`;
  const body = visibleRows(rows.length, maxRows)
    .map((i) =>
      i < 0
        ? `<tr><th>…</th>${columns.map(() => '<td>…</td>').join('')}</tr>`
        : `<tr><th>${escapeHtml(String(frame.index[i]))}</th>${rows[i].map((v) => `<td>${escapeHtml(cell(v))}</td>`).join('')}</tr>`,
    )
    .join('');
  const shape = isSeries ? `${rows.length} rows` : `${rows.length} rows × ${columns.length} columns`;
  return `<div><table border="1" class="dataframe">${head}<tbody>${body}</tbody></table><p>${shape}</p></div>`;
}

/** Plain-text table for a frame or series. */
export function frameToText(frame: FrameLike, maxRows = 40): string {
  const isSeries = !Array.isArray(frame.columns);
  const columns = isSeries ? [''] : (frame.columns as string[]);
  const rows = frame.values.map((row) => (isSeries ? [row] : Array.isArray(row) ? row : [row]));
  const lines: string[][] = [['', ...columns.map(String)]];
  for (const i of visibleRows(rows.length, maxRows)) {
    lines.push(i < 0 ? ['…', ...columns.map(() => '…')] : [String(frame.index[i]), ...rows[i].map(cell)]);
  }
  const widths = lines[0].map((_, c) => Math.max(...lines.map((l) => (l[c] ?? '').length)));
  const text = lines.map((l) => l.map((v, c) => v.padStart(widths[c])).join('  ')).join('\n');
  return `${text}\n\n[${rows.length} rows${isSeries ? '' : ` x ${columns.length} columns`}]`;
}
