/**
 * The PRBoost loop (thesis §2.4, Fig. 2.1). Iteration 0 trains m_0 on the keyword rules' weak labels.
 * Each later iteration: (1) boosting weights on D_l from the running ensemble's (or latest model's)
 * mistakes, top-n instances (Eqs. 2.1-2.3); (2) candidate rules from the LM for each instance and template
 * (Eq. 2.4); (3) annotation — a person in the widget or the simulated pool; (4) soft matching of all
 * accepted rules with σ re-chosen on D_v (Eqs. 2.5-2.7); (5) m_t on the enlarged D_t with self-training
 * (Eqs. 2.8-2.10) and the ensemble (Eq. 2.11). Ground-truth labels of D_u and test are read only for the
 * reported metrics.
 *
 * Choices where the thesis is silent: new rules label only rows the keyword rules leave uncovered (they
 * never overrule a keyword vote); every iteration re-matches all accepted rules with a freshly calibrated
 * σ and labels the rows still unlabelled (D_t = D_{t−1} ∪ D_r: a row keeps its first label); σ is the smallest value at
 * which the matched D_v rows (all, or only those no keyword rule covers: `sigmaRows`) are at least as precise
 * as the keyword rules on D_l ∪ D_v.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../../ops';
import { cacheDir } from './cache';
import { ValueError } from '../../errors';
import type { Decision } from '../../widgets';
import { annotatePool, simulatedAnnotator, WordIndex, type PoolResult } from './annotators';
import { boostStep, initialWeights, modelCoefficient, topWeighted, weightedError } from './boost';
import { makeCandidates, type CandidateRule } from './candidates';
import { embeddings, lmWords } from './features';
import { weakLabelQuality } from './label-matrix';
import { RowMatcher } from './matcher';
import {
  calibrateSigma,
  type RuleMatch,
  ruleEmbeddings,
  ruleWordsText,
  wilsonLower,
  type Calibration,
} from './matching';
import { argmaxRows, ensembleProbs, modelProbs, trainWeakModel, type WeakModel } from './weak-model';
import type { Workspace } from './workspace';

/** An accepted rule with its provenance (what the JSON export holds). */
export interface AcceptedRule extends CandidateRule {
  readonly decisions: readonly Decision[];
}

/** What an annotation step returns: the accepted rules and, for a pool, its agreement. */
export interface AnnotationOutcome {
  accepted: CandidateRule[];
  decisions: Decision[];
  kappa: number;
  secondsPerDecision: number;
}

/** Annotates one iteration's candidates (the widget, or the simulated pool by default). */
export type RuleAnnotator = (candidates: CandidateRule[], iteration: number) => Promise<AnnotationOutcome>;

/** One row of the per-iteration table. */
export interface IterationRecord {
  iteration: number;
  candidates: number;
  acceptedNow: number;
  rules: number;
  kappa: number;
  /** Mean seconds per annotation decision (the widget logs each; the thesis reports < 3 s per rule). */
  secondsPerDecision: number;
  sigma: number;
  /** Accepted rules set aside by `ruleVetting` before σ was chosen (0 without vetting). */
  rulesSetAside?: number;
  /** Coverage and accuracy of the weak labels on D_u (keyword rules + accepted rules). */
  coverage: number;
  ruleAccuracy: number;
  /** Precision on D_u of only the rows the new rules label (NaN before any). */
  newRuleAccuracy: number;
  newlyLabelled: number;
  err: number;
  alpha: number;
  modelAccuracy: number;
  ensembleAccuracy: number;
  seconds: { propose: number; annotate: number; match: number; train: number };
}

/** Run hooks. */
export interface RunOptions {
  annotate?: RuleAnnotator;
  /** Folder of the annotation stores (default: the cache folder's `annotations`). */
  storeDir?: string;
  onRecord?: (r: IterationRecord, run: PrboostRun) => void | Promise<void>;
}

