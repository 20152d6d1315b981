/**
 * Hugging Face hub cache lookup: `org/name` → `<cache>/models--org--name/snapshots/<commit>/`, the layout
 * `huggingface_hub` and `@huggingface/hub` write. The cache folder is `HF_HUB_CACHE`, else
 * `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. Offline only: for users online, `downloadToHubCache`
 * fetches missing files into the same layout with `@huggingface/hub`.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, ValueError } from '../errors';

/** The hub cache folder from the environment (same precedence as huggingface_hub). */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface', 'hub');
}

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Whether a string looks like a Hugging Face repo id `org/name`. */
export function isRepoId(s: string): boolean {
  return REPO_ID.test(s) && !s.includes('..');
}

/**
 * The snapshot folder of a cached repo: the commit `refs/<revision>` points at (revision default
 * 'main'), or the revision itself when it is a commit hash; with neither, the only snapshot present.
 */
export function resolveHubSnapshot(
  repoId: string,
  opts: { cacheDir?: string; revision?: string } = {},
): string {
  if (!isRepoId(repoId)) throw new ValueError(`'${repoId}' is not a Hugging Face repo id (org/name)`);
  const cache = opts.cacheDir ?? hubCacheDir();
  const repoDir = join(cache, `models--${repoId.replace('/', '--')}`);
  if (!existsSync(repoDir)) {
    throw new NotFoundError(
      `${repoId}: not in the hub cache ${cache} (expected ${repoDir}); download it first`,
    );
  }
  const revision = opts.revision ?? 'main';
  const snapDir = join(repoDir, 'snapshots');
  const refFile = join(repoDir, 'refs', revision);
  let commit: string | undefined;
  if (existsSync(refFile)) commit = readFileSync(refFile, 'utf8').trim();
  else if (/^[0-9a-f]{40}$/.test(revision)) commit = revision;
  if (commit !== undefined) {
    const p = join(snapDir, commit);
    if (!existsSync(p))
      throw new NotFoundError(`${repoId}: refs/${revision} → ${commit}, but ${p} is missing`);
    return p;
  }
  const snaps = existsSync(snapDir)
    ? readdirSync(snapDir).filter((d) => statSync(join(snapDir, d)).isDirectory())
    : [];
  if (snaps.length === 1) return join(snapDir, snaps[0]);
  throw new NotFoundError(
    `${repoId}: no refs/${revision} in ${repoDir} and ${snaps.length} snapshots; pass a revision`,
  );
}

/** A file of a cached repo snapshot, with a clear error if it is missing. */
export function hubFile(
  repoId: string,
  file: string,
  opts: { cacheDir?: string; revision?: string } = {},
): string {
  const snap = resolveHubSnapshot(repoId, opts);
  const p = join(snap, file);
  if (!existsSync(p)) throw new NotFoundError(`${repoId}: ${file} is not in the cached snapshot ${snap}`);
  return p;
}

/**
 * Online only (never called by tests): download files of a repo into the hub cache with
 * `@huggingface/hub`, returning the snapshot folder.
 */
export async function downloadToHubCache(
  repoId: string,
  files: readonly string[],
  opts: { cacheDir?: string; revision?: string; accessToken?: string } = {},
): Promise<string> {
  const hub = await import('@huggingface/hub');
  let last = '';
  for (const path of files) {
    last = await hub.downloadFileToCacheDir({
      repo: { type: 'model', name: repoId },
      path,
      revision: opts.revision,
      cacheDir: opts.cacheDir ?? hubCacheDir(),
      accessToken: opts.accessToken,
    });
  }
  return last ? join(last, '..') : resolveHubSnapshot(repoId, opts);
}
