/**
 * Exports of a run: the accepted rules as versioned JSON (words, label, iteration, template, source
 * instance, every annotator's decision with its time) that loads back; the weak labels as CSV; and the rules
 * as a Python module of Snorkel-style labeling functions for pandas users. A Python labeling function
 * cannot call the LM and the encoder, so it fires when one of the rule's words occurs as a whole word in
 * the text — the hard-match core of the soft rule (said in the module's docstring).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EfflabError, FileFormatError, ValueError } from '../../errors';
import type { Decision } from '../../widgets';
import { checkTemplate, type PromptTemplate } from './prompts';
import type { AcceptedRule, PrboostRun } from './run';

export const RULES_FORMAT = 'efflab-prboost-rules';
export const RULES_VERSION = 1;

/** The JSON document. */
export interface RulesDocument {
  format: typeof RULES_FORMAT;
  version: number;
  classes: string[];
  lmModel: string;
  encoder: string;
  alpha: number;
  sigma: number | null;
  k: number;
  rules: {
    id: string;
    label: string;
    words: string[];
    iteration: number;
    template: PromptTemplate;
    instance: string;
    sourceRow: number;
    decisions: Decision[];
  }[];
}

/** The accepted rules of a run as a JSON document. */
export function rulesDocument(run: PrboostRun): RulesDocument {
  const c = run.ws.config;
  return {
    format: RULES_FORMAT,
    version: RULES_VERSION,
    classes: [...run.ws.classNames],
    lmModel: c.lmModel,
    encoder: c.encoder,
    alpha: c.alpha,
    sigma: run.calibration?.sigma ?? null,
    k: c.k,
    rules: run.rules.map((r) => ({
      id: r.id,
      label: run.ws.classNames[r.label],
      words: [...r.words],
      iteration: r.iteration,
      template: { name: r.template.name, text: r.template.text },
      instance: r.instance,
      sourceRow: r.sourceRow,
      decisions: r.decisions.map((d) => ({ ...d, keptWords: [...d.keptWords] })),
    })),
  };
}

/** Writes the rules JSON. */
export function saveRules(run: PrboostRun, file: string): RulesDocument {
  const doc = rulesDocument(run);
  saveText(file, `${JSON.stringify(doc, null, 1)}\n`);
  return doc;
}

/** Loaded rules: the document and its rules as `AcceptedRule`s. */
export interface LoadedRules {
  document: RulesDocument;
  rules: AcceptedRule[];
}

/** Parses and checks a rules document; `source` names it in errors (malformed JSON, empty or unknown-label rule, bad template). */
export function parseRules(text: string, source = 'rules JSON'): LoadedRules {
  let doc: RulesDocument;
  try {
    doc = JSON.parse(text) as RulesDocument;
  } catch (e) {
    throw new FileFormatError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (doc === null || typeof doc !== 'object' || doc.format !== RULES_FORMAT)
    throw new FileFormatError(`${source}: not an ${RULES_FORMAT} document`);
  if (doc.version !== RULES_VERSION)
    throw new FileFormatError(
      `${source}: version ${String(doc.version)}; this efflab reads version ${RULES_VERSION}`,
    );
  if (!Array.isArray(doc.classes) || !Array.isArray(doc.rules))
    throw new FileFormatError(`${source}: "classes" and "rules" must be arrays`);
  const seen = new Set<string>();
  const rules = doc.rules.map((r, i): AcceptedRule => {
    const id = typeof r?.id === 'string' && r.id ? r.id : `rules[${i}]`;
    if (seen.has(id)) throw new FileFormatError(`${source}: rule id "${id}" appears twice`);
    seen.add(id);
    const label = doc.classes.indexOf(r.label);
    if (label < 0)
      throw new ValueError(
        `${source}: rule "${id}" has unknown label ${JSON.stringify(r.label)} (${doc.classes.join(', ')})`,
      );
    if (
      !Array.isArray(r.words) ||
      r.words.length === 0 ||
      r.words.some((w) => typeof w !== 'string' || !w.trim())
    )
      throw new ValueError(`${source}: rule "${id}" has no words (an empty rule matches nothing)`);
    if (!r.template || typeof r.template.text !== 'string' || typeof r.template.name !== 'string')
      throw new FileFormatError(`${source}: rule "${id}" lacks its template {name, text}`);
    const template = checkTemplate(r.template);
    return {
      id,
      label,
      words: r.words.map((w) => w.toLowerCase()),
      template,
      instance: String(r.instance ?? ''),
      sourceRow: Number(r.sourceRow ?? -1),
      iteration: Number(r.iteration ?? 0),
      decisions: Array.isArray(r.decisions) ? r.decisions : [],
    };
  });
  return { document: doc, rules };
}

/** Reads a rules JSON file. */
export function loadRules(file: string): LoadedRules {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new FileFormatError(`${file}: cannot read (${(e as Error).message})`);
  }
  return parseRules(text, file);
}

