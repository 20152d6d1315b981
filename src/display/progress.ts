/**
 * A progress bar for long loops. In a notebook it is one output updated in place (HTML bar with
 * a text fallback for frontends that show only text); in a terminal it redraws one line.
 */
import { getKernelBridge } from './bridge';
import { display, type DisplayHandle } from './show';
import { escapeHtml, RichOutput } from './objects';
import { QUIET } from './mime';
import { ValueError } from '../errors';
import { describe } from '../protocol/check';

/** Options of a progress bar. */
export interface ProgressOptions {
  /** Number of steps; omit for an open-ended counter. */
  total?: number;
  /** Text before the bar. */
  label?: string;
  /** Minimum time between redraws, ms (the final state is always drawn). */
  intervalMs?: number;
  /** Width of the text bar, in characters. */
  width?: number;
}

function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
}

/** A bar that is advanced with `tick()`/`set()` and finished with `done()`. */
export class ProgressBar {
  readonly [QUIET] = true;
  readonly total?: number;
  private value = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private handle?: DisplayHandle;
  private finished = false;
  private note = '';

  constructor(private readonly options: ProgressOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new ValueError(`progress(): options must be an object, got ${describe(options)}`);
    if (options.total !== undefined && (typeof options.total !== 'number' || !(options.total >= 0)))
      throw new ValueError(`progress(): total must be a number ≥ 0, got ${describe(options.total)}`);
    this.total = options.total;
    this.draw(true);
  }

  /** Current step count. */
  get current(): number {
    return this.value;
  }

  /** Advances by `n` steps (default 1). */
  tick(n = 1): void {
    this.set(this.value + n);
  }

  /** Sets the step count; `note` is shown after the bar (e.g. a loss value). */
  set(value: number, note?: string): void {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new ValueError(`progress: the step count must be a finite number, got ${describe(value)}`);
    this.value = value;
    if (note !== undefined) this.note = note;
    this.draw(false);
  }

  /** Draws the final state. */
  done(note?: string): void {
    if (this.finished) return;
    if (note !== undefined) this.note = note;
    if (this.total !== undefined && this.value < this.total) this.value = this.total;
    this.finished = true;
    this.draw(true);
    if (!getKernelBridge() && process.stderr.isTTY) process.stderr.write('\n');
  }

  /** The bar as one line of text. */
  text(): string {
    const elapsed = Date.now() - this.started;
    const label = this.options.label ? `${this.options.label} ` : '';
    const note = this.note ? `  ${this.note}` : '';
    if (this.total === undefined || this.total <= 0)
      return `${label}${this.value} it  ${duration(elapsed)}${note}`;
    const frac = Math.min(1, this.value / this.total);
    const width = this.options.width ?? 30;
    const filled = Math.round(frac * width);
    const eta = frac > 0 && frac < 1 ? `, eta ${duration((elapsed / frac) * (1 - frac))}` : '';
    return `${label}[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.value}/${this.total} (${Math.round(frac * 100)}%) ${duration(elapsed)}${eta}${note}`;
  }

  private html(): string {
    const label = this.options.label
      ? `<span style="margin-right:0.5em">${escapeHtml(this.options.label)}</span>`
      : '';
    const pct = this.total ? Math.min(100, (100 * this.value) / this.total) : 0;
    const bar = this.total
      ? `<progress value="${this.value}" max="${this.total}" style="width:20em;vertical-align:middle">${pct.toFixed(0)}%</progress>`
      : '';
    const textPart = escapeHtml(
      this.text()
        .slice(this.options.label ? this.options.label.length + 1 : 0)
        .replace(/^\[[#.]*\] /, ''),
    );
    return `<div class="efflab-progress" style="font-family:monospace">${label}${bar} <span>${textPart}</span></div>`;
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < (this.options.intervalMs ?? 100)) return;
    this.lastDraw = now;
    const output = new RichOutput({ 'text/html': this.html(), 'text/plain': this.text() });
    if (getKernelBridge()) {
      if (this.handle) this.handle.update(output);
      else this.handle = display(output);
    } else if (process.stderr.isTTY) {
      process.stderr.write(`\r${this.text()}`);
    } else if (this.finished) {
      process.stderr.write(`${this.text()}\n`);
    }
  }
}

/** Starts a progress bar. */
export function progress(options: ProgressOptions = {}): ProgressBar {
  return new ProgressBar(options);
}

/** Iterates `items` while showing progress; the bar finishes when the loop does. */
export function* track<T>(items: Iterable<T>, options: ProgressOptions = {}): Generator<T> {
  if (items === null || items === undefined || typeof (items as Iterable<T>)[Symbol.iterator] !== 'function')
    throw new ValueError(
      `track(): expected something to iterate over (an array, a Set, …), got ${describe(items)}`,
    );
  const total = options.total ?? (Array.isArray(items) ? items.length : undefined);
  const bar = new ProgressBar({ ...options, total });
  try {
    for (const item of items) {
      yield item;
      bar.tick();
    }
  } finally {
    bar.done();
  }
}
