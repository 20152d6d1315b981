/**
 * Exports of a DORM run: the final weights per training pair as CSV (id, source, flipped, u, q, w⁰, w), and
 * the trained head as safetensors. CSV because `pandas.read_csv` (or numpy, or a spreadsheet) reads it with
 * nothing else installed, the table is a few thousand rows, and the project has no Parquet writer; floats
 * are written in their shortest round-trip form, so a reader gets the same doubles back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ShapeError, ValueError } from '../../errors';
import { torchLayout, type RewardHead } from './head';
import type { PriorWeights } from './prior';
import type { PairSet } from './task';

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** JavaScript's shortest form that parses back to the same double (NaN / Infinity spelled as pandas reads them). */
function num(x: number): string {
  return Number.isFinite(x) ? String(x) : Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
}

/** The weights table as CSV text: one row per training pair. */
export function weightsCsv(
  train: PairSet,
  sources: readonly string[],
  prior: PriorWeights,
  weights: ArrayLike<number>,
): string {
  const n = train.n;
  for (const [what, len] of [
    ['u', prior.u.length],
    ['q', prior.q.length],
    ['w0', prior.w0.length],
    ['weights', weights.length],
  ] as const) {
    if (len !== n) throw new ShapeError(`weightsCsv: ${what} has ${len} values for ${n} training pairs`);
  }
  const lines = ['id,source,flipped,u,q,w0,w0_normalized,w'];
  for (let i = 0; i < n; i++) {
    const s = train.source[i];
    if (!(s >= 0 && s < sources.length)) throw new ValueError(`weightsCsv: row ${i} has source ${s}`);
    lines.push(
      [
        String(train.ids[i]),
        csvField(sources[s]),
        String(train.flipped[i]),
        num(prior.u[i]),
        num(prior.q[i]),
        num(prior.w0[i]),
        num(prior.w0Normalized[i]),
        num(weights[i]),
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/** Writes the weights table (see `weightsCsv`) and returns the path. */
export function writeWeightsCsv(
  file: string,
  train: PairSet,
  sources: readonly string[],
  prior: PriorWeights,
  weights: ArrayLike<number>,
): string {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, weightsCsv(train, sources, prior, weights));
  return file;
}

/** Named float32 tensors to a safetensors file (8-byte header length, JSON header, raw little-endian data). */
export function writeSafetensors(
  file: string,
  tensors: Record<string, { data: ArrayLike<number>; shape: number[] }>,
  metadata: Record<string, string> = {},
): string {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = Object.keys(tensors);
  for (const name of names) {
    const t = tensors[name];
    const n = t.shape.reduce((a, x) => a * x, 1);
    if (n !== t.data.length)
      throw new ShapeError(
        `writeSafetensors: tensor ${name} has ${t.data.length} values for shape [${t.shape}]`,
      );
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const hb = Buffer.from(json, 'utf8');
  const buf = Buffer.alloc(8 + hb.length + offset);
  buf.writeBigUInt64LE(BigInt(hb.length), 0);
  hb.copy(buf, 8);
  let o = 8 + hb.length;
  for (const name of names) {
    const d = tensors[name].data;
    for (let i = 0; i < d.length; i++, o += 4) buf.writeFloatLE(d[i], o);
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, buf);
  return file;
}

/**
 * Writes a head's parameters as safetensors in PyTorch's `nn.Linear` layout (W1 [hidden, dim], b1,
 * W2 [outputs, hidden], b2) with the projection λ: `torch.nn.Linear.load_state_dict` takes them as they are.
 */
export function saveHead(file: string, head: RewardHead, params: Float64Array = head.params): string {
  const { dim, hidden, outputs } = head.config;
  params = torchLayout(head.config, params);
  const o1 = hidden * dim;
  const o2 = o1 + hidden;
  const o3 = o2 + outputs * hidden;
  return writeSafetensors(
    file,
    {
      'w1.weight': { data: params.subarray(0, o1), shape: [hidden, dim] },
      'w1.bias': { data: params.subarray(o1, o2), shape: [hidden] },
      'w2.weight': { data: params.subarray(o2, o3), shape: [outputs, hidden] },
      'w2.bias': { data: params.subarray(o3, o3 + outputs), shape: [outputs] },
      projection: { data: head.projection, shape: [outputs] },
    },
    {
      format: 'efflab-dorm-head',
      loss: head.config.loss,
      dropout: String(head.config.dropout),
      activation: 'relu',
    },
  );
}
