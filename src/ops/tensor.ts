/**
 * A small dense tensor: a row-major, contiguous Float32Array plus a shape.
 *
 * Why not `ndarray` as the storage type: every gpu.js kernel takes flat typed arrays and writes flat
 * outputs, so a contiguous buffer is what crosses the backend boundary anyway. Strided views are
 * still useful at the edges (slicing, transposing, picking a head), and for those the tensor converts
 * to and from `ndarray` without copying where possible (`toNdarray`, `Tensor.fromNdarray`).
 */
import ndarray from 'ndarray';
import { ShapeError } from './errors';

export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(
        `${what}: invalid shape [${shape.join(', ')}] (dimensions must be non-negative integers)`,
      );
    }
  }
}

/** Nested number arrays accepted by `Tensor.from`. */
export type NestedNumbers = number | readonly NestedNumbers[];

/**
 * Data a backend keeps on its device (e.g. a GL texture). The host copy is made on first access to
 * `Tensor.data`, so kernels of the same backend can chain without a round trip through host memory.
 */
export interface DeviceBuffer {
  /** The backend that owns the buffer (`gl`). */
  readonly backend: string;
  /** Copy the values to a row-major Float32Array. */
  download(): Float32Array;
}

export class Tensor {
  private host: Float32Array | undefined;
  /** Device-resident copy of the data, when a backend produced it (undefined for host tensors). */
  readonly device: DeviceBuffer | undefined;
  readonly shape: Shape;
  /** Number of elements. */
  readonly size: number;

  constructor(data: Float32Array, shape: Shape) {
    checkShape(shape, 'Tensor');
    if (data.length !== shapeSize(shape)) {
      throw new ShapeError(
        `Tensor: data has ${data.length} elements but shape [${shape.join(', ')}] needs ${shapeSize(shape)}`,
      );
    }
    this.host = data;
    this.device = undefined;
    this.shape = Object.freeze([...shape]);
    this.size = data.length;
  }

  /** A tensor whose values live on a backend's device; `data` downloads them on first access. */
  static onDevice(buffer: DeviceBuffer, shape: Shape): Tensor {
    const t = new Tensor(new Float32Array(0), [0]);
    checkShape(shape, 'Tensor.onDevice');
    const self = t as unknown as {
      host: Float32Array | undefined;
      device: DeviceBuffer;
      shape: Shape;
      size: number;
    };
    self.host = undefined;
    self.device = buffer;
    self.shape = Object.freeze([...shape]);
    self.size = shapeSize(shape);
    return t;
  }

  /** The values, row-major (downloaded from the device on first access for a device tensor). */
  get data(): Float32Array {
    if (this.host === undefined) {
      const d = (this.device as DeviceBuffer).download();
      if (d.length !== shapeSize(this.shape)) {
        throw new ShapeError(
          `Tensor: device buffer holds ${d.length} values but shape [${this.shape.join(', ')}] needs ${shapeSize(this.shape)}`,
        );
      }
      this.host = d;
    }
    return this.host;
  }

  /** Whether the values are already in host memory (false: a device tensor not yet read). */
  get onHost(): boolean {
    return this.host !== undefined;
  }

  /** Build a tensor from nested arrays (rectangular) or a flat array plus a shape. */
  static from(values: NestedNumbers | ArrayLike<number>, shape?: Shape): Tensor {
    if (shape) {
      const flat = values as ArrayLike<number>;
      return new Tensor(Float32Array.from(flat), shape);
    }
    const inferred: number[] = [];
    let probe: NestedNumbers = values as NestedNumbers;
    while (Array.isArray(probe)) {
      inferred.push(probe.length);
      probe = (probe as readonly NestedNumbers[])[0];
    }
    const out = new Float32Array(shapeSize(inferred));
    let k = 0;
    const walk = (v: NestedNumbers, depth: number): void => {
      if (depth === inferred.length) {
        if (typeof v !== 'number') throw new ShapeError('Tensor.from: ragged nested array');
        out[k++] = v;
        return;
      }
      if (!Array.isArray(v) || v.length !== inferred[depth]) {
        throw new ShapeError(`Tensor.from: ragged nested array at depth ${depth}`);
      }
      for (const x of v as readonly NestedNumbers[]) walk(x, depth + 1);
    };
    walk(values as NestedNumbers, 0);
    return new Tensor(out, inferred);
  }

  static zeros(shape: Shape): Tensor {
    checkShape(shape, 'Tensor.zeros');
    return new Tensor(new Float32Array(shapeSize(shape)), shape);
  }

