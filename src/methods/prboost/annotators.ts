/**
 * Headless annotators (CI, benchmarks). The thesis had three people accept or reject each candidate and
 * majority-voted their answers (§2.5.1). Here a simulated annotator follows a stated rule that looks only
 * at clean labelled data: keep a proposed word when its single-word rule — "the word is associated with
 * the row → the candidate's label" — is at least `minPrecision` precise over at least `minMatches`
 * associated rows of D_l ∪ D_v; accept the candidate when it keeps a word. What "associated" means is the
 * `AnnotatorEvidence`: the word occurs in the row's text ('text'), the LM proposes it for the row's prompt
 * — it is in the row's own top-k vocabulary V_u, which is how an accepted rule reaches a row through
 * Eq. 2.6 ('lm', the presets' choice) — or either ('text+lm'). Judging words by text alone accepts words the
 * matcher then uses through V_u, where they can be far less precise (measured on AG News with SmolLM2:
 * "law" → World is precise in the text of D_l ∪ D_v but only ≈ 0.3 precise as an LM-vocabulary word). An annotator with `errorRate` e slips on a
 * candidate with probability e and gives the opposite verdict (a careless accept keeps all the words); the
 * slips are seeded per annotator and candidate, so a re-run gives the same answers. A pool of three with different error rates is majority-voted; Fleiss' κ measures their
 * agreement (Eq. B.1).
 */
import { annotateRules, annotationAgreement, type AnnotatorFunction, type Decision } from '../../widgets';
import { textKey } from './cache';
import { ValueError } from '../../errors';
import type { CandidateRule } from './candidates';
import { toWidgetCandidates } from './candidates';

/** The stated rule of a simulated annotator. */
export interface SimulatedAnnotatorOptions {
  /** Stored name of its decisions. */
  name: string;
  /** Minimum precision of a word's single-word rule on the clean data (default 0.8). */
  minPrecision?: number;
  /** Minimum rows it must match there (default 3). */
  minMatches?: number;
  /** Probability of a slip on a candidate: the verdict turns over, a careless accept keeps every word (default 0). */
  errorRate?: number;
  seed?: number;
}

/** Which rows a word counts as associated with when a simulated annotator checks its precision. */
export type AnnotatorEvidence = 'text' | 'lm' | 'text+lm';

export const ANNOTATOR_EVIDENCE: readonly AnnotatorEvidence[] = ['text', 'lm', 'text+lm'];

/**
 * Word → rows of the clean set associated with it: the lower-cased text contains it as a word, and/or it is
 * among the row's LM words (`vocab[i]`, the row's V_u), per `evidence`.
 */
export class WordIndex {
  private readonly rows = new Map<string, number[]>();

  constructor(
    texts: readonly string[],
    readonly labels: readonly number[],
    vocab?: readonly (readonly string[])[],
    readonly evidence: AnnotatorEvidence = vocab ? 'text+lm' : 'text',
  ) {
    if (texts.length !== labels.length)
      throw new ValueError(`WordIndex: ${texts.length} texts, ${labels.length} labels`);
    if (!ANNOTATOR_EVIDENCE.includes(evidence))
      throw new ValueError(
        `WordIndex: unknown evidence "${String(evidence)}" (${ANNOTATOR_EVIDENCE.join(', ')})`,
      );
    if (evidence !== 'text' && (!vocab || vocab.length !== texts.length))
      throw new ValueError(
        `WordIndex: evidence "${evidence}" needs the LM words of every row (${vocab?.length ?? 0} for ${texts.length} rows)`,
      );
    texts.forEach((t, i) => {
      const words = new Set<string>();
      if (evidence !== 'lm') for (const w of t.toLowerCase().match(/[a-z][a-z-]*[a-z]/g) ?? []) words.add(w);
      if (evidence !== 'text') for (const w of vocab![i]) words.add(w.toLowerCase());
      for (const w of words) {
        const list = this.rows.get(w) ?? [];
        list.push(i);
        this.rows.set(w, list);
      }
    });
  }

  /** Matches and precision of the single-word rule "word → label". */
  wordRule(word: string, label: number): { matches: number; precision: number } {
    const r = this.rows.get(word.toLowerCase()) ?? [];
    const hits = r.filter((i) => this.labels[i] === label).length;
    return { matches: r.length, precision: r.length ? hits / r.length : 0 };
  }
}

