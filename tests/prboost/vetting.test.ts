/**
 * Rule vetting (`ruleVetting: 'calibration'`, the mitigation of a careless accept): on real AG News rows
 * with the stand-in models of run.test.ts, six precise single-word rules certify σ on the calibration rows;
 * one careless rule of ten generic words (the kind a slip accepts whole) wins most of those rows and, without
 * vetting, no σ is certified for any rule. With vetting the careless rule is set aside and σ is certified
 * again; the set-aside rule stays accepted and matches nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../src/errors';
import {
  prboostConfig,
  prepareWorkspace,
  PrboostRun,
  SIGMA_NONE,
  template,
  type AcceptedRule,
  type RuleVetting,
  type Workspace,
} from '../../src/methods/prboost';
import { hashingEncoder, longestWordsLM, useSharedData } from './helpers';

useSharedData();
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prb-vet-'));
process.env.EFFLAB_PRBOOST_CACHE = cacheDir;
test.after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

const encoder = hashingEncoder(64, true);
/** The row's own longest words as the LM's proposals (V_u). */
const lm = longestWordsLM;

const GOOD: [string[], number][] = [
  [['classic'], 1],
  [['without'], 0],
  [['government'], 0],
  [['company'], 3],
  [['health'], 2],
  [['cricket'], 0],
];
/** Ten words frequent in the calibration rows' V_u across all four classes, labelled Sports. */
const CARELESS: [string[], number] = [
  [
    'thursday',
    'security',
    'announced',
    'first',
    'australia',
    'america',
    'service',
    'canadian',
    'british',
    'operations',
  ],
  1,
];

async function matchWith(
  ws: Workspace,
  vetting: RuleVetting,
  rules: [string[], number][],
): Promise<PrboostRun> {
  (ws.config as { ruleVetting: RuleVetting }).ruleVetting = vetting;
  const t = template('category');
  const run = new PrboostRun(ws, { storeDir: cacheDir });
  rules.forEach(([words, label], i) => {
    const src = ws.labelled.find((p) => ws.gold[p] === label && ws.keywordLabels[p] >= 0)!;
    const rule: AcceptedRule = {
      id: `r${i}`,
      label,
      words,
      template: t,
      instance: ws.items[src].text,
      sourceRow: ws.items[src].row,
      iteration: 1,
      decisions: [],
    };
    run.rules.push(rule);
  });
  await run.match();
  return run;
}

test('a careless rule blocks σ without vetting; vetting sets it aside and σ is certified again', async () => {
  const cfg = prboostConfig('quick', {
    unlabelledLimit: 400,
    testLimit: 200,
    labelledShare: 0.02,
    sigmaZ: 1,
  });
  const ws = await prepareWorkspace(cfg, { lm, encoder });
  const clean = await matchWith(ws, 'none', GOOD);
  assert.ok(
    clean.calibration!.sigma < SIGMA_NONE,
    `precise rules alone certify σ (${clean.calibration!.sigma})`,
  );
  const blocked = await matchWith(ws, 'none', [...GOOD, CARELESS]);
  assert.equal(blocked.calibration!.sigma, SIGMA_NONE, 'the careless rule blocks every σ');
  assert.equal(blocked.setAside.size, 0);
  const vetted = await matchWith(ws, 'calibration', [...GOOD, CARELESS]);
  assert.ok(vetted.setAside.has(`r${GOOD.length}`), 'the careless rule is set aside');
  assert.ok(
    vetted.setAside.size <= 2,
    `few precise rules are set aside too: ${[...vetted.setAside].join(', ')}`,
  );
  assert.ok(vetted.calibration!.sigma < SIGMA_NONE, 'σ is certified again');
  const u = vetted.bestRules(ws.unlabelled);
  assert.ok(
    u.rule.every((j) => j < 0 || !vetted.setAside.has(vetted.rules[j].id)),
    'set-aside rules win nothing',
  );
  assert.equal(vetted.rules.length, GOOD.length + 1, 'the set-aside rule stays accepted');
  const newly = ws.unlabelled.filter((p) => vetted.weakLabels[p] >= 0 && ws.keywordLabels[p] < 0).length;
  assert.ok(newly > 0, 'new rules label rows again');
  assert.throws(
    () => prboostConfig('quick', { ruleVetting: 'sometimes' as RuleVetting }),
    (e: unknown) => e instanceof ConfigError && /ruleVetting "sometimes"/.test(e.message),
  );
});
