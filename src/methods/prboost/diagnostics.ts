/**
 * What soft matching (Eqs. 2.5-2.7) does with the accepted rules, in numbers: for the rows new rules may
 * label (those no keyword rule covers), how often the winning rule shares vocabulary with the row
 * (|V_u ∩ V_r| of Eq. 2.6), how precise the winning rule is per overlap count, and how the matched rows at
 * the chosen σ compare with the keyword rules. On D_u the gold labels are read for reporting only; the
 * method itself sees D_v's.
 */
import { calibrateSigma, type CalibrationPoint } from './matching';
import { weakLabelQuality } from './label-matrix';
import type { PrboostRun } from './run';

/** One overlap bucket: rows whose best rule shares `overlap` words with their V_u. */
export interface OverlapBucket {
  overlap: string;
  rows: number;
  /** Precision of the best rule's label on these rows (gold), NaN when empty. */
  precision: number;
  meanScore: number;
  meanCosine: number;
}

/** Diagnostics of one row set. */
export interface MatchDiagnostics {
  set: string;
  rows: number;
  /** Share of rows whose best rule has a non-zero vocabulary overlap (s_b > 0). */
  overlapShare: number;
  buckets: OverlapBucket[];
  /** Rows matched at the run's σ and their precision (gold). */
  sigma: number;
  matched: number;
  matchedPrecision: number;
  /** The keyword rules' precision on the rows of this split they cover (what new rules must reach). */
  keywordPrecision: number;
  /** Precision / coverage of these rows against σ (the D_v curve is the one σ was chosen on). */
  curve: CalibrationPoint[];
}

function bucketOf(o: number): string {
  return o >= 3 ? '≥ 3' : String(o);
}

/** Diagnostics of the run's current rules on the uncovered rows of D_v and of D_u (Eqs. 2.5-2.7). */
export function matchDiagnostics(run: PrboostRun): MatchDiagnostics[] {
  const ws = run.ws;
  const sigma = run.calibration?.sigma ?? NaN;
  const sets: [string, readonly number[]][] = [
    [
      ws.config.sigmaRows === 'all' ? 'D_v, uncovered' : 'D_v, uncovered (σ is chosen on these)',
      ws.validation,
    ],
    ['D_u, uncovered (gold for reporting)', ws.unlabelled],
  ];
  return sets.map(([set, all]) => {
    const rows = all.filter((p) => ws.keywordLabels[p] < 0);
    const covered = all.filter((p) => ws.keywordLabels[p] >= 0);
    const keywordPrecision = weakLabelQuality(
      covered.map((p) => ws.keywordLabels[p]),
      covered.map((p) => ws.gold[p]),
    ).accuracy;
    const b = run.bestRules(rows);
    const gold = rows.map((p) => ws.gold[p]);
    const groups = new Map<string, number[]>();
    rows.forEach((_, i) => {
      if (b.label[i] < 0) return;
      const k = bucketOf(b.overlap[i]);
      groups.set(k, [...(groups.get(k) ?? []), i]);
    });
    const mean = (idx: number[], v: ArrayLike<number>): number =>
      idx.length ? idx.reduce((a, i) => a + v[i], 0) / idx.length : NaN;
    const buckets = ['0', '1', '2', '≥ 3'].map((overlap) => {
      const idx = groups.get(overlap) ?? [];
      return {
        overlap,
        rows: idx.length,
        precision: idx.length ? idx.filter((i) => b.label[i] === gold[i]).length / idx.length : NaN,
        meanScore: mean(idx, b.score),
        meanCosine: mean(idx, b.cosine),
      };
    });
    let matched = 0;
    let right = 0;
    rows.forEach((_, i) => {
      if (b.label[i] >= 0 && b.score[i] >= sigma) {
        matched++;
        if (b.label[i] === gold[i]) right++;
      }
    });
    const withRule = rows.filter((_, i) => b.label[i] >= 0).length;
    return {
      set,
      rows: rows.length,
      overlapShare: withRule
        ? rows.filter((_, i) => b.label[i] >= 0 && b.overlap[i] > 0).length / rows.length
        : 0,
      buckets,
      sigma,
      matched,
      matchedPrecision: matched ? right / matched : NaN,
      keywordPrecision,
      curve: calibrateSigma(b.score, b.label, gold, { target: keywordPrecision }).curve,
    };
  });
}

