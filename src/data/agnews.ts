/**
 * AG News for PRBoost (thesis chapter 2): rows with both the raw text (what the WRENCH keyword rules match)
 * and the cleaned text (what the models read), the nine keyword rules, and fixed-seed stratified splits
 * into test / D_l / D_v / D_u (section 2.5.1: |D_v| = |D_l|).
 */
import * as fs from 'node:fs';
import { FileFormatError, ValueError } from '../errors';
import { AG_NEWS_LABELS, cleanAgNewsText } from './datasets';
import { dataPath } from './paths';
import { readCsvRows } from './readers';

/** One AG News row. `label` is the 0-based class (0 World, 1 Sports, 2 Business, 3 Sci/Tech). */
export interface AgNewsItem {
  /** Row number in test.csv (0-based, header excluded). */
  readonly row: number;
  readonly label: number;
  /** Cleaned `title. description` for the LM and the encoder. */
  readonly text: string;
  /** Lower-cased raw `title description` (escapes kept), the string the keyword rules search. */
  readonly matchText: string;
}

/** Class names in label order. */
export const AGNEWS_CLASSES: readonly string[] = AG_NEWS_LABELS;

/** Leftover HTML entities of the release (`quot;`, `amp;`, `lt;`, `gt;`) back to their characters. */
function tidy(s: string): string {
  const map: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>' };
  return s.replace(/&?\b(quot|amp|lt|gt);/g, (_, name: string) => map[name]);
}

/** AG News test.csv as PRBoost items (7,600 rows). */
export function loadAgNewsItems(file = dataPath('ag_news', 'test.csv')): AgNewsItem[] {
  return readCsvRows(file, { dynamicTyping: false }).map((r, i) => {
    const label = Number(r.label);
    if (![1, 2, 3, 4].includes(label)) {
      throw new FileFormatError(`${file}: row ${i + 2} has label ${JSON.stringify(r.label)}, not 1-4`);
    }
    const title = String(r.title ?? '');
    const description = String(r.description ?? '');
    const t = tidy(cleanAgNewsText(title));
    const d = tidy(cleanAgNewsText(description));
    return {
      row: i,
      label: label - 1,
      text: /[.!?]$/.test(t) || t.length === 0 ? `${t} ${d}`.trim() : `${t}. ${d}`,
      matchText: `${title} ${description}`.toLowerCase(),
    };
  });
}

/** One WRENCH keyword rule: fires when any keyword is a substring of the lower-cased raw text. */
export interface KeywordRule {
  readonly id: string;
  /** 0-based class. */
  readonly label: number;
  readonly keywords: readonly string[];
}

/** Parses and checks a keyword-rules document (`{rules: [{id, label (1-4), keywords}]}`); `source` names it in errors. */
export function parseKeywordRules(doc: unknown, source: string): KeywordRule[] {
  const rules = (doc as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) throw new FileFormatError(`${source}: expected an object with a "rules" array`);
  const seen = new Set<string>();
  return rules.map((raw: unknown, i: number) => {
    const r = (raw ?? {}) as { id?: unknown; label?: unknown; keywords?: unknown };
    if (typeof r.id !== 'string' || r.id.length === 0)
      throw new FileFormatError(`${source}: rules[${i}] has no string id`);
    if (seen.has(r.id)) throw new FileFormatError(`${source}: rule id "${r.id}" appears twice`);
    seen.add(r.id);
    if (typeof r.label !== 'number' || ![1, 2, 3, 4].includes(r.label)) {
      throw new ValueError(`${source}: rule "${r.id}" has unknown label ${JSON.stringify(r.label)} (1-4)`);
    }
    if (!Array.isArray(r.keywords) || r.keywords.length === 0)
      throw new ValueError(`${source}: rule "${r.id}" has no keywords`);
    const keywords = r.keywords.map((k: unknown, j: number) => {
      if (typeof k !== 'string' || k.length === 0)
        throw new ValueError(`${source}: rule "${r.id}" keyword ${j} is not a non-empty string`);
      return k.toLowerCase();
    });
    return { id: r.id, label: r.label - 1, keywords };
  });
}

/** The nine WRENCH keyword rules from `ag_news/keyword_rules.json` (or another file of that layout). */
export function loadKeywordRules(file = dataPath('ag_news', 'keyword_rules.json')): KeywordRule[] {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FileFormatError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseKeywordRules(doc, file);
}

/** Split sizes as fractions of all rows. */
export interface SplitOptions {
  seed?: number;
  /** Held-out test share (default 0.25). */
  test?: number;
  /** Clean labelled D_l share (default 0.02; the thesis used 0.005 on AG News). D_v gets as many rows. */
  labelled?: number;
}

/** Indices into the item array of each split. */
export interface AgNewsSplits {
  readonly seed: number;
  readonly test: number[];
  readonly labelled: number[];
  readonly validation: number[];
  readonly unlabelled: number[];
}

/** Mulberry32: a small seeded generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Per-class counts summing to round(share·N), by largest remainder (ties to the lower class). */
function apportion(classSizes: readonly number[], share: number): number[] {
  const total = classSizes.reduce((a, b) => a + b, 0);
  const target = Math.round(share * total);
  const exact = classSizes.map((n) => share * n);
  const counts = exact.map(Math.floor);
  const order = exact.map((e, c) => [e - Math.floor(e), c]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let i = 0; counts.reduce((a, b) => a + b, 0) < target; i++) counts[order[i][1]]++;
  return counts;
}

/** Fixed-seed stratified test / D_l / D_v / D_u split (section 2.5.1). */
export function stratifiedSplits(labels: readonly number[], options: SplitOptions = {}): AgNewsSplits {
  const seed = options.seed ?? 0;
  const testShare = options.test ?? 0.25;
  const labShare = options.labelled ?? 0.02;
  if (!(testShare > 0 && labShare > 0 && testShare + 2 * labShare < 1)) {
    throw new ValueError(
      `stratifiedSplits: test ${testShare} + 2 × labelled ${labShare} must leave rows for D_u`,
    );
  }
  const classes = Math.max(...labels) + 1;
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  labels.forEach((y, i) => byClass[y].push(i));
  const sizes = byClass.map((c) => c.length);
  const nTest = apportion(sizes, testShare);
  const nLab = apportion(sizes, labShare);
  const rand = seededRandom(seed);
  const out = {
    test: [] as number[],
    labelled: [] as number[],
    validation: [] as number[],
    unlabelled: [] as number[],
  };
  byClass.forEach((idx, c) => {
    const s = shuffled(idx, rand);
    out.test.push(...s.slice(0, nTest[c]));
    out.labelled.push(...s.slice(nTest[c], nTest[c] + nLab[c]));
    out.validation.push(...s.slice(nTest[c] + nLab[c], nTest[c] + 2 * nLab[c]));
    out.unlabelled.push(...s.slice(nTest[c] + 2 * nLab[c]));
  });
  const sort = (a: number[]): number[] => a.sort((x, y) => x - y);
  return {
    seed,
    test: sort(out.test),
    labelled: sort(out.labelled),
    validation: sort(out.validation),
    unlabelled: sort(out.unlabelled),
  };
}
