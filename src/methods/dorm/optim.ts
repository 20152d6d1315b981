/** Adam and SGD on flat Float64Array parameter vectors (thesis app. I.3 uses Adam, β = (0.9, 0.98)). */
import { ConfigError } from '../../errors';

export type OptimizerName = 'adam' | 'sgd';

export interface Optimizer {
  /** params ← params − lr · step(grad). */
  step(params: Float64Array, grad: Float64Array, lr: number): void;
  /** A copy of the internal state, and putting one back (to undo a rejected step). */
  save(): unknown;
  restore(state: unknown): void;
}

/** Adam with bias correction (β₁, β₂ default 0.9, 0.98 as in app. I.3; ε = 1e-8). */
export class Adam implements Optimizer {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;
  constructor(
    size: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.98,
    private readonly eps = 1e-8,
  ) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }
  step(params: Float64Array, grad: Float64Array, lr: number): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (let k = 0; k < params.length; k++) {
      const g = grad[k];
      this.m[k] = this.beta1 * this.m[k] + (1 - this.beta1) * g;
      this.v[k] = this.beta2 * this.v[k] + (1 - this.beta2) * g * g;
      params[k] -= (lr * (this.m[k] / c1)) / (Math.sqrt(this.v[k] / c2) + this.eps);
    }
  }
  save(): unknown {
    return { m: Float64Array.from(this.m), v: Float64Array.from(this.v), t: this.t };
  }
  restore(state: unknown): void {
    const s = state as { m: Float64Array; v: Float64Array; t: number };
    this.m.set(s.m);
    this.v.set(s.v);
    this.t = s.t;
  }
}

/** Plain gradient descent. */
export class Sgd implements Optimizer {
  step(params: Float64Array, grad: Float64Array, lr: number): void {
    for (let k = 0; k < params.length; k++) params[k] -= lr * grad[k];
  }
  save(): unknown {
    return null;
  }
  restore(): void {}
}

/** An optimizer by name for `size` parameters. */
export function makeOptimizer(name: OptimizerName, size: number): Optimizer {
  if (name === 'adam') return new Adam(size);
  if (name === 'sgd') return new Sgd();
  throw new ConfigError(`unknown optimizer "${String(name)}" (adam, sgd)`);
}