/** The simulated pool of the config (three annotators with the stated rule and their error rates). */
export function simulatedPool(ws: Workspace, store: string, dir?: string): RuleAnnotator {
  const clean = [...ws.labelled, ...ws.validation];
  const a = ws.config.annotator;
  const vocab = ws.words.get(ws.templates[0].name);
  const index = new WordIndex(
    clean.map((p) => ws.items[p].text),
    clean.map((p) => ws.gold[p]),
    vocab ? clean.map((p) => vocab[p].words) : undefined,
    a.evidence ?? 'text',
  );
  const pool = a.errorRates.map((e, i) => {
    // The name carries the stated rule: stored decisions resume by name, so a changed rule starts afresh.
    const name = `sim-${String.fromCharCode(97 + i)}-e${e}-${(a.evidence ?? 'text').replace('+', '_')}-p${a.minPrecision}-m${a.minMatches}`;
    return {
      name,
      judge: simulatedAnnotator(index, ws.classNames, {
        name,
        minPrecision: a.minPrecision,
        minMatches: a.minMatches,
        errorRate: e,
        seed: ws.config.seed,
      }),
    };
  });
  const folder = dir ?? path.join(cacheDir(), 'annotations');
  return async (cands, iteration) => {
    fs.mkdirSync(folder, { recursive: true });
    const r: PoolResult = await annotatePool(cands, pool, ws.classNames, {
      store: `${store}-it${iteration}`,
      dir: folder,
    });
    return {
      accepted: r.accepted,
      decisions: r.decisions,
      kappa: r.kappa,
      secondsPerDecision: r.secondsPerDecision,
    };
  };
}

function accuracyOf(pred: ArrayLike<number>, gold: ArrayLike<number>): number {
  let c = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === gold[i]) c++;
  return pred.length ? c / pred.length : NaN;
}

/**
 * The clean rows σ is calibrated on (`config.sigmaRows`): all of D_v, its uncovered rows, or the uncovered
 * rows of D_v ∪ D_l except the rows rules were proposed from (`sources`: AG News row ids).
 */
export function calibrationRows(ws: Workspace, sources: readonly number[]): number[] {
  const mode = ws.config.sigmaRows;
  if (mode === 'all') return [...ws.validation];
  const uncovered = (rows: readonly number[]): number[] => rows.filter((p) => ws.keywordLabels[p] < 0);
  if (mode === 'uncovered') return uncovered(ws.validation);
  if (mode === 'uncovered-clean') {
    const src = new Set(sources);
    return [...uncovered(ws.validation), ...uncovered(ws.labelled).filter((p) => !src.has(ws.items[p].row))];
  }
  throw new ValueError(`unknown sigmaRows "${String(mode)}" (all, uncovered, uncovered-clean)`);
}

/** A PRBoost run over a workspace; `init()` then `step()` per iteration, or `run()`. */
export class PrboostRun {
  readonly records: IterationRecord[] = [];
  readonly rules: AcceptedRule[] = [];
  readonly models: WeakModel[] = [];
  readonly alphas: number[] = [];
  weights: Float64Array;
  /** Weak label per position (−1 = none) after the latest iteration. */
  weakLabels: Int32Array;
  calibration: Calibration | null = null;
  private ruleEmb: Tensor | null = null;
  /** Ids of accepted rules that vetting set aside in the latest `match()` (they do not match rows). */
  readonly setAside = new Set<string>();
  /** Rows prepared for matching, per template (embeddings and LM words never change within a run). */
  private readonly matchers = new Map<string, RowMatcher>();
  private annotate: RuleAnnotator;
  private readonly classes: number;
  /** The keyword rules' precision on D_l ∪ D_v: σ's target. */
  readonly targetPrecision: number;
  /** Rows of D_l proposed from so far (each instance is used once). */
  private readonly used = new Set<number>();

  constructor(
    readonly ws: Workspace,
    private readonly options: RunOptions = {},
    readonly name = 'prboost',
  ) {
    this.classes = ws.classNames.length;
    this.weights = initialWeights(ws.labelled.length);
    this.weakLabels = Int32Array.from(ws.keywordLabels);
    this.annotate = options.annotate ?? simulatedPool(ws, `${name}-seed${ws.config.seed}`, options.storeDir);
    const clean = [...ws.labelled, ...ws.validation];
    const q = weakLabelQuality(
      clean.map((p) => ws.keywordLabels[p]),
      clean.map((p) => ws.gold[p]),
    );
    this.targetPrecision = q.accuracy;
  }

