/** Where datasets live: `../shared/data` beside the repository, or `EFFLAB_DATA_DIR` when set. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NotFoundError, ValueError } from '../errors';

/** Environment variable that overrides the data directory. */
export const DATA_DIR_ENV = 'EFFLAB_DATA_DIR';

/** The efflab repository root (the folder holding efflab's package.json), found from this module. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'efflab') return dir;
      } catch {
        // not our package.json; keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new NotFoundError(`efflab: cannot find the repository root above ${__dirname}`);
    dir = parent;
  }
}

/** The data directory (not checked for existence). */
export function dataDir(): string {
  return process.env[DATA_DIR_ENV] ?? path.resolve(repoRoot(), '..', 'shared', 'data');
}

/** Resolve a dataset file below the data directory; throws naming the path and the variable if missing. */
export function dataPath(...parts: string[]): string {
  parts.forEach((part, i) => {
    if (typeof part !== 'string')
      throw new ValueError(`dataPath: part ${i} must be a string, got ${String(part)}`);
  });
  const p = path.join(dataDir(), ...parts);
  if (!fs.existsSync(p)) {
    throw new NotFoundError(
      `efflab: data file not found: ${p} (data directory from ${process.env[DATA_DIR_ENV] ? DATA_DIR_ENV : 'the default ../shared/data'}; set ${DATA_DIR_ENV} to change it)`,
    );
  }
  return p;
}
