/**
 * The student/teacher network of the synthetic experiment (section 4.6.1) is the shared trainer's
 * MLP (src/train): ReLU hidden layers, PyTorch-default initialisation, every matrix product through
 * the ops layer's `matmul` on the backend the one ops switch selects. Adam with the thesis settings.
 */
import { Mlp } from '../../train';

export { Mlp, THESIS_ADAM, type AdamSettings } from '../../train';

/** A float32 ReLU MLP [input, hidden…, classes] seeded like every PTLoss run (no dropout). */
export function studentMlp(sizes: readonly number[], seed: number): Mlp {
  return new Mlp({ sizes, seed, activation: 'relu', precision: 'float32' });
}