  private modelSeed(t: number): number {
    return (this.ws.config.weakModel.seed ?? 0) + 7919 * this.ws.config.seed + 31 * t;
  }

  private train(t: number): { model: WeakModel; seconds: number } {
    const ws = this.ws;
    const t0 = Date.now();
    const train = ws.unlabelled.filter((p) => this.weakLabels[p] >= 0);
    const unmatched = ws.unlabelled.filter((p) => this.weakLabels[p] < 0);
    const model = trainWeakModel(
      ws.embeddings,
      train,
      train.map((p) => this.weakLabels[p]),
      unmatched,
      { rows: ws.validation, labels: ws.validation.map((p) => ws.gold[p]) },
      this.classes,
      { ...ws.config.weakModel, seed: this.modelSeed(t) },
    );
    return { model, seconds: (Date.now() - t0) / 1000 };
  }

  /** Class probabilities of the ensemble (Eq. 2.11) on positions `idx`. */
  ensembleProbs(idx: readonly number[]): { data: Float64Array; shape: readonly [number, number] } {
    const members = this.models.map((m) => modelProbs(m, this.ws.embeddings, idx));
    return ensembleProbs(members, this.alphas, this.ws.config.ensembleWeighting);
  }

  /** Predictions of the final model on positions: the ensemble, or the latest model without it. */
  predict(idx: readonly number[]): Int32Array {
    if (this.models.length === 0) throw new ValueError('PrboostRun.predict: call init() first');
    if (!this.ws.config.ensemble)
      return argmaxRows(modelProbs(this.models[this.models.length - 1], this.ws.embeddings, idx));
    return argmaxRows(this.ensembleProbs(idx));
  }

  private addModel(model: WeakModel): { err: number; alpha: number } {
    const ws = this.ws;
    const pred = argmaxRows(modelProbs(model, ws.embeddings, ws.labelled));
    const wrong = Array.from(pred, (p, i) => p !== ws.gold[ws.labelled[i]]);
    const err = weightedError(this.weights, wrong);
    const alpha = modelCoefficient(err, this.classes); // Eq. 2.2 for m_t's ensemble coefficient
    this.models.push(model);
    this.alphas.push(alpha);
    return { err, alpha };
  }

  private record(
    iteration: number,
    extra: Partial<IterationRecord> & { seconds: IterationRecord['seconds'] },
    fit: { err: number; alpha: number },
  ): IterationRecord {
    const ws = this.ws;
    const q = weakLabelQuality(
      ws.unlabelled.map((p) => this.weakLabels[p]),
      ws.unlabelled.map((p) => ws.gold[p]),
    );
    const fresh = ws.unlabelled.filter((p) => ws.keywordLabels[p] < 0 && this.weakLabels[p] >= 0);
    const goldTest = ws.test.map((p) => ws.gold[p]);
    const latest = argmaxRows(modelProbs(this.models[this.models.length - 1], ws.embeddings, ws.test));
    const r: IterationRecord = {
      iteration,
      candidates: 0,
      acceptedNow: 0,
      rules: this.rules.length,
      kappa: NaN,
      secondsPerDecision: NaN,
      sigma: this.calibration?.sigma ?? NaN,
      rulesSetAside: this.setAside.size,
      coverage: q.coverage,
      ruleAccuracy: q.accuracy,
      newRuleAccuracy: fresh.length
        ? accuracyOf(
            fresh.map((p) => this.weakLabels[p]),
            fresh.map((p) => ws.gold[p]),
          )
        : NaN,
      newlyLabelled: fresh.length,
      err: fit.err,
      alpha: fit.alpha,
      modelAccuracy: accuracyOf(latest, goldTest),
      ensembleAccuracy: accuracyOf(this.predict(ws.test), goldTest),
      ...extra,
    };
    this.records.push(r);
    return r;
  }

