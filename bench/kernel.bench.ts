/**
 * Kernel benchmarks, efflab against tslab 1.0.22 (the kernel efflab builds on) in the same run:
 *
 * - kernel-startup: spawn of the kernel process to its first `idle` status after answering a
 *   `kernel_info_request` (the client retries kernel_info every 100 ms until one is answered, as
 *   jupyter_client's wait_for_ready does). Median of several cold starts, ms.
 * - kernel-exec-overhead: round trip of a trivial cell (`1`) from sending `execute_request` to
 *   having both the reply and the `idle` status. Median after warm-up, ms.
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
const EXECS = Number(process.env.KERNEL_BENCH_EXECS ?? 60);
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

  async send(type: string, content: Message['content']): Promise<string> {
    const msg = this.session.message(type, content, {});
    await this.shell.send(encode(msg, this.signer));
    return msg.header.msg_id;
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
    const id = await client.send('kernel_info_request', {});
    const answered = await Promise.race([
      Promise.all([client.wait(isReplyTo(id)), client.wait(isIdleFor(id))]).then(() => true),
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

async function execRoundTrip(client: Client, code: string): Promise<number> {
  const t = performance.now();
  const id = await client.send('execute_request', {
    code,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true,
  });
  await Promise.all([client.wait(isReplyTo(id)), client.wait(isIdleFor(id))]);
  return performance.now() - t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const load = loadCheck();
  const startup: Record<string, number[]> = {};
  const firstCell: Record<string, number[]> = {};
  const exec: Record<string, number[]> = {};
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
    if (round === 0) {
      for (let i = 0; i < WARMUP; i++) for (const k of running) await execRoundTrip(k.client, '1');
      for (let i = 0; i < EXECS; i++) {
        for (const [j, k] of running.entries())
          (exec[IMPLS[j].name] ??= []).push(await execRoundTrip(k.client, '1'));
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
      ours_p90_ms: exec[ours].sort((a, b) => a - b)[Math.floor(EXECS * 0.9)],
      baseline_p90_ms: exec[base].sort((a, b) => a - b)[Math.floor(EXECS * 0.9)],
    },
    notes:
      'Trivial cell `1`: execute_request sent to reply and idle received, median after warm-up, samples interleaved between the two kernels running side by side. Both kernels type-check the cell with the same tslab compiler; efflab also publishes execute_input and an execute_result (tslab sends neither). ratio = baseline / ours (>1: efflab is faster).',
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