const pct = (v: number): string => (Number.isFinite(v) ? (100 * v).toFixed(1) : '–');

/** The diagnostics as table rows: one per (set, overlap bucket), then the matched rows at σ. */
export function matchDiagnosticsRows(diags: readonly MatchDiagnostics[]): Record<string, string | number>[] {
  return diags.flatMap((d) => [
    ...d.buckets.map((b) => ({
      rows: d.set,
      'best rule shares': `${b.overlap} word${b.overlap === '1' ? '' : 's'} with V_u`,
      count: b.rows,
      'share %': pct(d.rows ? b.rows / d.rows : NaN),
      'best-rule precision %': pct(b.precision),
      'mean s': Number.isFinite(b.meanScore) ? b.meanScore.toFixed(3) : '–',
      'mean cos': Number.isFinite(b.meanCosine) ? b.meanCosine.toFixed(3) : '–',
    })),
    {
      rows: d.set,
      'best rule shares': `matched at σ = ${Number.isFinite(d.sigma) ? d.sigma.toFixed(2) : '–'}`,
      count: d.matched,
      'share %': pct(d.rows ? d.matched / d.rows : NaN),
      'best-rule precision %': `${pct(d.matchedPrecision)} (keyword rules: ${pct(d.keywordPrecision)})`,
      'mean s': '',
      'mean cos': '',
    },
  ]);
}

/** One accepted rule's reach: the rows where it is the best-scoring rule, and how often its label is right. */
export interface RuleReach {
  rule: number;
  label: string;
  words: string;
  iteration: number;
  /** D_v rows (all) it wins at the current σ and its precision there — what σ calibration sees. */
  validationWins: number;
  validationPrecision: number;
  /** Uncovered D_u rows it wins at σ (the rows it labels now) and their precision (gold, for reporting). */
  unlabelledWins: number;
  unlabelledPrecision: number;
}

/**
 * Per accepted rule, the rows it wins under "highest score wins" (§2.4.2) at the run's σ: one broad rule
 * (generic LM words such as "world", "international") can win most rows, and this shows which.
 */
export function ruleReach(run: PrboostRun): RuleReach[] {
  const ws = run.ws;
  const sigma = run.calibration?.sigma ?? -Infinity;
  const tally = (rows: readonly number[]): { wins: number[]; right: number[] } => {
    const b = run.bestRules(rows);
    const wins = run.rules.map(() => 0);
    const right = run.rules.map(() => 0);
    rows.forEach((p, i) => {
      if (b.rule[i] < 0 || b.score[i] < sigma) return;
      wins[b.rule[i]]++;
      if (b.label[i] === ws.gold[p]) right[b.rule[i]]++;
    });
    return { wins, right };
  };
  const v = tally(ws.validation);
  const u = tally(ws.unlabelled.filter((p) => ws.keywordLabels[p] < 0));
  return run.rules.map((r, j) => ({
    rule: j,
    label: ws.classNames[r.label],
    words: r.words.join(', '),
    iteration: r.iteration,
    validationWins: v.wins[j],
    validationPrecision: v.wins[j] ? v.right[j] / v.wins[j] : NaN,
    unlabelledWins: u.wins[j],
    unlabelledPrecision: u.wins[j] ? u.right[j] / u.wins[j] : NaN,
  }));
}

/** `ruleReach` as table rows, the broadest rules first. */
export function ruleReachRows(reach: readonly RuleReach[]): Record<string, string | number>[] {
  return [...reach]
    .sort((a, b) => b.validationWins + b.unlabelledWins - (a.validationWins + a.unlabelledWins))
    .map((r) => ({
      label: r.label,
      words: r.words,
      iteration: r.iteration,
      'D_v rows won': r.validationWins,
      'D_v precision %': pct(r.validationPrecision),
      'uncovered D_u rows won': r.unlabelledWins,
      'D_u precision % (gold)': pct(r.unlabelledPrecision),
    }));
}
