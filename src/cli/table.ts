/** Plain-text tables for terminals and logs: no borders, no colours, stable widths. */

export type Align = 'left' | 'right';

export interface TableOptions {
  /** Column headers; when given, a dashed rule separates them from the rows. */
  header?: readonly string[];
  /** Per-column alignment; numbers read better right-aligned. Default left. */
  align?: readonly Align[];
  /** Leading spaces on every line. */
  indent?: number;
  /** Spaces between columns. */
  gap?: number;
}

function pad(text: string, width: number, align: Align): string {
  return align === 'right' ? text.padStart(width) : text.padEnd(width);
}

/** Formats rows into aligned columns; trailing whitespace is trimmed so output diffs cleanly. */
export function formatTable(rows: readonly (readonly string[])[], opts: TableOptions = {}): string {
  const all = opts.header ? [opts.header, ...rows] : [...rows];
  const ncol = Math.max(0, ...all.map((r) => r.length));
  const widths = Array.from({ length: ncol }, (_, c) => Math.max(0, ...all.map((r) => (r[c] ?? '').length)));
  const indent = ' '.repeat(opts.indent ?? 0);
  const gap = ' '.repeat(opts.gap ?? 2);
  const line = (r: readonly string[]): string => (indent + widths.map((w, c) => pad(r[c] ?? '', w, opts.align?.[c] ?? 'left')).join(gap)).trimEnd();

  const out: string[] = [];
  if (opts.header) {
    out.push(line(opts.header));
    out.push(indent + widths.map((w) => '-'.repeat(w)).join(gap));
  }
  for (const r of rows) out.push(line(r));
  return out.join('\n');
}

/**
 * Three significant digits, switching to exponent form for very small/large
 * magnitudes where toPrecision would print long runs of zeros.
 */
export function formatSignificant(x: number, digits = 3): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e5 ? x.toExponential(digits - 1) : x.toPrecision(digits);
}

/** Bytes as GiB/MiB with one decimal, for memory summaries. */
export function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
