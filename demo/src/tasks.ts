/**
 * A multi-task model's other outputs, read the way `yolor predict` reads
 * them (src/train/predict-tasks.ts): every label's probability (classes,
 * then attributes), and the class map — argmax over the segment logits of the
 * letterboxed input, mapped back to the original image by nearest neighbour
 * (the library's own functions, src/tasks/segment/class-map.ts).
 */
import { argmaxClasses, type LetterboxPlacement, unletterboxClassMap } from '../../src/tasks/segment/class-map.js';
import type { DemoConfig } from './config.js';
import type { ModelOutputs } from './runtime.js';

export interface ImageLabel {
  index: number;
  name: string;
  /** Probability (sigmoid). */
  score: number;
}

export interface SegmentClass {
  /** Index into config.segment (0 background, c + 1 detection class c). */
  index: number;
  name: string;
  /** Share of the image's pixels. */
  share: number;
}

export interface TaskResult {
  /** Every label, most probable first (null: no classify head). */
  labels: ImageLabel[] | null;
  /** Class per original-image pixel, row-major (null: no segment head). */
  classMap: Uint8Array | null;
  /** Classes present in the class map, largest first (background included). */
  segment: SegmentClass[] | null;
}

export function readTasks(out: ModelOutputs, config: DemoConfig, lb: LetterboxPlacement, width: number, height: number): TaskResult {
  const labels =
    out.labels && config.labels
      ? Array.from(out.labels, (score, index) => ({ index, name: config.labels![index] ?? `label${index}`, score })).sort((a, b) => b.score - a.score)
      : null;
  let classMap: Uint8Array | null = null;
  let segment: SegmentClass[] | null = null;
  if (out.segment && config.segment) {
    const k = config.segment.length;
    const s = config.imgsz;
    if (out.segment.length !== s * s * k) throw new Error(`segment output has ${out.segment.length} values; expected ${s}×${s}×${k}`);
    classMap = unletterboxClassMap(argmaxClasses(out.segment, k), s, s, lb, width, height);
    const counts = new Array<number>(k).fill(0);
    for (const c of classMap) counts[c]!++;
    segment = counts
      .map((n, index) => ({ index, name: config.segment![index]!, share: n / classMap!.length }))
      .filter((c) => c.share > 0)
      .sort((a, b) => b.share - a.share);
  }
  return { labels, classMap, segment };
}
