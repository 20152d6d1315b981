/** Shared set-up of the PRBoost tests: find the data folder from a worktree too. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataDir, repoRoot } from '../../src/data/paths';
import type { NextTokenModel, SentenceEncoder } from '../../src/methods/prboost';
import { Tensor } from '../../src/ops';

/** Points EFFLAB_DATA_DIR at `<repo>/../../shared/data` when the default `<repo>/../shared/data` is absent. */
export function useSharedData(): void {
  if (process.env.EFFLAB_DATA_DIR || fs.existsSync(dataDir())) return;
  const alt = path.resolve(repoRoot(), '..', '..', 'shared', 'data');
  if (fs.existsSync(alt)) process.env.EFFLAB_DATA_DIR = alt;
}

/** The hashing bucket (FNV-1a, mod `dim`) of a word. */
function hashWord(w: string, dim: number): number {
  let h = 2166136261;
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619);
  return (h >>> 0) % dim;
}

/**
 * A stand-in sentence encoder: counts of a text's words (3+ letters) hashed into `dim` buckets. With
 * `normalise`, each row is divided by its norm and empty buckets hold 1e-3 / norm; without, every bucket
 * gets + 1e-3 (so no row is all zeros).
 */
export function hashingEncoder(dim: number, normalise: boolean): SentenceEncoder {
  return {
    embed: (texts) => {
      const out = new Float32Array(texts.length * dim);
      texts.forEach((t, i) => {
        const row = out.subarray(i * dim, (i + 1) * dim);
        for (const w of t.toLowerCase().match(/[a-z]{3,}/g) ?? []) row[hashWord(w, dim)] += 1;
        if (!normalise) {
          for (let j = 0; j < dim; j++) row[j] += 1e-3;
          return;
        }
        let n = 0;
        for (let j = 0; j < dim; j++) n += row[j] ** 2;
        n = Math.sqrt(n) || 1;
        for (let j = 0; j < dim; j++) row[j] = (row[j] || 1e-3) / n;
      });
      return new Tensor(out, [texts.length, dim]);
    },
  };
}

/** A stand-in LM proposing the prompt's distinct 5+-letter words, longest first (rows sharing rare long words share V_u). */
export const longestWordsLM: NextTokenModel = {
  nextTokenTopK: (prompt) =>
    [...new Set(prompt.toLowerCase().match(/[a-z]{5,}/g) ?? [])]
      .sort((a, b) => b.length - a.length || (a < b ? -1 : 1))
      .map((w, i) => ({ text: ` ${w}`, prob: 1 / (i + 2) })),
};
