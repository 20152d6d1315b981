/**
 * Kernel benchmarks, efflab against tslab 1.0.22 (the kernel efflab builds on) in the same run:
 *
 * - kernel-startup: spawn of the kernel process to its first `idle` status after answering a
 *   `kernel_info_request` (the client retries kernel_info every 100 ms until one is answered, as
 *   jupyter_client's wait_for_ready does). Median of several cold starts, ms.
 * - kernel-exec-overhead: round trip of a trivial cell (`1`) from sending `execute_request` to
 *   having both the reply and the `idle` status, after warm-up, interleaved between the two kernels,
 *   in every pair of fresh kernels the startup record starts. Median over all samples, ms.
 * - kernel-first-import: in a fresh efflab kernel (compiler warmed by one cell `1`), the round trip
 *   of the first cell that imports from efflab and displays (`import { display } from 'efflab'`),
 *   against a cell importing nothing run just before it in the same kernel, both after a pause
 *   (KERNEL_BENCH_IMPORT_IDLE_MS) in which the kernel preloads efflab's declarations; the same
 *   cells in kernels with the preload off (EFFLAB_KERNEL_PRELOAD=0) are recorded beside them. Median over fresh
 *   kernels, ms. (Target: ≤ 500 ms; efflab loads its areas lazily, see src/index.ts.)
 *
 * Both kernels run in an empty temporary folder. The client is written here on zeromq with
 * efflab's wire module; it is the same for both kernels.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Dealer, Subscriber } from 'zeromq';
import { decode, encode, Signer, type Message } from '../kernel/src/wire';
import { Session } from '../kernel/src/session';
import { ROOT, loadCheck, writeRecord } from './lib';

const STARTS = Number(process.env.KERNEL_BENCH_STARTS ?? 5);
const IMPORT_ROUNDS = Number(process.env.KERNEL_BENCH_IMPORT_ROUNDS ?? 5);
const IMPORT_CELL = "import { display } from 'efflab';\ndisplay('first import');";
const NOTHING_CELL = "const nothing = 'first import';\nnothing;";
const ALL_AREAS_CELL = "import { data, models, ptloss } from 'efflab';\n[data, models, ptloss].length;";
/** Pause after the first cell, as between opening a notebook and running it (the preload's moment). */
const IMPORT_IDLE_MS = Number(process.env.KERNEL_BENCH_IMPORT_IDLE_MS ?? 3000);
const EXECS = Number(process.env.KERNEL_BENCH_EXECS ?? 40);
const WARMUP = 10;

interface KernelImpl {
  name: string;
  command: (connectionFile: string) => string[];
}

const IMPLS: KernelImpl[] = [
  {
    name: 'efflab',
    command: (f) => [
      process.execPath,
      path.join(ROOT, 'dist', 'kernel', 'src', 'main.js'),
      '--connection-file',
      f,
    ],
  },
  {
    name: 'tslab 1.0.22',
    command: (f) => [
      process.execPath,
      path.join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab'),
      'kernel',
      '--config-path',
      f,
    ],
  },
];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** A minimal Jupyter client: shell DEALER + iopub SUB. */
class Client {
  readonly shell = new Dealer({ linger: 0 });
  readonly iopub = new Subscriber({ linger: 0 });
  readonly session = new Session('bench');
  readonly signer: Signer;
  private readonly waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  private closed = false;

  constructor(key: string) {
    this.signer = new Signer(key);
    this.iopub.subscribe();
  }

  async connect(shellPort: number, iopubPort: number): Promise<void> {
    this.shell.connect(`tcp://127.0.0.1:${shellPort}`);
    this.iopub.connect(`tcp://127.0.0.1:${iopubPort}`);
    void this.pump(this.shell);
    void this.pump(this.iopub);
  }

  private async pump(socket: Dealer | Subscriber): Promise<void> {
    try {
      for await (const frames of socket) {
        const d = decode(frames, this.signer);
        if (!d.ok) continue;
        const at = this.waiters.findIndex((w) => w.match(d.message));
        if (at >= 0) this.waiters.splice(at, 1)[0].resolve(d.message);
      }
    } catch (e) {
      if (!this.closed) throw e;
    }
  }

