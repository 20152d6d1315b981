// node-llama-cpp (prebuilt llama.cpp) as a peer of our decoder, served over the line protocol of serve.mjs.
// Commands: load {gguf, threads, ids} · prefill {} · decode {steps}. Both prefill and decode compute the
// output layer for the last position only and pick the greedy token, as ours does (logits: 'last').
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { serve, timed } from './serve.mjs';

let llama, model, context, seq, ids;

const greedy = { generateNext: { token: true, options: { temperature: 0 } } };

/** Evaluate `tokens` into the sequence, the last one with a greedy next token; returns that token. */
async function step(tokens) {
  const input = tokens.map((t, i) => (i === tokens.length - 1 ? [t, greedy] : t));
  const out = await seq.controlledEvaluate(input);
  const next = out[tokens.length - 1]?.next?.token;
  if (next === undefined) throw new Error('node-llama-cpp returned no next token');
  return next;
}

await serve({
  async load(cmd) {
    const t = await timed(async () => {
      // build: 'never' — use the prebuilt binary from @node-llama-cpp/linux-x64, never compile or download.
      llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
      model = await llama.loadModel({ modelPath: cmd.gguf, gpuLayers: 0 });
      context = await model.createContext({
        contextSize: 512,
        batchSize: 512,
        threads: cmd.threads,
        sequences: 1,
      });
      seq = context.getSequence();
      ids = cmd.ids;
      await step(ids); // warm-up
      await seq.clearHistory();
    });
    return {
      load_ms: t.wall,
      version: '3.21.1',
      threads: context.currentThreads,
      gpu: llama.gpu,
      cpu_build: llama.buildType ?? null,
    };
  },
  async prefill() {
    await seq.clearHistory();
    const t = await timed(() => step(ids));
    return { wall: t.wall, cpu: t.cpu, token: t.value };
  },
  async decode(cmd) {
    await seq.clearHistory();
    let tok = await step(ids);
    const first = tok;
    const t = await timed(async () => {
      for (let i = 0; i < cmd.steps; i++) tok = await step([tok]);
    });
    return { wall: t.wall / cmd.steps, cpu: t.cpu / cmd.steps, first_token: first };
  },
});
