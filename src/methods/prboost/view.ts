/**
 * Tables and figures of the walkthrough, kept out of the notebook: the rule summary, the per-iteration
 * table, live coverage / accuracy curves, the σ calibration curve, what each template proposes for one
 * instance, and the rows a candidate would match. Text from the dataset and the LM reaches the page only
 * through `table()` (which escapes it) or escaped HTML.
 */
import { escapeHtml, html, table, type PlotlyFigure, type RichOutput } from '../../display';
import { livePlot, type LivePlot } from '../../widgets';
import { Tensor } from '../../ops';
import type { CandidateRule } from './candidates';
import { embeddings, lmWords } from './features';
import {
  bestMatches,
  calibrateSigma,
  matchScores,
  ruleEmbeddings,
  ruleWordsText,
  type Calibration,
  type CalibrationPoint,
} from './matching';
import type { PromptTemplate } from './prompts';
import { calibrationRows, type IterationRecord, type PrboostRun } from './run';
import type { RuleSummary } from './summary';
import type { Workspace } from './workspace';
import type { BaselineResult } from './baselines';

const pct = (v: number, digits = 1): string => (Number.isFinite(v) ? (100 * v).toFixed(digits) : '–');
const num = (v: number, digits = 2): string => (Number.isFinite(v) ? v.toFixed(digits) : '–');

/** The rule summary as table rows (percentages of rows). */
export function ruleSummaryRows(s: RuleSummary): Record<string, string | number>[] {
  return [
    ...s.rows.map((r) => ({
      rule: r.rule,
      label: r.label,
      'coverage %': pct(r.coverage, 2),
      'overlaps %': pct(r.overlaps, 2),
      'conflicts %': pct(r.conflicts, 2),
      correct: r.correct,
      incorrect: r.incorrect,
      'accuracy %': pct(r.accuracy, 1),
    })),
    {
      rule: 'all rules',
      label: '',
      'coverage %': pct(s.coverage, 2),
      'overlaps %': pct(s.overlap, 2),
      'conflicts %': pct(s.conflict, 2),
      correct: s.rows.reduce((a, r) => a + r.correct, 0),
      incorrect: s.rows.reduce((a, r) => a + r.incorrect, 0),
      'accuracy %': '',
    },
  ];
}

/** The per-iteration table as rows. */
export function iterationRows(records: readonly IterationRecord[]): Record<string, string | number>[] {
  return records.map((r) => ({
    iteration: r.iteration,
    candidates: r.candidates,
    accepted: r.acceptedNow,
    rules: r.rules,
    κ: num(r.kappa),
    's/decision': num(r.secondsPerDecision, 3),
    σ: num(r.sigma),
    'D_u coverage %': pct(r.coverage),
    'rule acc %': pct(r.ruleAccuracy),
    'new-rule rows': r.newlyLabelled,
    'new-rule acc %': pct(r.newRuleAccuracy),
    'model acc %': pct(r.modelAccuracy),
    'ensemble acc %': pct(r.ensembleAccuracy),
    err_t: num(r.err, 3),
    's (propose/annotate/match/train)': `${num(r.seconds.propose, 1)}/${num(r.seconds.annotate, 1)}/${num(r.seconds.match, 1)}/${num(r.seconds.train, 1)}`,
  }));
}

/** The per-iteration table, displayable. */
export function iterationTable(records: readonly IterationRecord[]): RichOutput {
  return table(iterationRows(records));
}

/** Baselines beside the final ensemble, displayable. */
export function comparisonTable(run: PrboostRun, base: readonly BaselineResult[]): RichOutput {
  const last = run.records[run.records.length - 1];
  return table([
    ...base.map((b) => ({ model: b.name, 'test acc %': pct(b.accuracy), note: b.note })),
    {
      model: 'PRBoost ensemble',
      'test acc %': pct(last?.ensembleAccuracy ?? NaN),
      note: `${run.records.length - 1} iterations, ${run.rules.length} rules`,
    },
  ]);
}

