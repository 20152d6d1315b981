// transformers.js (onnxruntime-node, CPU) as a peer of our MiniLM encoder, served over the line protocol
// of serve.mjs. The model is the repo's all-MiniLM-L6-v2 exported to ONNX by
// bench/baselines/export_minilm_onnx.py (no hub access: env.allowRemoteModels = false;
// an absolute folder path is read as a local path, not a hub id).
// Commands: load {modelDir, threads, texts, batch} · embed {order: 'sorted' | 'given'}.
// 'sorted' batches the texts in ascending token length (as our BertEncoder.embed does; sentence-transformers
// sorts by character length), 'given' batches them in the order given. Embeddings are mean-pooled over
// real tokens and L2-normalised (the sentence-transformers recipe), truncated at 256 tokens like both others
// (the exported tokenizer_config.json says model_max_length 256).
import { env, pipeline } from '@huggingface/transformers';
import { serve, timed } from './serve.mjs';

let extractor, texts, batch;

async function embedAll(order) {
  let idx = texts.map((_, i) => i);
  if (order === 'sorted') {
    const lens = texts.map((t) => extractor.tokenizer.encode(t).length);
    idx.sort((a, b) => lens[a] - lens[b]);
  }
  const out = new Array(texts.length);
  for (let s = 0; s < idx.length; s += batch) {
    const part = idx.slice(s, s + batch);
    const t = await extractor(
      part.map((i) => texts[i]),
      { pooling: 'mean', normalize: true },
    );
    const dim = t.dims[1];
    part.forEach((i, r) => (out[i] = t.data.subarray(r * dim, (r + 1) * dim)));
  }
  return out;
}

await serve({
  async load(cmd) {
    env.allowRemoteModels = false;
    texts = cmd.texts;
    batch = cmd.batch;
    const t = await timed(async () => {
      extractor = await pipeline('feature-extraction', cmd.modelDir, {
        device: 'cpu',
        dtype: 'fp32',
        session_options: { intraOpNumThreads: cmd.threads, interOpNumThreads: 1 },
      });
      return embedAll('given'); // warm-up, and the embeddings for the parity check
    });
    const check = cmd.check ?? 4;
    return {
      load_ms: t.wall,
      version: env.version,
      first: t.value.slice(0, check).map((v) => Array.from(v)),
    };
  },
  async embed(cmd) {
    const t = await timed(() => embedAll(cmd.order));
    return { wall: t.wall, cpu: t.cpu };
  },
});