  /** Iteration 0: m_0 on the keyword rules' weak labels. */
  async init(): Promise<IterationRecord> {
    const { model, seconds } = this.train(0);
    const fit = this.addModel(model);
    const r = this.record(0, { seconds: { propose: 0, annotate: 0, match: 0, train: seconds } }, fit);
    await this.options.onRecord?.(r, this);
    return r;
  }

  /** Who annotates the next iterations (e.g. a person in the widget first, the simulated pool later). */
  setAnnotator(annotate: RuleAnnotator): void {
    this.annotate = annotate;
  }

  /** The instances the next `step()` will propose from, without changing any state. */
  peekHardInstances(n = this.ws.config.topN): number[] {
    const saved = this.weights;
    const used = new Set(this.used);
    const top = this.hardInstances(n);
    this.weights = saved;
    this.used.clear();
    used.forEach((i) => this.used.add(i));
    return top;
  }

  /** The large-error instances of the next iteration (updates the boosting weights, Eqs. 2.1-2.3). */
  hardInstances(n = this.ws.config.topN): number[] {
    const ws = this.ws;
    const gold = ws.labelled.map((p) => ws.gold[p]);
    const pred =
      ws.config.errorDriver === 'ensemble'
        ? this.predict(ws.labelled)
        : argmaxRows(modelProbs(this.models[this.models.length - 1], ws.embeddings, ws.labelled));
    this.weights = boostStep(this.weights, pred, gold, this.classes).weights;
    const order = topWeighted(this.weights, this.weights.length).filter((i) => !this.used.has(i));
    const top = order.slice(0, n);
    top.forEach((i) => this.used.add(i));
    return top.map((i) => ws.labelled[i]);
  }

  /** Candidate rules for instances (positions), every template (Eq. 2.4; cached). */
  async propose(positions: readonly number[], iteration: number): Promise<CandidateRule[]> {
    const ws = this.ws;
    const out: CandidateRule[] = [];
    for (const t of ws.templates) {
      const props = await lmWords(
        ws.models.lm,
        ws.config.lmModel,
        t,
        positions.map((p) => ws.items[p].text),
        { k: ws.config.k, label: `proposals (${t.name})` },
      );
      out.push(
        ...makeCandidates(
          positions.map((p, i) => ({
            row: ws.items[p].row,
            text: ws.items[p].text,
            label: ws.gold[p],
            proposal: props[i],
          })),
          t,
          iteration,
        ),
      );
    }
    return out;
  }

  /**
   * Each row's best accepted rule by the score of Eq. 2.7 (no σ applied: `label` is −1 only without rules),
   * with the winning rule's vocabulary overlap |V_u ∩ V_r| (Eq. 2.6, a count; s_b = overlap / k) and its
   * cosine (Eq. 2.5). Rules are scored against V_u of their own template. Valid after `match()`.
   */
  bestRules(rows: readonly number[]): RuleMatch & { overlap: Int32Array; cosine: Float32Array } {
    const ws = this.ws;
    const n = rows.length;
    const m = this.rules.length;
    if (m === 0 || this.ruleEmb === null || this.ruleEmb.shape[0] !== m)
      return {
        label: new Int32Array(n).fill(-1),
        rule: new Int32Array(n).fill(-1),
        score: new Float32Array(n),
        overlap: new Int32Array(n),
        cosine: new Float32Array(n),
      };
    const d = ws.embeddings.shape[1];
    const b: RuleMatch = {
      label: new Int32Array(n).fill(-1),
      rule: new Int32Array(n).fill(-1),
      score: new Float32Array(n).fill(-Infinity),
    };
    for (const t of ws.templates) {
      const idx = this.rules.flatMap((r, j) =>
        r.template.name === t.name && !this.setAside.has(r.id) ? [j] : [],
      );
      if (idx.length === 0) continue;
      const sub = new Float32Array(idx.length * d);
      idx.forEach((j, c) => sub.set(this.ruleEmb!.data.subarray(j * d, (j + 1) * d), c * d));
      const tb = this.matcher(t.name).best(
        new Tensor(sub, [idx.length, d]),
        idx.map((j) => this.rules[j].words),
        idx.map((j) => this.rules[j].label),
        -Infinity,
        { alpha: ws.config.alpha, rows },
      );
      // Highest score wins across templates; on equal scores the earlier accepted rule, as in one pass.
      for (let i = 0; i < n; i++) {
        const j = idx[tb.rule[i]];
        if (tb.score[i] > b.score[i] || (tb.score[i] === b.score[i] && j < b.rule[i])) {
          b.score[i] = tb.score[i];
          b.rule[i] = j;
          b.label[i] = tb.label[i];
        }
      }
    }
    const overlap = new Int32Array(n);
    const cosine = new Float32Array(n);
    rows.forEach((p, i) => {
      if (b.rule[i] < 0) return; // no rule of a workspace template (a rule from elsewhere is never scored)
      const r = this.rules[b.rule[i]];
      const vu = new Set(ws.words.get(r.template.name)![p].words);
      overlap[i] = r.words.filter((w) => vu.has(w)).length;
      // s = α s_a + (1 − α) s_b  ⇒  s_a = (s − (1 − α) s_b) / α (α > 0); with α = 0 the cosine is not used.
      const alpha = ws.config.alpha;
      cosine[i] = alpha > 0 ? (b.score[i] - ((1 - alpha) * overlap[i]) / ws.config.k) / alpha : NaN;
    });
    return { ...b, overlap, cosine };
  }