/** Coverage and accuracies per iteration (Fig. 2.3's panels in one figure), in %. */
export function curvesFigure(records: readonly IterationRecord[]): PlotlyFigure {
  const x = records.map((r) => r.iteration);
  const line = (name: string, y: number[]) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x,
    y: y.map((v) => (Number.isFinite(v) ? 100 * v : null)),
  });
  return {
    data: [
      line(
        'D_u coverage',
        records.map((r) => r.coverage),
      ),
      line(
        'rule accuracy (D_u)',
        records.map((r) => r.ruleAccuracy),
      ),
      line(
        'model accuracy (test)',
        records.map((r) => r.modelAccuracy),
      ),
      line(
        'ensemble accuracy (test)',
        records.map((r) => r.ensembleAccuracy),
      ),
    ],
    layout: {
      title: { text: 'PRBoost per iteration' },
      xaxis: { title: { text: 'iteration' }, dtick: 1 },
      yaxis: { title: { text: '%' } },
      height: 380,
    },
  };
}

/** A live version of `curvesFigure`; feed it with `appendRecord`. */
export function liveCurves(): LivePlot {
  const fig = curvesFigure([]);
  return livePlot({ data: fig.data.map((t) => ({ ...t, x: [], y: [] })), layout: fig.layout });
}

/** Adds one iteration's points to a live curves figure. */
export function appendRecord(plot: LivePlot, r: IterationRecord): void {
  const vals = [r.coverage, r.ruleAccuracy, r.modelAccuracy, r.ensembleAccuracy];
  vals.forEach((v, i) => {
    if (Number.isFinite(v)) plot.append(i, r.iteration, 100 * v);
  });
}

/**
 * Precision and coverage of matched D_v rows against σ, with the chosen σ marked; optionally a reference
 * curve (e.g. the uncovered D_u rows' precision, gold read for reporting, from `matchDiagnostics`).
 */
export function calibrationFigure(
  c: Calibration,
  reference?: { name: string; curve: readonly CalibrationPoint[] },
): PlotlyFigure {
  const x = c.curve.map((p) => p.sigma);
  const xMax = Math.max(
    c.sigma <= 1 ? c.sigma : 0,
    ...[...c.curve, ...(reference?.curve ?? [])].filter((p) => p.matched > 0).map((p) => p.sigma),
  );
  const ref = reference
    ? [
        {
          type: 'scatter',
          mode: 'lines',
          name: `precision, ${reference.name}`,
          x: reference.curve.map((p) => p.sigma),
          y: reference.curve.map((p) => (Number.isFinite(p.precision) ? p.precision : null)),
          line: { dash: 'dashdot' },
        },
        {
          type: 'scatter',
          mode: 'lines',
          name: `share matched, ${reference.name}`,
          x: reference.curve.map((p) => p.sigma),
          y: reference.curve.map((p) => p.coverage),
          line: { dash: 'dashdot' },
        },
      ]
    : [];
  return {
    data: [
      ...ref,
      {
        type: 'scatter',
        mode: 'lines',
        name: 'precision of matched D_v rows',
        x,
        y: c.curve.map((p) => (Number.isFinite(p.precision) ? p.precision : null)),
      },
      { type: 'scatter', mode: 'lines', name: 'share of D_v matched', x, y: c.curve.map((p) => p.coverage) },
      {
        type: 'scatter',
        mode: 'lines',
        name: `target ${c.target.toFixed(3)}`,
        x: [0, 1],
        y: [c.target, c.target],
        line: { dash: 'dot' },
      },
      {
        type: 'scatter',
        mode: 'lines',
        name: `σ = ${c.sigma.toFixed(2)}`,
        x: [c.sigma, c.sigma],
        y: [0, 1],
        line: { dash: 'dash' },
      },
    ],
    layout: {
      title: { text: `Choosing σ on D_v (${c.reason})` },
      // Scores of Eq. 2.7 rarely come near 1: show σ up to a little past the last matched row.
      xaxis: { title: { text: 'σ' }, range: [0, Math.min(1.02, xMax + 0.05)] },
      yaxis: { range: [0, 1.05] },
      height: 380,
    },
  };
}

/** What every shipped template proposes for one instance (position in the workspace). */
export async function templateProposals(
  ws: Workspace,
  position: number,
  templates: readonly PromptTemplate[],
): Promise<Record<string, string>[]> {
  const text = ws.items[position].text;
  const rows: Record<string, string>[] = [];
  for (const t of templates) {
    const [p] = await lmWords(ws.models.lm, ws.config.lmModel, t, [text], { k: ws.config.k, label: t.name });
    rows.push({ template: t.text.replace('\n', ' ⏎ '), words: p.words.join(', ') });
  }
  return rows;
}

