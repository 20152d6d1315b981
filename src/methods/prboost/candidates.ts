/**
 * Candidate rules (thesis §2.4.1): for each large-error instance of D_l and each template, the LM's top-k
 * slot words plus the instance's gold label plus the template form one candidate. The annotator keeps
 * the candidate or drops it, and may drop single words (|V_r| ≤ k).
 */
import type { RuleCandidate } from '../../widgets';
import { ValueError } from '../../errors';
import { displayPrompt, truncateWords, type PromptTemplate, type WordProposal } from './prompts';

/** A candidate (or, once accepted, a rule): words → label, from one instance through one template. */
export interface CandidateRule {
  readonly id: string;
  /** 0-based class. */
  readonly label: number;
  readonly words: readonly string[];
  readonly template: PromptTemplate;
  /** The source instance's text and its row in the item array. */
  readonly instance: string;
  readonly sourceRow: number;
  readonly iteration: number;
}

/** Candidates from (row, text, gold label, proposal) tuples; instances without words give none. */
export function makeCandidates(
  sources: readonly { row: number; text: string; label: number; proposal: WordProposal }[],
  t: PromptTemplate,
  iteration: number,
): CandidateRule[] {
  return sources.flatMap((s) =>
    s.proposal.words.length === 0
      ? []
      : [
          {
            id: `it${iteration}-row${s.row}-${t.name}`,
            label: s.label,
            words: [...s.proposal.words],
            template: t,
            instance: s.text,
            sourceRow: s.row,
            iteration,
          },
        ],
  );
}

/** The widget's view of candidates: label by class name, the prompt with the instance in place. */
export function toWidgetCandidates(
  cands: readonly CandidateRule[],
  classNames: readonly string[],
): RuleCandidate[] {
  return cands.map((c) => {
    const label = classNames[c.label];
    if (label === undefined) throw new ValueError(`candidate "${c.id}" has unknown label ${c.label}`);
    return {
      id: c.id,
      label,
      words: [...c.words],
      prompt: displayPrompt(c.template, truncateWords(c.instance, 40)),
      instance: c.instance,
    };
  });
}
