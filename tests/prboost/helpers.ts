/** Shared set-up of the PRBoost tests: find the data folder from a worktree too. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataDir, repoRoot } from '../../src/data/paths';

/** Points EFFLAB_DATA_DIR at `<repo>/../../shared/data` when the default `<repo>/../shared/data` is absent. */
export function useSharedData(): void {
  if (process.env.EFFLAB_DATA_DIR || fs.existsSync(dataDir())) return;
  const alt = path.resolve(repoRoot(), '..', '..', 'shared', 'data');
  if (fs.existsSync(alt)) process.env.EFFLAB_DATA_DIR = alt;
}
