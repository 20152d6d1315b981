/**
 * Prompt-based rule proposal (thesis Eq. 2.4, Table 2.1) with a causal LM. The thesis filled a [MASK] with
 * a masked LM; a causal LM can only continue, so every template here puts the slot last and the candidate
 * words are the most likely next tokens. Only whole words count: a token must start a new word (a leading
 * space), be alphabetic, at least three letters, and not a stop word; numbers, punctuation and sub-word
 * pieces are dropped. The top-k survivors of the `scan` most likely tokens are the candidate words.
 */
import { ValueError } from '../../errors';

/** A rule template: `[Input]` is replaced by the instance, `[Mask]` must end it (the slot is last). */
export interface PromptTemplate {
  readonly name: string;
  readonly text: string;
}

export const INPUT_SLOT = '[Input]';
export const MASK_SLOT = '[Mask]';

/** The templates that ship. `category` is the default (its words were the most topical on AG News). */
export const TEMPLATES: readonly PromptTemplate[] = [
  { name: 'category', text: '[Input]\nCategory of this news: [Mask]' },
  { name: 'topic', text: 'News: [Input]\nTopic: [Mask]' },
  { name: 'about', text: '[Input]\nThis news is about [Mask]' },
];

/** A template by name, or a checked custom template. */
export function template(nameOrText: string | PromptTemplate): PromptTemplate {
  if (typeof nameOrText === 'object') return checkTemplate(nameOrText);
  const known = TEMPLATES.find((t) => t.name === nameOrText);
  if (known) return known;
  if (nameOrText.includes(INPUT_SLOT) || nameOrText.includes(MASK_SLOT))
    return checkTemplate({ name: 'custom', text: nameOrText });
  throw new ValueError(
    `unknown prompt template "${nameOrText}" (known: ${TEMPLATES.map((t) => t.name).join(', ')}; or a text with ${INPUT_SLOT} and ${MASK_SLOT})`,
  );
}

/** Checks a template: one `[Input]`, one `[Mask]`, the mask last (a causal LM predicts only the next token). */
export function checkTemplate(t: PromptTemplate): PromptTemplate {
  const count = (s: string): number => t.text.split(s).length - 1;
  if (count(MASK_SLOT) !== 1)
    throw new ValueError(
      `prompt template "${t.name}" must hold exactly one ${MASK_SLOT} slot: ${JSON.stringify(t.text)}`,
    );
  if (count(INPUT_SLOT) !== 1)
    throw new ValueError(
      `prompt template "${t.name}" must hold exactly one ${INPUT_SLOT}: ${JSON.stringify(t.text)}`,
    );
  if (!t.text.trimEnd().endsWith(MASK_SLOT))
    throw new ValueError(
      `prompt template "${t.name}": ${MASK_SLOT} must come last for a causal LM: ${JSON.stringify(t.text)}`,
    );
  return t;
}

/** The input text cut to `maxWords` words (the thesis capped AG News at 128 tokens). */
export function truncateWords(text: string, maxWords: number): string {
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  return words.length <= maxWords ? words.join(' ') : `${words.slice(0, maxWords).join(' ')} …`;
}

/** τ(x): the prompt up to the slot, which the LM continues (Eq. 2.4's input x_p). */
export function fillTemplate(t: PromptTemplate, input: string): string {
  checkTemplate(t);
  const head = t.text.trimEnd().slice(0, -MASK_SLOT.length).trimEnd();
  return head.replace(INPUT_SLOT, () => input);
}

/** The template shown to an annotator: the instance in place, the slot visible. */
export function displayPrompt(t: PromptTemplate, input: string): string {
  return t.text.replace(INPUT_SLOT, () => input);
}

/** Tokens per packed LM forward: 24 AG News prompts of up to ~85 tokens fit; a longer one goes to another pass. */
export const LM_PASS_TOKENS = 2048;

/** Function words and web debris that are never topical. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being below ' +
    'between both but by can could did do does doing down during each few for from further had has have having ' +
    'he her here hers herself him himself his how i if in into is it its itself just me more most my myself no ' +
    'nor not now of off on once only or other our ours out over own same she should so some such than that the ' +
    'their theirs them then there these they this those through to too under until up very was we were what ' +
    'when where which while who whom why will with would you your yours one two three another something ' +
    'anything nothing everything time times way ways thing things new none non http https www com html ' +
    'news category topic article articles story stories title unknown other others many much make making ' +
    'made like get got use used using'
  ).split(' '),
);

/** A next-token candidate as the LM reports it. */
export interface NextToken {
  readonly text: string;
  readonly prob: number;
}

/** Candidate words with their next-token probability p(MASK = v | x_p) (Eq. 2.4). */
export interface WordProposal {
  readonly words: string[];
  readonly probs: number[];
}

/**
 * Keeps the k most likely whole-word candidates (lower-cased, deduplicated) from next-token predictions
 * sorted by probability.
 */
export function wholeWordCandidates(tokens: readonly NextToken[], k: number): WordProposal {
  const words: string[] = [];
  const probs: number[] = [];
  for (const t of tokens) {
    if (words.length >= k) break;
    if (!/^\s/.test(t.text)) continue; // a continuation piece of the previous word
    const w = t.text.trim().toLowerCase();
    if (!/^[a-z][a-z-]*[a-z]$/.test(w) || w.length < 3 || STOP_WORDS.has(w) || words.includes(w)) continue;
    words.push(w);
    probs.push(t.prob);
  }
  return { words, probs };
}

/** What a proposal needs from a causal LM (the efflab `CausalLM` has it). */
export interface NextTokenModel {
  nextTokenTopK(prompt: string, k: number): readonly NextToken[];
  /** Several prompts in one packed forward (optional; the efflab `CausalLM` has it). */
  nextTokenTopKBatch?(
    prompts: readonly string[],
    k: number,
    opts?: { maxTokens?: number },
  ): readonly (readonly NextToken[])[];
}

/** Proposal settings. */
export interface ProposalOptions {
  /** Candidate words per prompt (k, Table A.3: 10). */
  k?: number;
  /** How many of the most likely tokens are scanned for whole words (default 200). */
  scan?: number;
  /** Input words kept (default 60). */
  maxWords?: number;
}

/** The top-k whole words an LM proposes for the slot of τ(x) (Eq. 2.4). */
export function proposeWords(
  lm: NextTokenModel,
  t: PromptTemplate,
  text: string,
  options: ProposalOptions = {},
): WordProposal {
  const prompt = fillTemplate(t, truncateWords(text, options.maxWords ?? 60));
  return wholeWordCandidates(lm.nextTokenTopK(prompt, options.scan ?? 200), options.k ?? 10);
}

/**
 * `proposeWords` for several texts at once (Eq. 2.4): when the LM can pack prompts into one forward, they
 * share its GEMMs (the top-k are those of the one-by-one passes); otherwise one prompt at a time.
 */
export function proposeWordsBatch(
  lm: NextTokenModel,
  t: PromptTemplate,
  texts: readonly string[],
  options: ProposalOptions = {},
): WordProposal[] {
  const prompts = texts.map((x) => fillTemplate(t, truncateWords(x, options.maxWords ?? 60)));
  const scan = options.scan ?? 200;
  const tops = lm.nextTokenTopKBatch
    ? lm.nextTokenTopKBatch(prompts, scan, { maxTokens: LM_PASS_TOKENS })
    : prompts.map((p) => lm.nextTokenTopK(p, scan));
  return tops.map((top) => wholeWordCandidates(top, options.k ?? 10));
}
