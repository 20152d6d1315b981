/**
 * Tokenizers on top of `@huggingface/tokenizers` (pure TS): byte-level BPE (GPT-2 / SmolLM2 / Llama-3 /
 * Qwen2 style) and WordPiece (BERT / MiniLM), loaded from a `tokenizer.json` or rebuilt from a GGUF
 * file's `tokenizer.ggml.*` metadata.
 */
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import type { GgufFile } from './gguf';
import { ggufMeta, ggufNumber, ggufStrings } from './gguf';
import { ConfigError, ValueError } from '../errors';
import { openError } from './errors';

export interface EncodeOptions {
  /** Add the model's special tokens (BERT: [CLS] … [SEP]; GPT-style BPE: BOS only if the model asks). */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS/EOS/control tokens) from the text. */
  skipSpecialTokens?: boolean;
}

/** A tokenizer: text ↔ token ids, with the model's special tokens. */
export class TextTokenizer {
  readonly kind: 'bpe' | 'wordpiece';
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  /** Whether `encode` prepends BOS by default (GGUF `tokenizer.ggml.add_bos_token`). */
  readonly addBos: boolean;
  readonly specialIds: ReadonlySet<number>;
  private readonly tok: Tokenizer;

  constructor(
    json: Record<string, unknown>,
    config: Record<string, unknown>,
    opts: { bosId?: number; eosId?: number; padId?: number; addBos?: boolean; source: string },
  ) {
    this.tok = new Tokenizer(json, config);
    const model = (json.model ?? {}) as { type?: string; vocab?: Record<string, number> | unknown[] };
    this.kind = model.type === 'WordPiece' ? 'wordpiece' : 'bpe';
    if (model.type !== 'WordPiece' && model.type !== 'BPE') {
      throw new ConfigError(
        `${opts.source}: unsupported tokenizer model '${String(model.type)}' (BPE or WordPiece)`,
      );
    }
    const vocab = model.vocab ?? {};
    let size = Array.isArray(vocab) ? vocab.length : Object.keys(vocab).length;
    const added = (json.added_tokens ?? []) as { id: number; special?: boolean }[];
    const special = new Set<number>();
    for (const a of added) {
      size = Math.max(size, a.id + 1);
      if (a.special) special.add(a.id);
    }
    this.vocabSize = size;
    this.specialIds = special;
    this.bosId = opts.bosId;
    this.eosId = opts.eosId;
    this.padId = opts.padId;
    this.addBos = opts.addBos ?? false;
  }

  /** Token ids of `text`. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new ValueError('encode: text must be a string');
    const add = opts.addSpecialTokens ?? true;
    const ids = this.tok.encode(text, { add_special_tokens: this.kind === 'wordpiece' ? add : false }).ids;
    if (this.kind === 'bpe' && add && this.addBos && this.bosId !== undefined) return [this.bosId, ...ids];
    return ids;
  }

  /** Token strings of `text` (no special tokens added). */
  tokenize(text: string): string[] {
    return this.tok.tokenize(text, { add_special_tokens: false });
  }

