/**
 * The export gate: how far an exported model's decoded output is from the
 * tfjs model's on the same image, and whether that is within float32 noise.
 *
 * Decoded rows are [cx, cy, w, h (input pixels), objectness, class scores…].
 * Boxes and scores are measured apart, each on its own scale: boxes as
 * max |a − b| / max |b| over the box columns (relative to the largest box
 * value, i.e. about the image size), scores as max |a − b| (they lie in
 * [0, 1]). One figure over both would hide a wrong score behind box values
 * in the hundreds of pixels.
 */
import { Rng } from '../util/rng.js';

/**
 * Default tolerance of the gate. Exports of every zoo model differ from tfjs
 * by ≤ 1e-6 in both measures (float32 rounding in another order); a wrong
 * lowering shows up at 1e-3 and above.
 */
export const EXPORT_CHECK_TOLERANCE = 1e-4;

export interface OutputDifference {
  /** max |a − b| / max |b| over the box columns. */
  box: number;
  /** max |a − b| over the objectness and class columns. */
  score: number;
  /** Where the larger of the two (each over its own scale) occurs. */
  worst: { row: number; column: number; what: string; got: number; expected: number };
}

/** A multi-task export's other outputs: `labels` (probabilities, absolute) and `segment` (logits, relative to the largest). */
export interface TaskOutputDifference {
  output: 'labels' | 'segment';
  measure: 'absolute' | 'relative';
  difference: number;
  /** Flat index of the largest difference, and the two values there. */
  worst: { index: number; got: number; expected: number };
}

export interface ExportCheck extends OutputDifference {
  engine: string;
  tolerance: number;
  passed: boolean;
  /** The task outputs compared (empty for a detection-only export). */
  tasks: TaskOutputDifference[];
}

/** The name of column `column` of a decoded row. */
export function columnName(column: number, names: readonly string[]): string {
  if (column < 4) return ['box cx', 'box cy', 'box w', 'box h'][column]!;
  if (column === 4) return 'objectness';
  const c = column - 5;
  return `class ${c} (${names[c] ?? `class${c}`}) score`;
}

/** Differences of decoded rows of `no` = 5 + nc columns (see the module comment). */
export function compareDecodedRows(got: ArrayLike<number>, expected: ArrayLike<number>, no: number, names: readonly string[] = []): OutputDifference {
  if (got.length !== expected.length)
    throw new Error(`export check: the export gives ${got.length} output values, the tfjs model ${expected.length}`);
  if (no < 5 || expected.length % no !== 0) throw new Error(`export check: ${expected.length} values are not rows of ${no}`);
  let boxScale = 0;
  for (let i = 0; i < expected.length; i++) if (i % no < 4) boxScale = Math.max(boxScale, Math.abs(expected[i]!));
  boxScale = Math.max(boxScale, 1e-12);
  let box = 0;
  let score = 0;
  let worstRel = -1;
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(got[i]! - expected[i]!);
    const isBox = i % no < 4;
    const rel = isBox ? d / boxScale : d;
    if (isBox) box = Math.max(box, rel);
    else score = Math.max(score, rel);
    if (!(rel <= worstRel)) {
      worstRel = rel;
      at = i;
    }
  }
  const column = at % no;
  return { box, score, worst: { row: Math.floor(at / no), column, what: columnName(column, names), got: got[at]!, expected: expected[at]! } };
}

/** Difference of one task output: absolute for `labels` (probabilities), relative to the largest |value| for `segment` (logits). */
export function compareTaskOutput(output: 'labels' | 'segment', got: ArrayLike<number>, expected: ArrayLike<number>): TaskOutputDifference {
  if (got.length !== expected.length) throw new Error(`export check: output ${output} has ${got.length} values, the tfjs model's ${expected.length}`);
  let scale = 1;
  if (output === 'segment') {
    scale = 0;
    for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
    scale = Math.max(scale, 1e-12);
  }
  let difference = -1;
  let index = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(got[i]! - expected[i]!) / scale;
    if (!(d <= difference)) {
      difference = d;
      index = i;
    }
  }
  return {
    output,
    measure: output === 'labels' ? 'absolute' : 'relative',
    difference: expected.length ? difference : 0,
    worst: { index, got: got[index]!, expected: expected[index]! },
  };
}

/** Throws unless `tolerance` is a finite number ≥ 0. */
export function validateTolerance(tolerance: number): void {
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) throw new Error(`export check: the tolerance must be a finite number ≥ 0; got ${tolerance}`);
}

/** The gate's verdict: passed when both measures are within `tolerance` (NaN never passes). */
export function checkVerdict(
  d: OutputDifference,
  engine: string,
  tolerance = EXPORT_CHECK_TOLERANCE,
  tasks: TaskOutputDifference[] = [],
): ExportCheck {
  validateTolerance(tolerance);
  const passed = d.box <= tolerance && d.score <= tolerance && tasks.every((t) => t.difference <= tolerance);
  return { ...d, engine, tolerance, passed, tasks };
}

/** One line for logs: both measures and, when the check fails, where. */
export function describeCheck(c: ExportCheck): string {
  const tasks = c.tasks.map((t) => `, ${t.output} difference ${t.difference.toExponential(2)} (${t.measure})`).join('');
  const figures = `box difference ${c.box.toExponential(2)} (relative), score difference ${c.score.toExponential(2)} (absolute)${tasks}; tolerance ${c.tolerance.toExponential(0)}`;
  if (c.passed) return `check: ${c.engine} vs tfjs on a test image: ${figures}: passed`;
  const w = c.worst;
  const v = (x: number): string => String(Number(x.toPrecision(6)));
  const where = !(c.box <= c.tolerance && c.score <= c.tolerance)
    ? `worst at detections row ${w.row}, ${w.what}: export ${v(w.got)} vs tfjs ${v(w.expected)}`
    : c.tasks
        .filter((t) => !(t.difference <= c.tolerance))
        .map((t) => `output ${t.output} differs most at element ${t.worst.index}: export ${v(t.worst.got)} vs tfjs ${v(t.worst.expected)}`)
        .join('; ');
  return `check FAILED: ${c.engine} vs tfjs on a test image: ${figures}; ${where}`;
}

/** A smooth, deterministic RGB test image in [0, 1] (NHWC, one image): blobs over a gradient. */
export function testImage(size: number, seed = 7): Float32Array {
  const rng = new Rng(seed);
  const blobs = Array.from({ length: 6 }, () => ({
    x: rng.next() * size,
    y: rng.next() * size,
    r: (0.05 + rng.next() * 0.2) * size,
    c: [rng.next(), rng.next(), rng.next()],
  }));
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      let c = [(x / size) * 0.5, (y / size) * 0.5, 0.3];
      for (const b of blobs) if ((x - b.x) ** 2 + (y - b.y) ** 2 < b.r * b.r) c = b.c;
      out[o] = c[0]!;
      out[o + 1] = c[1]!;
      out[o + 2] = c[2]!;
    }
  }
  return out;
}
