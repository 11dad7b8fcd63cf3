/**
 * The pretext table: every self-supervised pretext task, listed once, in
 * canonical order (the order of heads in a pretext network, of loss terms and of
 * results.csv columns). Adding a pretext task is a folder src/pretext/<name>/
 * whose index.ts exports a PretextSpec, and one line here; `yolor pretrain`, the
 * pretext network, checkpoints and test/pretext/conformance.test.ts loop over
 * this list.
 */
import { colorizeTask } from './colorize/index.js';
import { contrastiveTask } from './contrastive/index.js';
import { countTask } from './count/index.js';
import { denoiseTask } from './denoise/index.js';
import { inpaintTask } from './inpaint/index.js';
import { jigsawTask } from './jigsaw/index.js';
import { patchLocationTask } from './patch-location/index.js';
import { rotationTask } from './rotation/index.js';
import type { PretextSpec } from './types.js';

export const PRETEXT_TASKS: readonly PretextSpec[] = [
  rotationTask as PretextSpec,
  colorizeTask as PretextSpec,
  denoiseTask as PretextSpec,
  inpaintTask as PretextSpec,
  jigsawTask as PretextSpec,
  patchLocationTask as PretextSpec,
  countTask as PretextSpec,
  contrastiveTask as PretextSpec,
];

export const PRETEXT_NAMES: readonly string[] = PRETEXT_TASKS.map((t) => t.name);

/** The spec of a pretext task (an error naming the known ones for an unknown name). */
export function pretextSpec(name: string): PretextSpec {
  const s = PRETEXT_TASKS.find((t) => t.name === name);
  if (!s) throw new Error(`unknown pretext task '${name}' (known: ${PRETEXT_NAMES.join(', ')})`);
  return s;
}

/** The specs of `tasks`, in canonical order; an error for an empty list, a repeat or an unknown name. */
export function pretextSpecs(tasks: readonly string[]): PretextSpec[] {
  if (!tasks.length) throw new Error(`no pretext task given (known: ${PRETEXT_NAMES.join(', ')})`);
  const seen = new Set<string>();
  for (const t of tasks) {
    pretextSpec(t);
    if (seen.has(t)) throw new Error(`pretext task '${t}' given twice`);
    seen.add(t);
  }
  return PRETEXT_TASKS.filter((t) => tasks.includes(t.name));
}