  static full(shape: Shape, value: number): Tensor {
    checkShape(shape, 'Tensor.full');
    return new Tensor(new Float32Array(shapeSize(shape)).fill(value), shape);
  }

  /** Copy a (possibly strided) ndarray into a contiguous tensor. */
  static fromNdarray(arr: ndarray.NdArray<ndarray.Data<number>>): Tensor {
    const shape = arr.shape.slice();
    const out = new Float32Array(shapeSize(shape));
    const strides = stridesOf(shape);
    const idx = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < out.length; i++) {
      let rem = i;
      for (let d = 0; d < shape.length; d++) {
        idx[d] = Math.floor(rem / strides[d]);
        rem -= idx[d] * strides[d];
      }
      out[i] = arr.get(...idx);
    }
    return new Tensor(out, shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get strides(): number[] {
    return stridesOf(this.shape);
  }

  /** A view of the same data with another shape of the same size (one -1 is inferred). */
  reshape(shape: Shape): Tensor {
    const minus = shape.filter((d) => d === -1).length;
    if (minus > 1) throw new ShapeError(`reshape: more than one -1 in [${shape.join(', ')}]`);
    let target = shape.slice();
    if (minus === 1) {
      const known = shapeSize(shape.filter((d) => d !== -1));
      if (known === 0 || this.size % known !== 0) {
        throw new ShapeError(`reshape: cannot reshape [${this.shape.join(', ')}] into [${shape.join(', ')}]`);
      }
      target = shape.map((d) => (d === -1 ? this.size / known : d));
    }
    if (shapeSize(target) !== this.size) {
      throw new ShapeError(`reshape: cannot reshape [${this.shape.join(', ')}] into [${shape.join(', ')}]`);
    }
    if (!this.onHost && this.device) return Tensor.onDevice(this.device, target);
    return new Tensor(this.data, target);
  }

  /** Element at a multi-index (bounds-checked). */
  get(...index: number[]): number {
    if (index.length !== this.rank) {
      throw new ShapeError(`get: ${index.length} indices for a rank-${this.rank} tensor`);
    }
    let off = 0;
    const strides = this.strides;
    for (let d = 0; d < index.length; d++) {
      const i = index[d];
      if (!Number.isInteger(i) || i < 0 || i >= this.shape[d]) {
        throw new ShapeError(`get: index ${i} out of range for axis ${d} of size ${this.shape[d]}`);
      }
      off += i * strides[d];
    }
    return this.data[off];
  }

  /** A strided ndarray view over the same buffer (no copy), for slicing and transposing. */
  toNdarray(): ndarray.NdArray<Float32Array> {
    return ndarray(this.data, this.shape.slice());
  }

  /** Rows `start..end` of the first axis, copied into a new tensor. */
  sliceRows(start: number, end: number): Tensor {
    const rows = this.shape[0];
    if (this.rank < 1 || start < 0 || end > rows || start > end) {
      throw new ShapeError(`sliceRows: [${start}, ${end}) out of range for first axis of size ${rows}`);
    }
    const inner = rows === 0 ? 0 : this.size / rows;
    return new Tensor(this.data.slice(start * inner, end * inner), [end - start, ...this.shape.slice(1)]);
  }

  /** A contiguous copy with two axes swapped. */
  transpose(axisA = -2, axisB = -1): Tensor {
    const a = axisA < 0 ? this.rank + axisA : axisA;
    const b = axisB < 0 ? this.rank + axisB : axisB;
    if (a < 0 || b < 0 || a >= this.rank || b >= this.rank) {
      throw new ShapeError(`transpose: axes ${axisA}, ${axisB} out of range for rank ${this.rank}`);
    }
    return Tensor.fromNdarray(this.toNdarray().transpose(...swapAxes(this.rank, a, b)));
  }

  /** Nested plain arrays (for printing, JSON and tests). */
  toArray(): NestedNumbers {
    if (this.rank === 0) return this.data[0];
    const build = (offset: number, depth: number): NestedNumbers => {
      const n = this.shape[depth];
      if (depth === this.rank - 1) return Array.from(this.data.subarray(offset, offset + n));
      const stride = this.strides[depth];
      const out: NestedNumbers[] = [];
      for (let i = 0; i < n; i++) out.push(build(offset + i * stride, depth + 1));
      return out;
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}])`;
  }
}

function swapAxes(rank: number, a: number, b: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return perm;
}
