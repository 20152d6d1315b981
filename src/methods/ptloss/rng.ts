/** PTLoss draws from the shared trainer's seeded generator (SplitMix32), so every run is reproducible from its seed. */
export { Rng } from '../../train/rng';