/** Rows a candidate would label: how many, out of how many, and the best few with score and gold label. */
export interface CandidateMatches {
  count: number;
  total: number;
  examples: { text: string; score: number; gold: string }[];
}

/**
 * The D_u rows a candidate would label if accepted now: rows no keyword rule covers whose score against this
 * candidate reaches the current σ (Eq. 2.7), best first. Gold labels are for the notebook's teaching view;
 * the widget preview leaves them out so the annotator judges the rule, not the answers.
 */
export async function candidateMatches(
  run: PrboostRun,
  cand: CandidateRule,
  limit = 5,
): Promise<CandidateMatches> {
  const ws = run.ws;
  const d = ws.embeddings.shape[1];
  const rows = ws.unlabelled.filter((p) => ws.keywordLabels[p] < 0);
  if (cand.words.length === 0 || rows.length === 0) return { count: 0, total: rows.length, examples: [] };
  const w = await embeddings(ws.models.encoder, ws.config.encoder, [ruleWordsText(cand.words)], {
    label: 'candidate',
  });
  const src = ws.items.findIndex((it) => it.row === cand.sourceRow);
  const inst = new Tensor(src >= 0 ? ws.embeddings.data.slice(src * d, (src + 1) * d) : w.data.slice(), [
    1,
    d,
  ]);
  const e = ruleEmbeddings(w, inst, ws.config.ruleEmbedding);
  const vu = ws.words.get(cand.template.name) ?? ws.words.get(ws.templates[0].name)!;
  const score = (at: readonly number[]): Tensor => {
    const x = new Float32Array(at.length * d);
    at.forEach((p, i) => x.set(ws.embeddings.data.subarray(p * d, (p + 1) * d), i * d));
    return matchScores(
      new Tensor(x, [at.length, d]),
      e,
      at.map((p) => vu[p].words),
      [cand.words],
      { alpha: ws.config.alpha, k: ws.config.k },
    );
  };
  // σ: the run's current one; before any rule was accepted, the σ this rule alone would get on D_v (the
  // same calibration `match()` runs), not 0 — that would claim every uncovered row.
  let sigma = run.calibration?.sigma;
  if (sigma === undefined) {
    const calib = calibrationRows(ws, [cand.sourceRow]);
    const v = bestMatches(score(calib), [cand.label], -Infinity);
    sigma = calibrateSigma(
      v.score,
      v.label,
      calib.map((p) => ws.gold[p]),
      { target: run.targetPrecision, z: ws.config.sigmaZ },
    ).sigma;
  }
  const m = bestMatches(score(rows), [cand.label], sigma);
  const hits = rows
    .map((p, i) => ({ p, score: m.score[i], hit: m.label[i] >= 0 }))
    .filter((r) => r.hit)
    .sort((a, b) => b.score - a.score);
  return {
    count: hits.length,
    total: rows.length,
    examples: hits.slice(0, limit).map((r) => ({
      text: ws.items[r.p].text,
      score: Number(r.score.toFixed(3)),
      gold: ws.classNames[ws.gold[r.p]],
    })),
  };
}

/** A candidate's words and the rows it would match, as escaped HTML. */
export async function candidatePreview(
  run: PrboostRun,
  cands: readonly CandidateRule[],
  limit = 3,
): Promise<RichOutput> {
  const parts: string[] = [];
  for (const c of cands) {
    const { count, total, examples: rows } = await candidateMatches(run, c, limit);
    const list = rows.length
      ? rows
          .map(
            (r) =>
              `<li>${escapeHtml(r.text.slice(0, 160))} <i>(score ${r.score}, gold ${escapeHtml(r.gold)})</i></li>`,
          )
          .join('')
      : '<li><i>matches no uncovered row at the current σ</i></li>';
    parts.push(
      `<p><b>${escapeHtml(run.ws.classNames[c.label])}</b> ← {${escapeHtml(c.words.join(', '))}} <small>(${escapeHtml(c.id)}; would label ${count} of ${total} uncovered D_u rows; gold shown for teaching)</small></p><ul>${list}</ul>`,
    );
  }
  return html(parts.join(''));
}
