/**
 * tqdm-style progress bar for long loops (training epochs, evaluation):
 *
 *   train  45%|██████▌       | 450/1000 [00:12<00:15, 36.2 it/s] loss=1.234
 *
 * On a TTY the line is redrawn in place at most ~10 times a second. Elsewhere
 * (CI logs, pipes) a full line is printed only at each 10% step and at the
 * end, so logs stay short instead of filling with carriage returns.
 */

export type Postfix = Record<string, number | string>;

export interface ProgressBarOptions {
  total: number;
  label?: string;
  stream?: NodeJS.WritableStream;
  /** Bar width in characters, excluding the `|` borders. */
  width?: number;
  /** Unit of work shown in the rate, e.g. 'img' gives 'img/s'. */
  unit?: string;
  /** Overrides TTY detection of `stream`. */
  tty?: boolean;
  /** Clock in milliseconds; injectable for tests. */
  now?: () => number;
}

const PARTIAL_BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const REDRAW_INTERVAL_MS = 100;

/** `mm:ss`, or `h:mm:ss` from one hour on; `?` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

/** `36.2 it/s`; slow work flips to `2.50 s/it` since tiny rates read badly. */
export function formatRate(perSecond: number, unit = 'it'): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return `? ${unit}/s`;
  if (perSecond < 1) return `${(1 / perSecond).toFixed(2)} s/${unit}`;
  const digits = perSecond >= 100 ? 0 : perSecond >= 10 ? 1 : 2;
  return `${perSecond.toFixed(digits)} ${unit}/s`;
}

/** Exactly `width` characters, using eighth blocks for sub-character resolution. */
export function renderBar(fraction: number, width: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const eighths = Math.floor(clamped * width * 8);
  const full = Math.floor(eighths / 8);
  const partial = full < width ? PARTIAL_BLOCKS[eighths % 8]! : '';
  return ('█'.repeat(full) + partial).padEnd(width, ' ');
}

function formatPostfixValue(v: number | string): string {
  if (typeof v === 'string' || Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs !== 0 && (abs >= 1e5 || abs < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

export function formatPostfix(postfix: Postfix | undefined): string {
  if (!postfix) return '';
  return Object.entries(postfix)
    .map(([k, v]) => `${k}=${formatPostfixValue(v)}`)
    .join(' ');
}

export interface ProgressState {
  label?: string;
  done: number;
  total: number;
  elapsedSeconds: number;
  width: number;
  unit?: string;
  postfix?: Postfix;
}

export function formatProgressLine(s: ProgressState): string {
  const fraction = s.total > 0 ? s.done / s.total : 1;
  const rate = s.elapsedSeconds > 0 ? s.done / s.elapsedSeconds : Number.NaN;
  const eta = s.done >= s.total ? 0 : rate > 0 ? (s.total - s.done) / rate : Number.NaN;
  const pct = `${Math.floor(Math.min(1, fraction) * 100)}`.padStart(3, ' ');
  const parts = [
    `${pct}%|${renderBar(fraction, s.width)}| ${s.done}/${s.total}`,
    `[${formatDuration(s.elapsedSeconds)}<${formatDuration(eta)}, ${formatRate(rate, s.unit)}]`,
  ];
  if (s.label) parts.unshift(s.label);
  const postfix = formatPostfix(s.postfix);
  if (postfix) parts.push(postfix);
  return parts.join(' ');
}

export class ProgressBar {
  readonly total: number;
  private readonly label: string;
  private readonly stream: NodeJS.WritableStream;
  private readonly width: number;
  private readonly unit: string;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly startMs: number;
  private done = 0;
  private postfix: Postfix | undefined;
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private lastDecile = 0;
  private lastPrintedDone = -1;
  private finished = false;

  constructor(options: ProgressBarOptions) {
    this.total = options.total;
    this.label = options.label ?? '';
    this.stream = options.stream ?? process.stderr;
    this.width = options.width ?? 25;
    this.unit = options.unit ?? 'it';
    this.tty = options.tty ?? (this.stream as { isTTY?: boolean }).isTTY === true;
    this.now = options.now ?? (() => performance.now());
    this.startMs = this.now();
  }

  /** Advances by `n`; a given postfix replaces the shown one and persists. */
  tick(n = 1, postfix?: Postfix): void {
    this.update(this.done + n, postfix);
  }

  update(done: number, postfix?: Postfix): void {
    if (this.finished) return;
    this.done = done;
    if (postfix) this.postfix = postfix;
    const nowMs = this.now();
    if (this.tty) {
      if (nowMs - this.lastDrawMs >= REDRAW_INTERVAL_MS || done >= this.total) {
        this.lastDrawMs = nowMs;
        this.stream.write(`\r${this.line(nowMs)}\x1b[K`);
      }
      return;
    }
    const decile = this.total > 0 ? Math.floor((Math.min(done, this.total) / this.total) * 10) : 10;
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      this.printLine(nowMs);
    }
  }

  /** Draws the final state and ends the line. Idempotent. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const nowMs = this.now();
    if (this.tty) {
      this.stream.write(`\r${this.line(nowMs)}\x1b[K\n`);
    } else if (this.lastPrintedDone !== this.done) {
      this.printLine(nowMs);
    }
  }

  private printLine(nowMs: number): void {
    this.lastPrintedDone = this.done;
    this.stream.write(`${this.line(nowMs)}\n`);
  }

  private line(nowMs: number): string {
    return formatProgressLine({
      label: this.label,
      done: this.done,
      total: this.total,
      elapsedSeconds: (nowMs - this.startMs) / 1000,
      width: this.width,
      unit: this.unit,
      postfix: this.postfix,
    });
  }
}