/** Writes an export (CSV, Python module) to a file; returns the path. */
export function saveText(file: string, text: string): string {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  } catch (e) {
    throw new EfflabError(`cannot write ${file} (${(e as Error).message})`);
  }
  return file;
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The weak labels of D_u as CSV: test.csv row, label index and name, and where the label came from. */
export function weakLabelsCsv(run: PrboostRun): string {
  const ws = run.ws;
  const lines = ['row,weak_label,weak_label_name,source'];
  for (const p of ws.unlabelled) {
    const y = run.weakLabels[p];
    const source = y < 0 ? 'none' : ws.keywordLabels[p] >= 0 ? 'keyword' : 'prboost';
    lines.push(
      [String(ws.items[p].row), String(y), y < 0 ? '' : csvField(ws.classNames[y]), source].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

function pyString(s: string): string {
  return JSON.stringify(s); // a JSON string literal is a valid Python string literal for these characters
}

/** A Python module of Snorkel-style labeling functions (one per accepted rule), plain Python only. */
export function pythonLabelingFunctions(rules: readonly AcceptedRule[], classes: readonly string[]): string {
  const body = rules
    .map(
      (r) =>
        `    {"id": ${pyString(r.id)}, "label": ${r.label}, "words": [${r.words.map(pyString).join(', ')}], "iteration": ${r.iteration}},`,
    )
    .join('\n');
  return `"""PRBoost rules exported by efflab as Snorkel-style labeling functions (plain Python, no Snorkel needed).

Each function takes a row (a pandas Series, a dict or any object with a \`text\` field) and returns the
rule's class index, or ABSTAIN (-1). The rules were soft-matched in efflab (embeddings and LM words); here a
rule fires when one of its words occurs as a whole word in the lower-cased text, the hard-match core of it.
"""
import re

ABSTAIN = -1
CLASSES = [${classes.map(pyString).join(', ')}]
RULES = [
${body}
]

_WORD = re.compile(r"[a-z][a-z-]*[a-z]")


def _text(x):
    if isinstance(x, str):
        return x
    try:
        return x["text"]
    except (KeyError, TypeError, IndexError):
        return getattr(x, "text")


def _make_lf(rule):
    words = frozenset(rule["words"])

    def lf(x):
        return rule["label"] if words & set(_WORD.findall(_text(x).lower())) else ABSTAIN

    lf.__name__ = "lf_" + re.sub(r"\\W", "_", rule["id"])
    lf.rule = rule
    return lf


LFS = [_make_lf(r) for r in RULES]


def apply_lfs(rows):
    """The label matrix: one list of votes (one per labeling function) per row."""
    return [[lf(x) for lf in LFS] for x in rows]
`;
}

/** Applies the Python module's rule in TypeScript (the same whole-word test), for checks. */
export function hardMatchVotes(rules: readonly AcceptedRule[], text: string): number[] {
  const words = new Set(text.toLowerCase().match(/[a-z][a-z-]*[a-z]/g) ?? []);
  return rules.map((r) => (r.words.some((w) => words.has(w)) ? r.label : -1));
}
