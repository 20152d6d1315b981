/** The project's real datasets (AG News, HH-RLHF harmless-base) as typed records. */
import { dataPath } from './paths';
import { FileFormatError } from '../errors';
import { readCsvRows, readJsonlRows } from './readers';

export interface AgNewsRow {
  /** 1 World, 2 Sports, 3 Business, 4 Sci/Tech. */
  label: 1 | 2 | 3 | 4;
  title: string;
  description: string;
}

export const AG_NEWS_LABELS = ['World', 'Sports', 'Business', 'Sci/Tech'] as const;

/** Undo the original release's escapes (`#36;` → `$`, `\` line joins) in AG News text. */
export function cleanAgNewsText(s: string): string {
  return s
    .replace(/#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/\\+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** AG News test split (7,600 rows) from `<data>/ag_news/test.csv`, text cleaned. */
export function loadAgNews(): AgNewsRow[] {
  const file = dataPath('ag_news', 'test.csv');
  return readCsvRows(file, { dynamicTyping: false }).map((r, i) => {
    const label = Number(r.label);
    if (![1, 2, 3, 4].includes(label))
      throw new FileFormatError(`${file}: row ${i + 2} has label ${String(r.label)}`);
    return {
      label: label as AgNewsRow['label'],
      title: cleanAgNewsText(String(r.title ?? '')),
      description: cleanAgNewsText(String(r.description ?? '')),
    };
  });
}

export interface PreferencePair {
  chosen: string;
  rejected: string;
}

/** HH-RLHF harmless-base test pairs from `<data>/hh_rlhf/harmless-base-test.jsonl.gz`. */
export function loadHhRlhf(): PreferencePair[] {
  const file = dataPath('hh_rlhf', 'harmless-base-test.jsonl.gz');
  return readJsonlRows(file).map((r, i) => {
    if (typeof r.chosen !== 'string' || typeof r.rejected !== 'string') {
      throw new FileFormatError(`${file}: line ${i + 1} lacks string fields "chosen" and "rejected"`);
    }
    return { chosen: r.chosen, rejected: r.rejected };
  });
}
