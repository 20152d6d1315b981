/**
 * A run's data: the AG News rows it touches (D_l, D_v, D_u and test, subsets for small presets), their
 * gold labels, keyword-rule votes, cached MiniLM embeddings and cached LM slot words. Positions below
 * index this working set, not test.csv.
 */
import {
  AGNEWS_CLASSES,
  loadAgNewsItems,
  loadKeywordRules,
  seededRandom,
  stratifiedSplits,
  type AgNewsItem,
  type KeywordRule,
} from '../../data/agnews';
import type { Tensor } from '../../ops';
import type { PrboostConfig } from './config';
import { embeddings, lmWords, type SentenceEncoder } from './features';
import { aggregateVotes, applyKeywordRules, type LabelMatrix } from './label-matrix';
import { template, type NextTokenModel, type PromptTemplate, type WordProposal } from './prompts';

/** The models a run uses (loaded by the caller, or lazily by `prepareWorkspace`). */
export interface PrboostModels {
  lm: NextTokenModel;
  encoder: SentenceEncoder;
}

export interface Workspace {
  readonly config: PrboostConfig;
  readonly classNames: readonly string[];
  readonly items: readonly AgNewsItem[];
  readonly gold: Int32Array;
  readonly labelled: readonly number[];
  readonly validation: readonly number[];
  readonly unlabelled: readonly number[];
  readonly test: readonly number[];
  readonly keywordRules: readonly KeywordRule[];
  /** Keyword votes and their aggregate (−1 = uncovered) per position. */
  readonly keywordVotes: LabelMatrix;
  readonly keywordLabels: Int32Array;
  readonly embeddings: Tensor;
  readonly templates: readonly PromptTemplate[];
  /** V_u per template name, per position (D_l, D_v and D_u rows; test rows empty). */
  readonly words: Map<string, WordProposal[]>;
  readonly models: PrboostModels;
  /** Wall seconds of the cached feature computations. */
  readonly seconds: { embeddings: number; lmWords: number };
}

function limitStratified(
  rows: readonly number[],
  labels: readonly number[],
  limit: number,
  seed: number,
): number[] {
  if (!(limit > 0) || limit >= rows.length) return [...rows];
  const rand = seededRandom(seed);
  const byClass = new Map<number, number[]>();
  for (const r of rows) byClass.set(labels[r], [...(byClass.get(labels[r]) ?? []), r]);
  const queues = [...byClass.values()].map((q) => {
    for (let i = q.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [q[i], q[j]] = [q[j], q[i]];
    }
    return q;
  });
  const out: number[] = [];
  for (let i = 0; out.length < limit; i++)
    for (const q of queues) if (i < q.length && out.length < limit) out.push(q[i]);
  return out.sort((a, b) => a - b);
}

/** Loads the data, splits it, and fills the caches (progress bars with ETA while they compute). */
export async function prepareWorkspace(config: PrboostConfig, models: PrboostModels): Promise<Workspace> {
  const all = loadAgNewsItems();
  const labels = all.map((r) => r.label);
  const splitSeed = config.splitSeed ?? config.seed;
  const s = stratifiedSplits(labels, { seed: splitSeed, labelled: config.labelledShare });
  const unl = limitStratified(s.unlabelled, labels, config.unlabelledLimit, splitSeed + 101);
  const tst = limitStratified(s.test, labels, config.testLimit, splitSeed + 202);
  const order = [...s.labelled, ...s.validation, ...unl, ...tst];
  const items = order.map((i) => all[i]);
  const pos = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
  const labelled = pos(0, s.labelled.length);
  const validation = pos(labelled.length, s.validation.length);
  const unlabelled = pos(labelled.length + validation.length, unl.length);
  const test = pos(labelled.length + validation.length + unl.length, tst.length);
  const keywordRules = loadKeywordRules();
  const keywordVotes = applyKeywordRules(items, keywordRules);
  const keywordLabels = aggregateVotes(keywordVotes, AGNEWS_CLASSES.length, config.tiePolicy);
  let t0 = Date.now();
  const emb = await embeddings(
    models.encoder,
    config.encoder,
    items.map((r) => r.text),
  );
  const embSeconds = (Date.now() - t0) / 1000;
  t0 = Date.now();
  const templates = config.templates.map((t) => template(t));
  const words = new Map<string, WordProposal[]>();
  // V_u of D_u (matching), D_v (σ) and D_l (the simulated annotators' evidence; hard instances come from it).
  const need = [...labelled, ...validation, ...unlabelled];
  for (const t of templates) {
    const got = await lmWords(
      models.lm,
      config.lmModel,
      t,
      need.map((p) => items[p].text),
      { k: config.k },
    );
    const arr: WordProposal[] = items.map(() => ({ words: [], probs: [] }));
    need.forEach((p, i) => (arr[p] = got[i]));
    words.set(t.name, arr);
  }
  return {
    config,
    classNames: AGNEWS_CLASSES,
    items,
    gold: Int32Array.from(items, (r) => r.label),
    labelled,
    validation,
    unlabelled,
    test,
    keywordRules,
    keywordVotes,
    keywordLabels,
    embeddings: emb,
    templates,
    words,
    models,
    seconds: { embeddings: embSeconds, lmWords: (Date.now() - t0) / 1000 },
  };
}