/** A deterministic uniform number in [0, 1) from a string. */
function unitHash(s: string): number {
  return parseInt(textKey(s).slice(0, 12), 16) / 2 ** 48;
}

/** A simulated annotator for `annotateRules` (see the module comment for its rule). */
export function simulatedAnnotator(
  index: WordIndex,
  classNames: readonly string[],
  options: SimulatedAnnotatorOptions,
): AnnotatorFunction {
  const p = options.minPrecision ?? 0.8;
  const m = options.minMatches ?? 3;
  const e = options.errorRate ?? 0;
  const seed = options.seed ?? 0;
  return (c) => {
    const label = classNames.indexOf(c.label);
    if (label < 0)
      throw new ValueError(`simulated annotator: candidate "${c.id}" has unknown label "${c.label}"`);
    const good = c.words.filter((w) => {
      const r = index.wordRule(w, label);
      return r.matches >= m && r.precision >= p;
    });
    const verdict = good.length > 0;
    // A slip turns the verdict over: a careless accept keeps every proposed word.
    const slip = unitHash(`${options.name}|${seed}|${c.id}`) < e;
    if (verdict !== slip) return { verdict: 'accept', keptWords: slip ? [...c.words] : good };
    return { verdict: 'reject', keptWords: [] };
  };
}

/** The pool's outcome on one batch of candidates. */
export interface PoolResult {
  /** Accepted candidates with the words a majority kept. */
  accepted: CandidateRule[];
  decisions: Decision[];
  /** Fleiss' κ of accept / reject over the batch (NaN with fewer than two annotators). */
  kappa: number;
  pBar: number;
  pBarE: number;
  /** Seconds per decision, as logged. */
  secondsPerDecision: number;
}

/** Majority vote of several annotators' decisions on the same candidates (a word is kept by a majority). */
export function majorityVote(
  cands: readonly CandidateRule[],
  decisions: readonly Decision[],
  annotators: readonly string[],
): CandidateRule[] {
  const need = Math.floor(annotators.length / 2) + 1;
  return cands.flatMap((c) => {
    const mine = decisions.filter((d) => d.candidateId === c.id && annotators.includes(d.annotator));
    const accepts = mine.filter((d) => d.verdict === 'accept');
    if (accepts.length < need) return [];
    const words = c.words.filter((w) => accepts.filter((d) => d.keptWords.includes(w)).length >= need);
    return words.length ? [{ ...c, words }] : [];
  });
}

/**
 * Runs each annotator function through `annotateRules` (decisions persisted in `store` under `dir`, so a
 * re-run resumes), majority-votes and measures agreement.
 */
export async function annotatePool(
  cands: readonly CandidateRule[],
  annotators: readonly { name: string; judge: AnnotatorFunction }[],
  classNames: readonly string[],
  options: { store?: string; dir?: string } = {},
): Promise<PoolResult> {
  if (cands.length === 0)
    return { accepted: [], decisions: [], kappa: NaN, pBar: NaN, pBarE: NaN, secondsPerDecision: 0 };
  const widget = toWidgetCandidates(cands, classNames);
  const decisions: Decision[] = [];
  const started = Date.now();
  for (const a of annotators) {
    const r = await annotateRules(widget, {
      annotator: a.judge,
      name: a.name,
      store: options.store,
      dir: options.dir,
    });
    decisions.push(...r.decisions);
  }
  const names = annotators.map((a) => a.name);
  let kappa = NaN;
  let pBar = NaN;
  let pBarE = NaN;
  if (names.length >= 2) {
    const k = annotationAgreement(decisions, names);
    ({ kappa, pBar, pBarE } = k);
  }
  return {
    accepted: majorityVote(cands, decisions, names),
    decisions,
    kappa,
    pBar,
    pBarE,
    secondsPerDecision: (Date.now() - started) / 1000 / Math.max(1, decisions.length),
  };
}

/** κ = (P̄ − P̄e)/(1 − P̄e) from its two ingredients (Eq. B.1). */
export function kappaFromAgreement(pBar: number, pBarE: number): number {
  if (!(pBarE < 1)) throw new ValueError(`kappaFromAgreement: P̄e = ${pBarE} leaves no room beyond chance`);
  return (pBar - pBarE) / (1 - pBarE);
}
