/** DORM's optimiser settings on the shared trainer's optimisers (src/train/optim.ts). */
import { ConfigError } from '../../errors';
import { makeOptimizer, type StatefulOptimizer } from '../../train';

export type OptimizerName = 'adam' | 'sgd';

/**
 * The trainer's Adam with app. I.3's β = (0.9, 0.98), ε = 1e-8, or plain SGD, at learning rate `lr`.
 * Both save / restore their state (a rejected step is undone) and take a new `settings.lr` between steps.
 */
export function dormOptimizer(name: OptimizerName, size: number, lr: number): StatefulOptimizer {
  if (name === 'adam') return makeOptimizer({ kind: 'adam', lr, beta1: 0.9, beta2: 0.98, eps: 1e-8 }, size);
  if (name === 'sgd') return makeOptimizer({ kind: 'sgd', lr }, size);
  throw new ConfigError(`unknown optimizer "${String(name)}" (adam, sgd)`);
}
