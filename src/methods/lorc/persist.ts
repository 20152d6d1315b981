/**
 * On-disk cache of a model's K/V decompositions (the SVDs are the slow part of `analyse`: ~2 s per
 * 576 × 192 matrix with ml-matrix on this machine). The file is keyed by a fingerprint of the weights,
 * so a changed model never reads stale factors; it lives in an ignored folder (e.g. bench/tmp).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../../ops';
import type { ProjectionDecomposition } from './decompose';

/** A short fingerprint of a list of tensors (shapes and every value). */
export function fingerprint(tensors: readonly Tensor[]): string {
  const h = createHash('sha256');
  for (const t of tensors) {
    h.update(t.shape.join('x'));
    h.update(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

interface Header {
  items: { name: string; rows: number; cols: number; r: number }[];
}

/** Write decompositions to `file` (JSON header line, then S (f64), U, V (f32) of each). */
export function saveDecompositions(file: string, decs: readonly ProjectionDecomposition[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const header: Header = {
    items: decs.map((d) => ({ name: d.name, rows: d.rows, cols: d.cols, r: d.S.length })),
  };
  const parts: Buffer[] = [Buffer.from(JSON.stringify(header) + '\n')];
  for (const d of decs) {
    parts.push(Buffer.from(d.S.buffer.slice(d.S.byteOffset, d.S.byteOffset + d.S.byteLength)));
    parts.push(Buffer.from(d.U.data.buffer, d.U.data.byteOffset, d.U.data.byteLength));
    parts.push(Buffer.from(d.V.data.buffer, d.V.data.byteOffset, d.V.data.byteLength));
  }
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat(parts));
  fs.renameSync(tmp, file);
}

/** Read decompositions written by `saveDecompositions`, or undefined when the file is absent. */
export function loadDecompositions(file: string): ProjectionDecomposition[] | undefined {
  if (!fs.existsSync(file)) return undefined;
  const buf = fs.readFileSync(file);
  const nl = buf.indexOf(10);
  const header = JSON.parse(buf.subarray(0, nl).toString()) as Header;
  let off = nl + 1;
  const take = (bytes: number): ArrayBuffer => {
    const ab = buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + bytes);
    off += bytes;
    return ab;
  };
  return header.items.map((it) => {
    const S = new Float64Array(take(it.r * 8));
    const U = new Tensor(new Float32Array(take(it.rows * it.r * 4)), [it.rows, it.r]);
    const V = new Tensor(new Float32Array(take(it.cols * it.r * 4)), [it.cols, it.r]);
    return { name: it.name, rows: it.rows, cols: it.cols, S, U, V };
  });
}
