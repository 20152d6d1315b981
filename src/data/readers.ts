/**
 * Readers for tabular data into danfojs-node DataFrames: CSV (papaparse, the parser danfojs itself
 * uses) and JSON Lines, optionally gzip-compressed. Malformed input raises an error naming the file
 * and the line.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import Papa from 'papaparse';
import { FileFormatError, NotFoundError, ValueError } from '../errors';
import { DataFrame } from 'danfojs-node';

/**
 * danfojs's frame type, re-exported so a cell's `const news = data.readCsv(...)` can be named by the
 * compiler through `efflab` (without it the inferred type points into efflab's own node_modules and the
 * cell fails to type-check).
 */
export type { DataFrame };

/** One parsed record: column name → value. */
export type Row = Record<string, string | number | boolean | null>;

/**
 * Former name of the malformed-file error; kept so existing `instanceof DataFormatError` checks still work.
 * Readers raise the project's `FileFormatError` (src/errors.ts), which this is.
 */
export const DataFormatError = FileFormatError;
/** The type of `DataFormatError` (the project's `FileFormatError`). */
export type DataFormatError = FileFormatError;

function checkFile(file: unknown, what: string): string {
  if (typeof file !== 'string' || file.length === 0)
    throw new ValueError(
      `${what}: the file must be a path string, got ${file === '' ? 'an empty string' : String(file)}`,
    );
  if (!fs.existsSync(file)) throw new NotFoundError(`${what}: file not found: ${file}`);
  return file;
}

function readText(file: string): string {
  const buf = fs.readFileSync(file);
  const gz = file.endsWith('.gz') || (buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b);
  try {
    return (gz ? zlib.gunzipSync(buf) : buf).toString('utf8');
  } catch (e) {
    throw new FileFormatError(`${file}: cannot decompress gzip data (${(e as Error).message})`);
  }
}

export interface CsvOptions {
  /** Convert numeric-looking fields to numbers (default true). */
  dynamicTyping?: boolean;
}

/** Parse a CSV file with a header row into records. */
export function readCsvRows(file: string, opts: CsvOptions = {}): Row[] {
  const text = readText(checkFile(file, 'readCsvRows'));
  if (opts === null || typeof opts !== 'object')
    throw new ValueError(`readCsvRows: options must be an object, got ${String(opts)}`);
  const res = Papa.parse<Row>(text, {
    header: true,
    skipEmptyLines: true,
    dynamicTyping: opts.dynamicTyping ?? true,
  });
  const fatal = res.errors.find(
    (e) => e.type !== 'FieldMismatch' || e.code === 'TooManyFields' || e.code === 'TooFewFields',
  );
  if (fatal) {
    throw new FileFormatError(`${file}: CSV row ${(fatal.row ?? 0) + 2}: ${fatal.message}`);
  }
  return res.data;
}

/** Parse a JSON Lines file (`.jsonl` or `.jsonl.gz`): one JSON object per non-empty line. */
export function readJsonlRows(file: string): Row[] {
  const lines = readText(checkFile(file, 'readJsonlRows')).split('\n');
  const rows: Row[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new FileFormatError(`${file}: line ${i + 1} is not valid JSON (${(e as Error).message})`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new FileFormatError(`${file}: line ${i + 1} is not a JSON object`);
    }
    rows.push(v as Row);
  }
  return rows;
}

/** Read a CSV file into a danfojs DataFrame. */
export function readCsv(file: string, opts: CsvOptions = {}): DataFrame {
  return new DataFrame(readCsvRows(file, opts));
}

/** Read a JSON Lines file (optionally gzip) into a danfojs DataFrame. */
export function readJsonl(file: string): DataFrame {
  return new DataFrame(readJsonlRows(file));
}
