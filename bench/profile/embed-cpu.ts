/**
 * A small MiniLM `embed` run to profile (not a record): 128 AG News texts twice at batch 32 after a warm-up,
 * printing wall and process CPU ms. Run: `nice -n 15 node --import tsx --cpu-prof --cpu-prof-dir=/tmp/prof
 * bench/profile/embed-cpu.ts`; EFFLAB_BERT_RESIDENT=0 profiles the op-by-op path.
 */
import { loadAgNews } from '../../src/data';
import { loadSentenceEncoder } from '../../src/models';
const texts = loadAgNews()
  .slice(0, 128)
  .map((r) => `${r.title}. ${r.description}`);
const enc = loadSentenceEncoder('all-minilm-l6-v2');
enc.embed(texts.slice(0, 32), 32);
const c0 = process.cpuUsage();
const t0 = performance.now();
enc.embed(texts, 32);
enc.embed(texts, 32);
const c = process.cpuUsage(c0);
console.log('wall', (performance.now() - t0).toFixed(0), 'cpu', ((c.user + c.system) / 1000).toFixed(0));
