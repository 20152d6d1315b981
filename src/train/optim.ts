/**
 * Optimisers on flat parameter vectors, with PyTorch's update rules (moments in float64).
 *
 * Adam (Kingma & Ba; `torch.optim.Adam`): g ← g + λθ (L2 weight decay, when not decoupled);
 * m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − (lr/(1−β₁ᵗ)) · m / (√(v/(1−β₂ᵗ)) + ε).
 * With `decoupled` the decay is AdamW's θ ← θ(1 − lr·λ) before the step instead.
 * SGD (`torch.optim.SGD`): g ← g + λθ; b ← μb + g (b = g on the first step); θ ← θ − lr·b.
 */
import { ShapeError } from '../ops';
import { ConfigError, NonFiniteError } from '../errors';
import type { Vec } from './types';

export interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** λ (default 0). */
  weightDecay?: number;
  /** AdamW-style decoupled decay instead of L2 added to the gradient (default false). */
  decoupled?: boolean;
}

/** The Adam settings of the thesis's PTLoss synthetic experiment (section 4.6.1): lr 5e-4. */
export const THESIS_ADAM: AdamSettings = { lr: 5e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** PyTorch's Adam defaults. */
export const TORCH_ADAM: AdamSettings = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

export interface SgdSettings {
  lr: number;
  momentum?: number;
  weightDecay?: number;
}

export type OptimizerSpec = ({ kind: 'adam' } & Partial<AdamSettings>) | ({ kind: 'sgd' } & SgdSettings);

export interface Optimizer {
  /** Steps taken so far. */
  readonly t: number;
  /** Update θ in place from ∂L/∂θ. */
  step(params: Vec, grad: ArrayLike<number>): void;
}

/** A copy of an optimiser's moving state (moments / momentum buffer and step count), to undo a step. */
export interface OptimizerState {
  readonly t: number;
  readonly buffers: readonly Float64Array[];
}

/**
 * The built-in optimisers also save and restore their state (a rejected step is undone with its moments,
 * DORM's divergence recovery) and take a new learning rate between steps (`settings.lr`).
 */
export interface StatefulOptimizer extends Optimizer {
  readonly settings: { lr: number };
  /** A copy of the state; with `into` (an earlier save of this optimiser) its buffers are reused. */
  saveState(into?: OptimizerState): OptimizerState;
  restoreState(state: OptimizerState): void;
}

function restoreBuffers(who: string, into: Float64Array[], state: OptimizerState): void {
  if (state.buffers.length !== into.length || state.buffers.some((b, i) => b.length !== into[i].length)) {
    throw new ShapeError(
      `${who}.restoreState: the saved state has buffers of [${state.buffers.map((b) => b.length).join(', ')}] values, this optimiser [${into.map((b) => b.length).join(', ')}]`,
    );
  }
  state.buffers.forEach((b, i) => into[i].set(b));
}

/** Copies `from` into the buffers of `into` when they fit (a reused save), else fresh copies. */
function saveBuffers(t: number, from: Float64Array[], into?: OptimizerState): OptimizerState {
  if (
    into &&
    into.buffers.length === from.length &&
    into.buffers.every((b, i) => b.length === from[i].length)
  ) {
    from.forEach((b, i) => into.buffers[i].set(b));
    return { t, buffers: into.buffers };
  }
  return { t, buffers: from.map((b) => Float64Array.from(b)) };
}

function checkStep(params: Vec, grad: ArrayLike<number>, size: number, who: string): void {
  if (params.length !== size || grad.length !== size) {
    throw new ShapeError(
      `${who}: built for ${size} parameters, got θ of ${params.length} and gradient of ${grad.length}`,
    );
  }
  // x · 0 is NaN exactly when x is NaN or ±∞: one multiply-add per entry, the index only on failure.
  let z = 0;
  for (let i = 0; i < size; i++) z += grad[i] * 0;
  if (z === 0) return;
  for (let i = 0; i < size; i++) {
    if (!Number.isFinite(grad[i]))
      throw new NonFiniteError(`${who}: gradient entry ${i} is ${grad[i]}; step rejected`);
  }
}

export class Adam implements StatefulOptimizer {
  readonly settings: Required<AdamSettings>;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private steps = 0;

  constructor(size: number, settings: Partial<AdamSettings> = {}) {
    const s: Required<AdamSettings> = {
      lr: settings.lr ?? TORCH_ADAM.lr,
      beta1: settings.beta1 ?? TORCH_ADAM.beta1,
      beta2: settings.beta2 ?? TORCH_ADAM.beta2,
      eps: settings.eps ?? TORCH_ADAM.eps,
      weightDecay: settings.weightDecay ?? 0,
      decoupled: settings.decoupled ?? false,
    };
    if (
      !(s.lr > 0) ||
      !(s.beta1 >= 0 && s.beta1 < 1) ||
      !(s.beta2 >= 0 && s.beta2 < 1) ||
      !(s.eps >= 0) ||
      !(s.weightDecay >= 0)
    ) {
      throw new ConfigError(
        `Adam: need lr > 0, β₁, β₂ in [0, 1), ε ≥ 0, weight decay ≥ 0; got lr ${s.lr}, β₁ ${s.beta1}, β₂ ${s.beta2}, ε ${s.eps}, λ ${s.weightDecay}`,
      );
    }
    this.settings = s;
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  get t(): number {
    return this.steps;
  }

  /** A copy of m, v and the step count (into the buffers of `into` when given). */
  saveState(into?: OptimizerState): OptimizerState {
    return saveBuffers(this.steps, [this.m, this.v], into);
  }

  /** Puts back a state from `saveState` (same parameter count). */
  restoreState(state: OptimizerState): void {
    restoreBuffers('Adam', [this.m, this.v], state);
    this.steps = state.t;
  }

  step(params: Vec, grad: ArrayLike<number>): void {
    checkStep(params, grad, this.m.length, 'Adam.step');
    const { lr, beta1, beta2, eps, weightDecay, decoupled } = this.settings;
    this.steps++;
    const bc1 = 1 - Math.pow(beta1, this.steps);
    const bc2 = 1 - Math.pow(beta2, this.steps);
    const stepSize = lr / bc1;
    const { m, v } = this;
    if (weightDecay === 0) {
      // The rule below without the decay branch, constants hoisted, and v̂ = v·(1/(1−β₂ᵗ)) by a multiply
      // (one division less per entry: division and square root bound this loop; ≤ 1 ulp in √v̂).
      const c1 = 1 - beta1;
      const c2 = 1 - beta2;
      const ib2 = 1 / bc2;
      for (let i = 0; i < params.length; i++) {
        const g = grad[i];
        const mi = beta1 * m[i] + c1 * g;
        const vi = beta2 * v[i] + c2 * g * g;
        m[i] = mi;
        v[i] = vi;
        params[i] -= (stepSize * mi) / (Math.sqrt(vi * ib2) + eps);
      }
      return;
    }
    for (let i = 0; i < params.length; i++) {
      let g = grad[i];
      if (weightDecay > 0) {
        if (decoupled) params[i] *= 1 - lr * weightDecay;
        else g += weightDecay * params[i];
      }
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      params[i] -= (stepSize * m[i]) / (Math.sqrt(v[i] / bc2) + eps);
    }
  }
}

export class Sgd implements StatefulOptimizer {
  readonly settings: Required<SgdSettings>;
  private readonly buf: Float64Array;
  private steps = 0;

  constructor(size: number, settings: SgdSettings) {
    const s: Required<SgdSettings> = {
      lr: settings.lr,
      momentum: settings.momentum ?? 0,
      weightDecay: settings.weightDecay ?? 0,
    };
    if (!(s.lr > 0) || !(s.momentum >= 0 && s.momentum < 1) || !(s.weightDecay >= 0)) {
      throw new ConfigError(
        `Sgd: need lr > 0, momentum in [0, 1), weight decay ≥ 0; got ${s.lr}, ${s.momentum}, ${s.weightDecay}`,
      );
    }
    this.settings = s;
    this.buf = new Float64Array(size);
  }

  get t(): number {
    return this.steps;
  }

  /** A copy of the momentum buffer and the step count (into the buffers of `into` when given). */
  saveState(into?: OptimizerState): OptimizerState {
    return saveBuffers(this.steps, [this.buf], into);
  }

  /** Puts back a state from `saveState` (same parameter count). */
  restoreState(state: OptimizerState): void {
    restoreBuffers('Sgd', [this.buf], state);
    this.steps = state.t;
  }

  step(params: Vec, grad: ArrayLike<number>): void {
    checkStep(params, grad, this.buf.length, 'Sgd.step');
    const { lr, momentum, weightDecay } = this.settings;
    const first = this.steps === 0;
    this.steps++;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i] + weightDecay * params[i];
      const b = momentum > 0 ? (first ? g : momentum * this.buf[i] + g) : g;
      this.buf[i] = b;
      params[i] -= lr * b;
    }
  }
}

/** An optimiser for P parameters from its description. */
export function makeOptimizer(spec: OptimizerSpec, size: number): StatefulOptimizer {
  if (spec.kind === 'adam') {
    const { kind: _kind, ...settings } = spec;
    return new Adam(size, settings);
  }
  if (spec.kind === 'sgd') return new Sgd(size, spec);
  throw new ConfigError(`unknown optimizer '${(spec as { kind: string }).kind}' (adam, sgd)`);
}