  wait(match: (m: Message) => boolean): Promise<Message> {
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /**
   * Sends a request and returns its reply and its idle status. Both waiters are registered before the
   * send: a fast kernel's answer can arrive before the send's promise settles, and would be dropped.
   */
  async request(
    type: string,
    content: Message['content'],
  ): Promise<{ reply: Promise<Message>; idle: Promise<Message> }> {
    const msg = this.session.message(type, content, {});
    const id = msg.header.msg_id;
    const reply = this.wait(isReplyTo(id));
    const idle = this.wait(isIdleFor(id));
    await this.shell.send(encode(msg, this.signer));
    return { reply, idle };
  }

  close(): void {
    this.closed = true;
    this.shell.close();
    this.iopub.close();
  }
}

const isIdleFor = (id: string) => (m: Message) =>
  m.header.msg_type === 'status' && m.content.execution_state === 'idle' && m.parent_header.msg_id === id;
const isReplyTo = (id: string) => (m: Message) =>
  m.header.msg_type.endsWith('_reply') && m.parent_header.msg_id === id;

interface Started {
  child: ChildProcess;
  client: Client;
  startupMs: number;
  spawnedAt: number;
  dir: string;
}

async function startKernel(impl: KernelImpl, env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'efflab-bench-'));
  const [shell, iopub, control, stdin, hb] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
  const key = 'bench-key-0123456789';
  const file = path.join(dir, 'connection.json');
  writeFileSync(
    file,
    JSON.stringify({
      transport: 'tcp',
      ip: '127.0.0.1',
      shell_port: shell,
      iopub_port: iopub,
      control_port: control,
      stdin_port: stdin,
      hb_port: hb,
      key,
      signature_scheme: 'hmac-sha256',
    }),
  );
  const client = new Client(key);
  await client.connect(shell, iopub);
  const [cmd, ...args] = impl.command(file);
  const t0 = performance.now();
  const child = spawn(cmd, args, {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...process.env, EFFLAB_HISTORY_DIR: dir, ...env },
  });
  for (;;) {
    const { reply, idle } = await client.request('kernel_info_request', {});
    const answered = await Promise.race([
      Promise.all([reply, idle]).then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 100)),
    ]);
    if (answered) break;
    if (performance.now() - t0 > 60_000) throw new Error(`${impl.name} did not start in 60 s`);
  }
  return { child, client, startupMs: performance.now() - t0, spawnedAt: t0, dir };
}

async function stopKernel(k: Started): Promise<void> {
  k.client.close();
  k.child.kill('SIGKILL');
  await new Promise((r) => k.child.once('exit', r));
  rmSync(k.dir, { recursive: true, force: true });
}

/** How long after its reply a cell's idle status may still come before it counts as lost. */
const IDLE_AFTER_REPLY_MS = 2000;

/**
 * Round trip of one cell: from sending `execute_request` to having both its reply and its idle
 * status, ms. Undefined when the reply came but the idle did not within IDLE_AFTER_REPLY_MS:
 * tslab 1.0.22 now and then never publishes a cell's idle (4 times in about 3,000 cells here;
 * efflab never); such a cell is counted, not timed.
 */
async function tryRoundTrip(client: Client, code: string): Promise<number | undefined> {
  const t = performance.now();
  const { reply, idle } = await client.request('execute_request', {
    code,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true,
  });
  await reply;
  const idleAt = await Promise.race([
    idle.then(() => performance.now()),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), IDLE_AFTER_REPLY_MS)),
  ]);
  return idleAt === undefined ? undefined : idleAt - t;
}

async function execRoundTrip(client: Client, code: string): Promise<number> {
  const ms = await tryRoundTrip(client, code);
  if (ms === undefined) throw new Error(`no idle status within ${IDLE_AFTER_REPLY_MS} ms of the reply`);
  return ms;
}

