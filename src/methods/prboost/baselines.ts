/**
 * The reference points of one run, on the same test rows: the keyword rules' majority vote (rows they do
 * not cover count as wrong, so it is comparable with a classifier), the weak model on the initial rules
 * only (m_0), the weak model on D_l only, and a model on D_l ∪ D_v — every clean label PRBoost sees. The
 * last has no validation set left, so it trains for the fixed epoch count without early stopping.
 */
import { weakLabelQuality } from './label-matrix';
import type { PrboostRun } from './run';
import { argmaxRows, modelProbs, trainWeakModel } from './weak-model';
import type { Workspace } from './workspace';

export interface BaselineResult {
  name: string;
  /** Accuracy on the run's test rows. */
  accuracy: number;
  note: string;
}

function acc(ws: Workspace, pred: ArrayLike<number>): number {
  let c = 0;
  ws.test.forEach((p, i) => (c += pred[i] === ws.gold[p] ? 1 : 0));
  return ws.test.length ? c / ws.test.length : NaN;
}

/** The baselines of a run (m_0 comes from the run's iteration 0). */
export function baselines(run: PrboostRun): BaselineResult[] {
  const ws = run.ws;
  const classes = ws.classNames.length;
  const kw = ws.test.map((p) => ws.keywordLabels[p]);
  const q = weakLabelQuality(
    kw,
    ws.test.map((p) => ws.gold[p]),
  );
  const val = { rows: ws.validation, labels: ws.validation.map((p) => ws.gold[p]) };
  const seed = 7919 * ws.config.seed + 17;
  const noSelf = { ...ws.config.weakModel, selfTraining: false, seed };
  const dl = trainWeakModel(
    ws.embeddings,
    ws.labelled,
    ws.labelled.map((p) => ws.gold[p]),
    [],
    val,
    classes,
    noSelf,
  );
  const dlv = [...ws.labelled, ...ws.validation];
  const both = trainWeakModel(
    ws.embeddings,
    dlv,
    dlv.map((p) => ws.gold[p]),
    [],
    { rows: [], labels: [] },
    classes,
    noSelf,
  );
  return [
    {
      name: 'rule majority vote',
      accuracy: q.accuracy * q.coverage,
      note: `keyword rules, ${ws.config.tiePolicy}; covers ${(100 * q.coverage).toFixed(1)} % of test at ${(100 * q.accuracy).toFixed(1)} %; uncovered rows count as wrong`,
    },
    {
      name: 'weak model, initial rules only',
      accuracy: run.records[0]?.modelAccuracy ?? NaN,
      note: 'm_0: keyword weak labels, self-training on the rest',
    },
    {
      name: 'weak model, D_l only',
      accuracy: acc(ws, argmaxRows(modelProbs(dl, ws.embeddings, ws.test))),
      note: `${ws.labelled.length} clean rows, early stopping on D_v`,
    },
    {
      name: 'model on D_l ∪ D_v',
      accuracy: acc(ws, argmaxRows(modelProbs(both, ws.embeddings, ws.test))),
      note: `${dlv.length} clean rows (all PRBoost sees), fixed epochs`,
    },
  ];
}
