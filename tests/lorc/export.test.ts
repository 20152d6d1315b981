/**
 * Export: the safetensors + JSON a PyTorch user loads, read back with numpy alone through
 * scripts/lorc_load.py's reader; one layer's K/V projections rebuilt from the factors equal what our
 * LoRC cache computes (keys: x·W_k·Q_r·Q_rᵀ; values: read back from the cache itself).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  analyse,
  calibrate,
  configCache,
  exportLorc,
  fixedWindows,
  leadingColumns,
  modelAttention,
  planConfig,
  whiten,
} from '../../src/methods/lorc';
import { Tensor, matmul } from '../../src/ops';
import { tinyLlama } from '../models/tiny-model';
import { numpy, randn } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..');

test('exported factors (numpy reader) rebuild the K/V projections our cache uses', () => {
  const model = tinyLlama();
  const { shape, weights } = modelAttention(model);
  const an = analyse(shape, weights);
  const ids = Array.from({ length: 48 }, (_, i) => (i * 5 + 1) % 40);
  const wh = whiten(an, calibrate(model, fixedWindows(ids, 16, 3, 'synthetic')));
  const plan = planConfig(an, {
    name: 'whitened asymmetric',
    bases: 'whitened',
    schedule: 'uniform',
    keyRatio: 0.3,
    valueRatio: 0.2,
    skip: { kind: 'firstLayers', count: 1 },
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lorc-export-'));
  const out = exportLorc(model, an, plan, dir, wh, { evaluation: { note: 'test' } });
  assert.deepEqual(
    out.tensors.map((t) => t.name),
    ['k_proj.down', 'k_proj.up', 'v_proj.down', 'v_proj.up'].map((n) => `model.layers.1.self_attn.${n}`),
    'layer 0 is skipped, layer 1 has four factors',
  );
  // Ours for layer 1 on T inputs x [T, D]: keys x·W_k·Q·Qᵀ, values read back from the cache.
  const l = 1;
  const T = 5;
  const D = model.config.hidden;
  const x = randn([T, D], 41);
  const q = leadingColumns(wh.layers[l].key.basis, plan.keyRanks[l]);
  const keys = matmul(matmul(matmul(x, weights[l].wk), q), q, { transB: true });
  const cache = configCache(an, plan, wh);
  const Hkv = model.config.numKvHeads;
  const hd = model.config.headDim;
  const positions = Array.from({ length: T }, (_, i) => i);
  const hid = new Tensor(new Float32Array(T * D), [1, T, D]);
  const v = matmul(x, weights[l].wv).reshape([1, T, Hkv, hd]);
  cache.append(l, {
    keysPreRope: matmul(x, weights[l].wk).reshape([1, T, Hkv, hd]),
    values: v,
    positions,
    hidden: hid,
  });
  const values = cache.read(l).values;
  const ref = numpy<{ k: number; v: number; ranks: number[][]; cfg: string }>(
    `
sys.path.insert(0, inp["scripts"])
from lorc_load import low_rank_weights
cfg, f = low_rank_weights(inp["dir"])
X = np.array(inp["x"], dtype=np.float64).reshape(${T}, ${D})
kd, ku = f[(1, "k")]; vd, vu = f[(1, "v")]
K = X @ (ku.astype(np.float64) @ kd).T          # the rebuilt k_proj, PyTorch layout [out, in]
V = X @ (vu.astype(np.float64) @ vd).T
k_ours = np.array(inp["keys"]).reshape(K.shape); v_ours = np.array(inp["values"]).reshape(V.shape)
print(json.dumps({"k": float(np.abs(K - k_ours).max() / np.abs(K).max()),
                  "v": float(np.abs(V - v_ours).max() / np.abs(V).max()),
                  "ranks": [cfg["key_ranks"], cfg["value_ranks"]], "cfg": cfg["format"]}))
`,
    {
      scripts: path.join(ROOT, 'scripts'),
      dir,
      x: Array.from(x.data),
      keys: Array.from(keys.data),
      values: Array.from(values.data),
    },
  );
  // float32 factors and float32 products on our side: 1e-5 relative to the largest entry.
  assert.ok(ref.k < 1e-5, `keys differ by ${ref.k}`);
  assert.ok(ref.v < 1e-5, `values differ by ${ref.v}`);
  assert.deepEqual(ref.ranks, [plan.keyRanks, plan.valueRanks]);
  assert.equal(ref.cfg, 'efflab-lorc');
  fs.rmSync(dir, { recursive: true, force: true });
});