  /** Text of token ids. */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new ValueError(`decode: token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
      }
    }
    return this.tok.decode([...ids], {
      skip_special_tokens: opts.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  /** The token string of one id. */
  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  /** The id of one token string. */
  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw openError(e, `${path}: cannot read tokenizer JSON (${(e as Error).message})`);
  }
}

/** Load a tokenizer from a `tokenizer.json` (+ optional `tokenizer_config.json`). */
export function loadTokenizerJson(tokenizerPath: string, configPath?: string): TextTokenizer {
  const json = readJson(tokenizerPath);
  const config = configPath ? readJson(configPath) : {};
  const added = (json.added_tokens ?? []) as { id: number; content: string }[];
  const idOf = (key: string): number | undefined => {
    const v = config[key];
    const content = typeof v === 'string' ? v : (v as { content?: string } | undefined)?.content;
    return content === undefined ? undefined : added.find((a) => a.content === content)?.id;
  };
  return new TextTokenizer(json, config, {
    bosId: idOf('bos_token') ?? idOf('cls_token'),
    eosId: idOf('eos_token') ?? idOf('sep_token'),
    padId: idOf('pad_token'),
    addBos: false,
    source: tokenizerPath,
  });
}

/** Pre-tokenizer regexes llama.cpp names in `tokenizer.ggml.pre` (as in the HF tokenizer.json files). */
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function preTokenizerFor(pre: string, source: string): Record<string, unknown> {
  const byteLevel = (useRegex: boolean): Record<string, unknown> => ({
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: useRegex,
  });
  const split = (pattern: string): Record<string, unknown> => ({
    type: 'Split',
    pattern: { Regex: pattern },
    behavior: 'Isolated',
    invert: false,
  });
  switch (pre) {
    case 'smollm':
      return {
        type: 'Sequence',
        pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(true)],
      };
    case 'gpt-2':
    case 'gpt2':
    case 'default':
      return byteLevel(true);
    case 'llama-bpe':
    case 'llama3':
      return { type: 'Sequence', pretokenizers: [split(LLAMA3_SPLIT), byteLevel(false)] };
    case 'qwen2':
      return { type: 'Sequence', pretokenizers: [split(QWEN2_SPLIT), byteLevel(false)] };
    default:
      throw new ConfigError(
        `${source}: unsupported tokenizer.ggml.pre '${pre}' (supported: smollm, gpt-2, default, llama-bpe, qwen2)`,
      );
  }
}

/**
 * Rebuild a byte-level BPE tokenizer from GGUF metadata (`tokenizer.ggml.model` = gpt2): vocabulary,
 * merges, token types (3 = control → special added token) and the pre-tokenizer llama.cpp names.
 */
export function tokenizerFromGguf(file: GgufFile): TextTokenizer {
  const json = ggufTokenizerJson(file);
  const opt = (key: string): number | undefined =>
    file.metadata.has(key) ? ggufNumber(file, key) : undefined;
  return new TextTokenizer(
    json,
    {},
    {
      bosId: opt('tokenizer.ggml.bos_token_id'),
      eosId: opt('tokenizer.ggml.eos_token_id'),
      padId: opt('tokenizer.ggml.padding_token_id'),
      addBos: file.metadata.get('tokenizer.ggml.add_bos_token') === true,
      source: file.path,
    },
  );
}

/** The `tokenizer.json` object equivalent to a GGUF file's byte-level BPE tokenizer metadata. */
export function ggufTokenizerJson(file: GgufFile): Record<string, unknown> {
  const model = ggufMeta(file, 'tokenizer.ggml.model');
  if (model !== 'gpt2') {
    throw new ConfigError(
      `${file.path}: tokenizer.ggml.model '${String(model)}' is not supported (only byte-level BPE 'gpt2')`,
    );
  }
  const tokens = ggufStrings(file, 'tokenizer.ggml.tokens');
  const merges = ggufStrings(file, 'tokenizer.ggml.merges');
  const typesRaw = file.metadata.get('tokenizer.ggml.token_type');
  const types = Array.isArray(typesRaw) ? typesRaw.map(Number) : [];
  const pre = String(file.metadata.get('tokenizer.ggml.pre') ?? 'default');
  const vocab: Record<string, number> = {};
  const added: Record<string, unknown>[] = [];
  tokens.forEach((t, i) => {
    vocab[t] = i;
    if (types[i] === 3 || types[i] === 4) {
      added.push({
        id: i,
        content: t,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: types[i] === 3,
      });
    }
  });
  const json: Record<string, unknown> = {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: preTokenizerFor(pre, file.path),
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: pre === 'llama-bpe' || pre === 'llama3',
      vocab,
      merges,
    },
  };
  return json;
}

/** ChatML prompt (the SmolLM2-Instruct / Qwen2 chat format) for a list of messages, ready to generate. */
export function chatMlPrompt(
  messages: readonly { role: 'system' | 'user' | 'assistant'; content: string }[],
): string {
  return (
    messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') +
    '<|im_start|>assistant\n'
  );
}