  /**
   * `ruleVetting: 'calibration'`: sets aside, worst first, each rule whose word-sharing wins on the
   * calibration rows (rows it scores highest on and shares at least one word with V_u) are confidently
   * below σ's target (Wilson upper bound at z = sigmaZ, at least annotator.minMatches such wins),
   * re-deciding the winners after each (a rule freed of a bad neighbour's rows may pass). Rows a rule wins
   * on the cosine alone do not count: σ, chosen next, decides those.
   */
  private vetRules(calib: readonly number[]): void {
    const ws = this.ws;
    const minWins = Math.max(1, ws.config.annotator.minMatches);
    const gold = calib.map((p) => ws.gold[p]);
    for (;;) {
      const b = this.bestRules(calib);
      const wins = new Map<number, { n: number; right: number }>();
      for (let i = 0; i < calib.length; i++) {
        if (b.rule[i] < 0 || b.overlap[i] === 0) continue; // won on the cosine alone: not the rule's words
        const w = wins.get(b.rule[i]) ?? { n: 0, right: 0 };
        w.n++;
        if (b.label[i] === gold[i]) w.right++;
        wins.set(b.rule[i], w);
      }
      let worst = -1;
      let worstUpper = Infinity;
      for (const [j, w] of wins) {
        if (w.n < minWins) continue;
        const upper = 1 - wilsonLower(w.n - w.right, w.n, ws.config.sigmaZ);
        if (upper < this.targetPrecision && upper < worstUpper) {
          worst = j;
          worstUpper = upper;
        }
      }
      if (worst < 0) return;
      this.setAside.add(this.rules[worst].id);
    }
  }

  /** The prepared matcher of every workspace row with the V_u of template `name`. */
  private matcher(name: string): RowMatcher {
    let mt = this.matchers.get(name);
    if (mt) return mt;
    const ws = this.ws;
    const words = ws.words.get(name)!.map((w) => w.words);
    const any = this.matchers.values().next();
    mt = any.done ? RowMatcher.prepare(ws.embeddings, words, ws.config.k) : any.value.withWords(words);
    this.matchers.set(name, mt);
    return mt;
  }