function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))];
}

async function main(): Promise<void> {
  const load = loadCheck();
  const startup: Record<string, number[]> = {};
  const firstCell: Record<string, number[]> = {};
  const roundExec: Record<string, number[][]> = {};
  const lostIdle: Record<string, number> = {};
  // Kernels alternate, and the round-trip samples interleave the two kernels, so that background
  // load on the machine affects both alike.
  for (let round = 0; round < STARTS; round++) {
    const running: Started[] = [];
    for (const impl of IMPLS) {
      const k = await startKernel(impl);
      (startup[impl.name] ??= []).push(k.startupMs);
      await execRoundTrip(k.client, '1');
      (firstCell[impl.name] ??= []).push(performance.now() - k.spawnedAt);
      running.push(k);
    }
    // Every pair of fresh kernels contributes EXECS samples each: a single pair's median moves by
    // ±10 % from one pair of processes to the next (where each lands in memory and on the cores).
    for (let i = 0; i < WARMUP; i++) for (const k of running) await tryRoundTrip(k.client, '1');
    for (const impl of IMPLS) (roundExec[impl.name] ??= []).push([]);
    for (let i = 0; i < EXECS; i++) {
      for (const [j, k] of running.entries()) {
        const name = IMPLS[j].name;
        const ms = await tryRoundTrip(k.client, '1');
        if (ms === undefined) lostIdle[name] = (lostIdle[name] ?? 0) + 1;
        else (roundExec[name].at(-1) as number[]).push(ms);
      }
    }
    for (const k of running) await stopKernel(k);
  }
  // First import: fresh efflab kernels only (tslab has no efflab to import), alternately with and
  // without the preload of efflab's declarations (EFFLAB_KERNEL_PRELOAD=0), in the same conditions.
  const importMs: number[] = [];
  const nothingMs: number[] = [];
  const allAreasMs: number[] = [];
  const noPreload = { importMs: [] as number[], nothingMs: [] as number[] };
  const pause = () => new Promise((r) => setTimeout(r, IMPORT_IDLE_MS));
  for (let round = 0; round < IMPORT_ROUNDS; round++) {
    for (const preload of [true, false]) {
      const k = await startKernel(IMPLS[0], preload ? {} : { EFFLAB_KERNEL_PRELOAD: '0' });
      await execRoundTrip(k.client, '1');
      await pause();
      const nothing = await execRoundTrip(k.client, NOTHING_CELL);
      const imported = await execRoundTrip(k.client, IMPORT_CELL);
      if (preload) {
        nothingMs.push(nothing);
        importMs.push(imported);
        allAreasMs.push(await execRoundTrip(k.client, ALL_AREAS_CELL));
      } else {
        noPreload.nothingMs.push(nothing);
        noPreload.importMs.push(imported);
      }
      await stopKernel(k);
    }
  }
  const [ours, base] = IMPLS.map((i) => i.name);
  const exec = Object.fromEntries(Object.entries(roundExec).map(([name, rounds]) => [name, rounds.flat()]));
  const config = {
    starts: STARTS,
    execs: EXECS,
    warmup_execs: WARMUP,
    cell: '1',
    cwd: 'empty temporary folder',
    load1: Number(load.load1.toFixed(2)),
  };
  writeRecord({
    ...load.mark,
    name: 'kernel-startup',
    unit: 'ms',
    ours: median(startup[ours]),
    baseline: median(startup[base]),
    baseline_impl: base,
    ratio: median(startup[base]) / median(startup[ours]),
    config: {
      ...config,
      ours_ms: startup[ours].map(Math.round),
      baseline_ms: startup[base].map(Math.round),
      first_cell_done_ms: {
        ours: Math.round(median(firstCell[ours])),
        baseline: Math.round(median(firstCell[base])),
      },
    },
    notes:
      'Spawn to the first idle status after an answered kernel_info_request (kernel_info retried every 100 ms). Median of cold starts, kernels alternated. ratio = baseline / ours (>1: efflab starts faster). efflab binds its sockets first and warms the TypeScript compiler right after, so its first cell can still wait for the compiler: config.first_cell_done_ms gives spawn to the first cell `1` finished, median, for both.',
  });
  writeRecord({
    ...load.mark,
    name: 'kernel-exec-overhead',
    unit: 'ms',
    ours: median(exec[ours]),
    baseline: median(exec[base]),
    baseline_impl: base,
    ratio: median(exec[base]) / median(exec[ours]),
    config: {
      ...config,
      samples: { ours: exec[ours].length, baseline: exec[base].length },
      ours_p90_ms: quantile(exec[ours], 0.9),
      baseline_p90_ms: quantile(exec[base], 0.9),
      ours_round_medians_ms: roundExec[ours].map((xs) => Number(median(xs).toFixed(3))),
      baseline_round_medians_ms: roundExec[base].map((xs) => Number(median(xs).toFixed(3))),
      round_ratios: roundExec[ours].map((xs, r) =>
        Number((median(roundExec[base][r]) / median(xs)).toFixed(3)),
      ),
      lost_idle: { ours: lostIdle[ours] ?? 0, baseline: lostIdle[base] ?? 0 },
    },
    notes:
      "Trivial cell `1`: execute_request sent to reply and idle received, after warm-up, samples interleaved between the two kernels running side by side; config.starts pairs of fresh kernels, config.execs samples of each kernel per pair, ours/baseline = the median over all samples. Both kernels type-check the cell with the same tslab compiler (in a CPU profile of efflab's kernel, tslab's conversion of the emitted module to CommonJS, a fresh TypeScript program per cell, is half of a trivial cell's time); efflab also publishes execute_input and an execute_result (tslab sends neither). A cell whose idle status never came (config.lost_idle) is counted, not timed. ratio = baseline / ours (>1: efflab is faster).",
  });
  writeRecord({
    ...load.mark,
    name: 'kernel-first-import',
    unit: 'ms',
    ours: median(importMs),
    baseline: median(nothingMs),
    baseline_impl: 'efflab, a cell importing nothing (same fresh kernel, just before)',
    ratio: median(nothingMs) / median(importMs),
    config: {
      load1: config.load1,
      rounds: IMPORT_ROUNDS,
      idle_after_first_cell_ms: IMPORT_IDLE_MS,
      import_cell: IMPORT_CELL,
      nothing_cell: NOTHING_CELL,
      target_ms: 500,
      ours_ms: importMs.map(Math.round),
      baseline_ms: nothingMs.map(Math.round),
      without_preload: {
        env: 'EFFLAB_KERNEL_PRELOAD=0',
        import_median_ms: Math.round(median(noPreload.importMs)),
        nothing_median_ms: Math.round(median(noPreload.nothingMs)),
        import_ms: noPreload.importMs.map(Math.round),
        nothing_ms: noPreload.nothingMs.map(Math.round),
      },
      then_data_models_ptloss_ms: {
        cell: ALL_AREAS_CELL,
        median: Math.round(median(allAreasMs)),
        runs: allAreasMs.map(Math.round),
      },
    },
    notes:
      "Round trip (execute_request to reply and idle) of the first cell that imports from efflab, in a fresh kernel whose compiler was warmed by one cell `1` followed by a pause of config.idle_after_first_cell_ms (as between opening a notebook and running its cells), in which the kernel preloads efflab's declarations into the compiler; baseline = a cell importing nothing, run right before in the same kernel. The import cell type-checks against efflab's declarations and loads only src/display at run time (areas load on first use); config.then_data_models_ptloss_ms is the next cell, which loads those areas (danfojs, tokenizers, compute backends). config.without_preload: the same cells in kernels started with EFFLAB_KERNEL_PRELOAD=0, alternated with the others (what a cell run with no pause after start-up, e.g. run-all at once, still pays). ratio = baseline / ours (<1: the import costs more than an empty cell).",
  });
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
