/**
 * PRBoost on the rows whose features are already cached: a medium-sized check of the soft-matching claims
 * (coverage up, rule accuracy held) while the full caches are still being filled. The split is the
 * default preset's (seed PRBOOST_SEED, default 0); D_u is every D_u row of that split whose LM words and
 * embedding are in the cache (at most PRBOOST_UNLABELLED), test is up to PRBOOST_TEST cached test rows; only
 * D_l's LM words and the rule embeddings may be computed. For each annotator evidence in PRBOOST_EVIDENCE
 * (default "text,text+lm") it prints the per-iteration table and the match diagnostics after the last
 * iteration, and writes bench/experiments/prboost-cached-seed<seed>-u<D_u rows>.json. Not a benchmark record.
 *   EFFLAB_PRBOOST_CACHE=<copy of the cache> node --import tsx bench/prboost-cached.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCausalLM, loadSentenceEncoder } from '../src/models';
import { AGNEWS_CLASSES, loadAgNewsItems, loadKeywordRules, stratifiedSplits } from '../src/data/agnews';
import {
  aggregateVotes,
  applyKeywordRules,
  embeddings,
  iterationRows,
  lmWords,
  lmWordsHeader,
  markdownTable,
  matchDiagnostics,
  matchDiagnosticsRows,
  PrboostRun,
  prboostConfig,
  RowCache,
  template,
  cacheFileName,
  cacheDir,
  type AnnotatorEvidence,
  type PrboostConfig,
  type WordProposal,
  type Workspace,
} from '../src/methods/prboost';
import { ROOT } from './lib';

const env = (k: string, d: number): number => (process.env[k] !== undefined ? Number(process.env[k]) : d);
const log = (m: string): void =>
  console.error(`[prboost-cached ${new Date().toISOString().slice(11, 19)}] ${m}`);

async function main(): Promise<void> {
  const seed = env('PRBOOST_SEED', 0);
  const base = prboostConfig('default', {
    seed,
    iterations: env('PRBOOST_ITERATIONS', 3),
    topN: env('PRBOOST_TOPN', 10),
    ...(process.env.PRBOOST_SIGMA_ROWS
      ? { sigmaRows: process.env.PRBOOST_SIGMA_ROWS as PrboostConfig['sigmaRows'] }
      : {}),
  });
  const all = loadAgNewsItems();
  const labels = all.map((r) => r.label);
  const s = stratifiedSplits(labels, { seed, labelled: base.labelledShare });
  const t = template(base.templates[0]);
  const lmCache = RowCache.open<WordProposal>(
    lmWordsHeader(base.lmModel, t, { k: base.k }),
    path.join(cacheDir(), cacheFileName(lmWordsHeader(base.lmModel, t, { k: base.k }))),
  );
  const embCache = RowCache.open<string>({ kind: 'prboost-embeddings', version: 1, model: base.encoder });
  const cached = (i: number, lm: boolean): boolean =>
    embCache.has(all[i].text) && (!lm || lmCache.has(all[i].text));
  const unl = s.unlabelled.filter((i) => cached(i, true)).slice(0, env('PRBOOST_UNLABELLED', 1500));
  const tst = s.test.filter((i) => cached(i, false)).slice(0, env('PRBOOST_TEST', 800));
  log(`D_u ${unl.length} of ${s.unlabelled.length} cached; test ${tst.length}`);
  const order = [...s.labelled, ...s.validation, ...unl, ...tst];
  const items = order.map((i) => all[i]);
  const pos = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
  const nl = s.labelled.length;
  const nv = s.validation.length;
  const models = { lm: loadCausalLM(base.lmModel), encoder: loadSentenceEncoder(base.encoder) };
  const emb = await embeddings(
    models.encoder,
    base.encoder,
    items.map((r) => r.text),
  );
  const need = pos(0, nl + nv + unl.length);
  const got = await lmWords(
    models.lm,
    base.lmModel,
    t,
    need.map((p) => items[p].text),
    { k: base.k },
  );
  const arr: WordProposal[] = items.map(() => ({ words: [], probs: [] }));
  need.forEach((p, i) => (arr[p] = got[i]));
  const kwVotes = applyKeywordRules(items, loadKeywordRules());
  const out: Record<string, unknown> = {};
  for (const evidence of (process.env.PRBOOST_EVIDENCE ?? 'text,text+lm').split(',') as AnnotatorEvidence[]) {
    const config = { ...base, annotator: { ...base.annotator, evidence } };
    const ws: Workspace = {
      config,
      classNames: AGNEWS_CLASSES,
      items,
      gold: Int32Array.from(items, (r) => r.label),
      labelled: pos(0, nl),
      validation: pos(nl, nv),
      unlabelled: pos(nl + nv, unl.length),
      test: pos(nl + nv + unl.length, tst.length),
      keywordRules: loadKeywordRules(),
      keywordVotes: kwVotes,
      keywordLabels: aggregateVotes(kwVotes, AGNEWS_CLASSES.length, config.tiePolicy),
      embeddings: emb,
      templates: [t],
      words: new Map([[t.name, arr]]),
      models,
      seconds: { embeddings: 0, lmWords: 0 },
    };
    const run = new PrboostRun(
      ws,
      { storeDir: path.join(cacheDir(), 'annotations-cached') },
      `cached-${evidence.replace('+', '_')}`,
    );
    const diags: unknown[] = [];
    await run.init();
    while (run.records.length <= config.iterations) {
      await run.step();
      diags.push(matchDiagnostics(run).map(({ curve: _c, ...d }) => d));
    }
    const d = matchDiagnostics(run);
    console.log(
      `\n## evidence = ${evidence}: ${run.rules.length} rules, target precision ${run.targetPrecision.toFixed(3)}\n`,
    );
    console.log(markdownTable(iterationRows(run.records)));
    console.log('');
    console.log(markdownTable(matchDiagnosticsRows(d)));
    console.log('\nD_v calibration curve (σ: matched, precision):');
    console.log(
      run.calibration?.curve
        .filter((p) => p.matched > 0 && Math.round(p.sigma * 100) % 2 === 0)
        .map((p) => `${p.sigma.toFixed(2)}: ${p.matched}, ${(100 * p.precision).toFixed(0)} %`)
        .join('; ') ?? 'none',
    );
    console.log(`σ chosen: ${run.calibration?.sigma} (${run.calibration?.reason})`);
    console.log(
      'rules: ' + run.rules.map((r) => `${AGNEWS_CLASSES[r.label]}←{${r.words.join(' ')}}`).join('  '),
    );
    out[evidence] = {
      records: run.records,
      diagnostics: diags,
      rules: run.rules.map((r) => ({ label: r.label, words: r.words })),
    };
  }
  const file = path.join(
    ROOT,
    'bench',
    'experiments',
    `prboost-cached-seed${seed}-u${unl.length}-${base.sigmaRows}.json`,
  );
  fs.writeFileSync(
    file,
    `${JSON.stringify({ seed, unlabelled: unl.length, test: tst.length, ...out }, null, 1)}\n`,
  );
  log(`wrote ${file}`);
}

void main();
