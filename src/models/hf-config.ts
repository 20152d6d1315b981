/** Hugging Face `config.json`: read and check the fields our architectures need. */
import { readFileSync } from 'node:fs';
import { FileFormatError } from '../errors';
import { openError } from './errors';

export type HfConfig = Record<string, unknown>;

/** Parse a config.json, with errors naming the file. */
export function readHfConfig(path: string): HfConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw openError(e, `${path}: cannot read config (${(e as Error).message})`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as HfConfig;
  } catch (e) {
    throw new FileFormatError(`${path}: invalid config.json (${(e as Error).message})`);
  }
}

/** A positive integer field of a config. */
export function configInt(cfg: HfConfig, key: string, file: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new FileFormatError(
      `${file}: config field '${key}' must be a positive integer (got ${JSON.stringify(v)})`,
    );
  }
  return v;
}

/** A numeric field of a config. */
export function configNumber(cfg: HfConfig, key: string, file: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new FileFormatError(`${file}: config field '${key}' must be a number (got ${JSON.stringify(v)})`);
  }
  return v;
}
