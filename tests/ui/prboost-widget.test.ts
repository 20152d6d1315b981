/**
 * PRBoost's person-in-the-loop path in a real browser: JupyterLab with the efflab extension, headless
 * Chromium, a notebook on the efflab kernel. The notebook builds a small quick-preset workspace (real AG News
 * rows, SmolLM2 candidate words, MiniLM embeddings; LM/MiniLM rows come from the PRBoost cache when the
 * notebook test filled it), trains m_0 and steps one iteration with `prboost.widgetAnnotator`, plus one
 * candidate whose instance text carries an `<img onerror>` tag. In the widget we drop a word with the
 * keyboard, accept with the mouse, reject with the keyboard, accept then undo, reject with the mouse and
 * submit. Then the kernel side must hold exactly those decisions: the run's accepted rules (with the
 * dropped word gone, each with its decision and time), the iteration record, and the store file next to the
 * notebook with a per-decision time for every candidate. Screenshots: test-artifacts/ui-prboost/.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Lab, ROOT } from './lab';
import { useSharedData } from '../prboost/helpers';

interface PageNode {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): ArrayLike<PageNode>;
}
declare const document: PageNode;
declare const window: { efflabPwned?: number };

const STORE = 'ui-prboost';
const EVIL = '<img src=x onerror="window.efflabPwned=1">';

const CELLS = [
  // 0: a small real workspace, m_0, and one candidate carrying markup in its instance text
  `import { prboost, models as lms } from 'efflab';
const config = prboost.prboostConfig('quick', { iterations: 1 });
const ws = await prboost.prepareWorkspace(config, { lm: lms.loadCausalLM(config.lmModel), encoder: lms.loadSentenceEncoder(config.encoder) });
const run = new prboost.PrboostRun(ws, { storeDir: '.' }, 'ui');
await run.init();
const src = ws.labelled[1];
const evilText = '${EVIL} ' + ws.items[src].text;
const [evilWords] = await prboost.lmWords(ws.models.lm, config.lmModel, ws.templates[0], [evilText], { k: config.k });
const evil = { ...prboost.makeCandidates([{ row: ws.items[src].row, text: evilText, label: ws.gold[src], proposal: evilWords }], ws.templates[0], 1)[0], id: 'it1-evil' };
console.log('READY ' + evil.words.length);`,
  // 1: one PRBoost iteration annotated in the widget
  `const person = prboost.widgetAnnotator(run, { annotator: 'tester', store: '${STORE}', timeoutMs: 900000 });
run.setAnnotator((cands, t) => person([...cands, evil], t));
const rec = await run.step();
console.log('STEPPED ' + rec.iteration);`,
  // 2: what the kernel holds
  `import * as fs from 'node:fs';
const stored = JSON.parse(fs.readFileSync('${STORE}-it1.annotations.json', 'utf8'));
console.log('RESULT ' + JSON.stringify({
  rules: run.rules.map((r) => ({ id: r.id, words: r.words, decisions: r.decisions.map((d) => [d.annotator, d.verdict, d.durationMs]) })),
  record: { candidates: rec.candidates, acceptedNow: rec.acceptedNow, secondsPerDecision: rec.secondsPerDecision, rules: rec.rules },
  stored: stored.decisions.tester,
}));`,
];

const lab = new Lab(path.join(ROOT, 'test-artifacts', 'ui-prboost'), 'prboost-ui.ipynb');

before(async () => {
  useSharedData();
  const env: Record<string, string> = {};
  if (process.env.EFFLAB_DATA_DIR) env.EFFLAB_DATA_DIR = process.env.EFFLAB_DATA_DIR;
  await lab.start(CELLS, env);
});

after(async () => {
  await lab.stop();
});

test(
  'PRBoost candidates in the widget: drop a word, accept, reject, undo, keyboard; the run receives the decisions with their times',
  { timeout: 1_800_000 },
  async () => {
    const page = lab.page;
    try {
      await lab.runCell(0);
      // A cold quick workspace computes LM words and embeddings for a few hundred rows: allow for it.
      const ready = await lab.output(0, 'READY', 1_500_000).catch(async (e: Error) => {
        throw new Error(`${e.message}\ncell 0 output:\n${await lab.outputs(0)}`);
      });
      // The stream output may carry progress lines before the marker: read the number after it.
      const proposed = Number(/READY (\d+)/.exec(ready)?.[1] ?? Number.NaN);
      assert.ok(proposed > 0, `the LM proposed words for the marked-up instance; cell 0 printed:\n${ready}`);
      await lab.runCell(1);
      const widget = lab.cell(1).locator('.efflab-annotate');
      await widget.waitFor({ timeout: 300_000 });
      await page.waitForFunction(
        () => document.querySelector('.efflab-ann-status')?.textContent === 'connected',
      );
      await widget.scrollIntoViewIfNeeded();
      const card = widget.locator('.efflab-ann-card');
      const progress = widget.locator('.efflab-ann-progress');
      const ids = await widget
        .locator('.efflab-ann-row')
        .evaluateAll((rows) => rows.map((r) => (r as unknown as PageNode).dataset.candidate ?? ''));
      // quick: top-n = 4 instances → 4 real candidates, then the marked-up one.
      assert.equal(ids.length, 5, `candidates shown: ${ids.join(', ')}`);
      assert.equal(ids[4], 'it1-evil');
      assert.ok(
        ids.slice(0, 4).every((id) => /^it1-row\d+-category$/.test(id)),
        ids.join(', '),
      );
      assert.equal(await progress.innerText(), '0 / 5');
      // Dataset / LM text is shown as text: the tag is visible characters, no element, no script ran.
      assert.ok((await widget.innerText()).includes(EVIL), 'the marked-up instance text is shown literally');
      assert.equal(await widget.locator('img').count(), 0);
      assert.equal(await page.evaluate(() => window.efflabPwned), undefined);
      await lab.shot('prboost-widget-start');
      // JupyterLab's news prompt may float over the widget's buttons.
      await page
        .getByRole('button', { name: 'No', exact: true })
        .click({ timeout: 2000 })
        .catch(() => undefined);

      // Candidate 1: drop its second word with the keyboard, then accept with the mouse.
      assert.equal(await card.getAttribute('data-candidate'), ids[0]);
      const words = await card.locator('.efflab-ann-word').allInnerTexts();
      assert.ok(words.length >= 2, `candidate 1 has ${words.length} words`);
      // The preview (rows this rule would label, from the kernel) arrives for the candidate.
      await page.waitForFunction(
        () => document.querySelector('.efflab-ann-matches')?.dataset.count !== undefined,
      );
      await widget.focus();
      await page.keyboard.press('2');
      assert.equal(await card.locator('.efflab-ann-word').nth(1).getAttribute('aria-pressed'), 'false');
      await widget.locator('button.efflab-ann-accept').click();
      assert.equal(await card.getAttribute('data-candidate'), ids[1]);
      // Candidate 2: reject with the keyboard.
      await widget.focus();
      await page.keyboard.press('r');
      assert.equal(await card.getAttribute('data-candidate'), ids[2]);
      // Candidate 3: accept, then undo it, then reject with the mouse.
      await page.keyboard.press('a');
      assert.equal(await progress.innerText(), '3 / 5');
      await page.keyboard.press('u');
      assert.equal(await progress.innerText(), '2 / 5');
      assert.equal(await card.getAttribute('data-candidate'), ids[2]);
      await widget.locator('button.efflab-ann-reject').click();
      // Candidate 4: accept with the keyboard. Candidate 5 (markup): reject with the mouse.
      await widget.focus();
      await page.keyboard.press('a');
      assert.equal(await card.getAttribute('data-candidate'), 'it1-evil');
      assert.ok((await card.innerText()).includes(EVIL), 'its prompt and instance show the tag as text');
      assert.equal(await widget.locator('img').count(), 0);
      await widget.locator('button.efflab-ann-reject').click();
      assert.equal(await progress.innerText(), '5 / 5');
      await page.waitForFunction(() =>
        /^saved/.test(document.querySelector('.efflab-ann-status')?.textContent ?? ''),
      );
      await lab.shot('prboost-widget-decided');
      await widget.locator('button.efflab-ann-submit').click();
      await page.waitForFunction(() =>
        /^submitted 5/.test(document.querySelector('.efflab-ann-status')?.textContent ?? ''),
      );
      await lab.output(1, 'STEPPED', 600_000);

      await lab.runCell(2);
      const line = await lab.output(2, 'RESULT');
      const got = JSON.parse(line.slice(line.indexOf('RESULT ') + 'RESULT '.length)) as {
        rules: { id: string; words: string[]; decisions: [string, string, number][] }[];
        record: { candidates: number; acceptedNow: number; secondsPerDecision: number; rules: number };
        stored: Record<string, { verdict: string; keptWords: string[]; durationMs?: number }>;
      };
      // The accepted rules: candidate 1 without its dropped word, candidate 4 whole (unless it repeats 1).
      const kept1 = words
        .filter((_, i) => i !== 1)
        .map((w) =>
          w
            .replace(/^\d+\s*/, '')
            .trim()
            .toLowerCase(),
        );
      assert.equal(got.rules[0].id, ids[0]);
      assert.deepEqual(got.rules[0].words, kept1);
      assert.ok(
        got.rules.every((r) => [ids[0], ids[3]].includes(r.id)),
        JSON.stringify(got.rules),
      );
      for (const r of got.rules) {
        assert.equal(r.decisions.length, 1);
        assert.equal(r.decisions[0][0], 'tester');
        assert.equal(r.decisions[0][1], 'accept');
        assert.ok(typeof r.decisions[0][2] === 'number' && r.decisions[0][2] >= 0, 'per-decision time');
      }
      assert.equal(got.record.candidates, 4);
      assert.equal(got.record.acceptedNow, 2);
      assert.ok(Number.isFinite(got.record.secondsPerDecision) && got.record.secondsPerDecision >= 0);
      // Persisted next to the notebook, every decision with its time, the undone accept replaced.
      assert.deepEqual(
        ids.map((id) => got.stored[id]?.verdict),
        ['accept', 'reject', 'reject', 'accept', 'reject'],
      );
      assert.deepEqual(got.stored[ids[0]].keptWords, got.rules[0].words);
      for (const id of ids)
        assert.ok(typeof got.stored[id].durationMs === 'number' && got.stored[id].durationMs! >= 0, id);
      assert.ok(fs.existsSync(lab.workDir), 'the notebook folder is still there');
      await lab.shot('prboost-widget-submitted');
    } catch (err) {
      await lab.shot('FAILED-prboost-widget');
      throw err;
    }
  },
);