  /** Re-matches every accepted rule: σ on D_v, then weak labels on D_u (Eqs. 2.5-2.7). */
  async match(): Promise<void> {
    const ws = this.ws;
    if (this.rules.length === 0) return;
    const wordsEmb = await embeddings(
      ws.models.encoder,
      ws.config.encoder,
      this.rules.map((r) => ruleWordsText(r.words)),
      {
        label: 'rule embeddings',
      },
    );
    const d = ws.embeddings.shape[1];
    const inst = new Float32Array(this.rules.length * d);
    const posOfRow = new Map(ws.items.map((it, p) => [it.row, p]));
    this.rules.forEach((r, j) => {
      const p = posOfRow.get(r.sourceRow);
      if (p === undefined)
        throw new ValueError(`rule "${r.id}": its source row ${r.sourceRow} is not in this run`);
      inst.set(ws.embeddings.data.subarray(p * d, (p + 1) * d), j * d);
    });
    this.ruleEmb = ruleEmbeddings(
      wordsEmb,
      new Tensor(inst, [this.rules.length, d]),
      ws.config.ruleEmbedding,
    );
    const best = (rows: readonly number[]): RuleMatch => this.bestRules(rows);
    // σ is calibrated on D_v: every row (the thesis's development set), or only the rows the keyword rules
    // leave uncovered — the only rows new rules label, but few (config.sigmaRows).
    const calib = calibrationRows(
      ws,
      this.rules.map((r) => r.sourceRow),
    );
    this.setAside.clear();
    if (ws.config.ruleVetting === 'calibration') this.vetRules(calib);
    const v = best(calib);
    this.calibration = calibrateSigma(
      v.score,
      v.label,
      calib.map((p) => ws.gold[p]),
      { target: this.targetPrecision, z: ws.config.sigmaZ },
    );
    const u = best(ws.unlabelled);
    // D_t = D_{t−1} ∪ D_r (Eq. 2.8's data): a row keeps the label it got; only unlabelled rows are matched.
    const weak = Int32Array.from(this.weakLabels);
    ws.unlabelled.forEach((p, i) => {
      if (weak[p] < 0 && u.label[i] >= 0 && u.score[i] >= this.calibration!.sigma) weak[p] = u.label[i];
    });
    this.weakLabels = weak;
  }

  /** The candidates the next `step()` will show (LM calls are cached, so the step reuses them). */
  async peekCandidates(): Promise<CandidateRule[]> {
    return this.propose(this.peekHardInstances(), this.records.length);
  }

  /** One PRBoost iteration. */
  async step(): Promise<IterationRecord> {
    if (this.models.length === 0) await this.init();
    const ws = this.ws;
    const t = this.records.length;
    const sec = { propose: 0, annotate: 0, match: 0, train: 0 };
    let candidates: CandidateRule[] = [];
    let outcome: AnnotationOutcome = { accepted: [], decisions: [], kappa: NaN, secondsPerDecision: 0 };
    let t0 = Date.now();
    if (ws.config.newRules) {
      const budget = ws.config.ensemble ? ws.config.topN : ws.config.topN * ws.config.iterations;
      candidates = await this.propose(this.hardInstances(budget), t);
      sec.propose = (Date.now() - t0) / 1000;
      t0 = Date.now();
      if (candidates.length > 0) outcome = await this.annotate(candidates, t);
      sec.annotate = (Date.now() - t0) / 1000;
      const known = new Set(this.rules.map((r) => `${r.label}|${[...r.words].sort().join(',')}`));
      for (const c of outcome.accepted) {
        const key = `${c.label}|${[...c.words].sort().join(',')}`;
        if (known.has(key)) continue;
        known.add(key);
        this.rules.push({ ...c, decisions: outcome.decisions.filter((d) => d.candidateId === c.id) });
      }
      t0 = Date.now();
      await this.match();
      sec.match = (Date.now() - t0) / 1000;
    } else {
      this.hardInstances();
    }
    const { model, seconds } = this.train(t);
    sec.train = seconds;
    if (!ws.config.ensemble) {
      this.models.length = 0;
      this.alphas.length = 0;
    }
    const fit = this.addModel(model);
    const r = this.record(
      t,
      {
        candidates: candidates.length,
        acceptedNow: outcome.accepted.length,
        kappa: outcome.kappa,
        secondsPerDecision: outcome.secondsPerDecision,
        seconds: sec,
      },
      fit,
    );
    await this.options.onRecord?.(r, this);
    return r;
  }

  /** init() and all configured iterations (one with the whole budget when ensembling is off). */
  async run(): Promise<IterationRecord[]> {
    if (this.models.length === 0) await this.init();
    const n = this.ws.config.ensemble ? this.ws.config.iterations : Math.min(1, this.ws.config.iterations);
    while (this.records.length <= n) await this.step();
    return this.records;
  }
}
