/**
 * HH-RLHF dialogues cut into what a reward model for DORM (thesis ch. 3) reads: the last human turn
 * (the prompt) and the final assistant reply of the chosen and the rejected dialogue, plus the length
 * baselines every reward model on this data has to beat.
 */
import { FileFormatError, ValueError } from '../errors';
import { loadHhRlhf, type PreferencePair } from './datasets';

const HUMAN = '\n\nHuman:';
const ASSISTANT = '\n\nAssistant:';

/** One dialogue's last human turn and the assistant reply that follows it. */
export interface LastTurn {
  prompt: string;
  reply: string;
}

/** A preference pair reduced to its last turn; `id` is the row number in the source file (0-based). */
export interface HhTurnPair {
  id: number;
  prompt: string;
  chosen: string;
  rejected: string;
  /** Characters (UTF-16 code units) of the full chosen / rejected dialogues, for the length baselines. */
  chosenLength: number;
  rejectedLength: number;
}

/** A pair left out of a load, with the reason (e.g. an empty reply). */
export interface DroppedPair {
  id: number;
  reason: string;
}

export interface HhTurnData {
  pairs: HhTurnPair[];
  dropped: DroppedPair[];
}

/**
 * Splits a `\n\nHuman: … \n\nAssistant: …` dialogue at its last assistant turn: the reply is the text
 * after the last `Assistant:` marker, the prompt the text of the human turn before it (both trimmed).
 */
export function splitLastTurn(dialogue: string, where = 'dialogue'): LastTurn {
  const a = dialogue.lastIndexOf(ASSISTANT);
  if (a < 0) throw new FileFormatError(`${where}: no "Assistant:" turn`);
  const before = dialogue.slice(0, a);
  const h = before.lastIndexOf(HUMAN);
  if (h < 0) throw new FileFormatError(`${where}: no "Human:" turn before the last assistant reply`);
  return {
    prompt: before.slice(h + HUMAN.length).trim(),
    reply: dialogue.slice(a + ASSISTANT.length).trim(),
  };
}

export interface TurnOptions {
  /** What to do with a pair whose prompt or either reply is empty: drop it and list it (default) or throw. */
  onEmpty?: 'drop' | 'error';
}

/** Reduces raw preference pairs to last turns; pairs with an empty reply are dropped (listed) or rejected. */
export function toTurnPairs(raw: readonly PreferencePair[], opts: TurnOptions = {}): HhTurnData {
  const pairs: HhTurnPair[] = [];
  const dropped: DroppedPair[] = [];
  raw.forEach((r, id) => {
    const c = splitLastTurn(r.chosen, `HH-RLHF pair ${id} (chosen)`);
    const j = splitLastTurn(r.rejected, `HH-RLHF pair ${id} (rejected)`);
    const empty = !c.reply ? 'chosen reply' : !j.reply ? 'rejected reply' : !c.prompt ? 'prompt' : '';
    if (empty) {
      if (opts.onEmpty === 'error') throw new ValueError(`HH-RLHF pair ${id}: empty ${empty}`);
      dropped.push({ id, reason: `empty ${empty}` });
      return;
    }
    pairs.push({
      id,
      prompt: c.prompt,
      chosen: c.reply,
      rejected: j.reply,
      chosenLength: r.chosen.length,
      rejectedLength: r.rejected.length,
    });
  });
  return { pairs, dropped };
}

/** HH-RLHF harmless-base test (2,312 pairs) as last turns; see `toTurnPairs` for empty replies. */
export function loadHhRlhfTurns(opts: TurnOptions = {}): HhTurnData {
  return toTurnPairs(loadHhRlhf(), opts);
}

/** Length heuristics on pairs: how often the chosen dialogue is the longer one, and "shorter wins". */
export interface LengthBaselines {
  pairs: number;
  /** Share of pairs whose chosen dialogue is strictly longer ("longer wins" accuracy, ties lost). */
  chosenLonger: number;
  /** Share of pairs whose chosen dialogue is not longer ("shorter wins", ties credited). */
  shorterWins: number;
  /** "Shorter wins" with a tie counted as half right (a coin flip). */
  shorterWinsTieHalf: number;
  ties: number;
}

/** The length baselines on full-dialogue character counts. */
export function lengthBaselines(
  pairs: readonly { chosenLength: number; rejectedLength: number }[],
): LengthBaselines {
  if (pairs.length === 0) throw new ValueError('lengthBaselines: no pairs');
  let longer = 0;
  let ties = 0;
  for (const p of pairs) {
    if (p.chosenLength > p.rejectedLength) longer++;
    else if (p.chosenLength === p.rejectedLength) ties++;
  }
  const n = pairs.length;
  return {
    pairs: n,
    chosenLonger: longer / n,
    shorterWins: (n - longer) / n,
    shorterWinsTieHalf: (n - longer - ties / 2) / n,
    ties,
  };
}
