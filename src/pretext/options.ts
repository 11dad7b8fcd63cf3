/** The pretext options' defaults and their checks (a bad value is an error naming the option). */
import type { PretextOptions } from './types.js';

export const PRETEXT_DEFAULTS: PretextOptions = {
  jigsawPermutations: 100,
  temperature: 0.5,
  countMargin: 10,
  noiseStd: 0.1,
  inpaintLoss: 'l2',
  colorize: 'classify',
};

export function pretextOptions(o: Partial<PretextOptions> = {}): PretextOptions {
  const r = { ...PRETEXT_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as PretextOptions;
  if (!Number.isInteger(r.jigsawPermutations) || r.jigsawPermutations < 2 || r.jigsawPermutations > 5000)
    throw new Error(`--jigsaw-permutations: ${r.jigsawPermutations} (expected an integer from 2 to 5000)`);
  if (!(r.temperature > 0)) throw new Error(`--temperature: ${r.temperature} (expected > 0)`);
  if (!(r.countMargin > 0)) throw new Error(`--count-margin: ${r.countMargin} (expected > 0)`);
  if (!(r.noiseStd > 0)) throw new Error(`--noise-std: ${r.noiseStd} (expected > 0)`);
  if (r.inpaintLoss !== 'l2' && r.inpaintLoss !== 'l1') throw new Error(`--inpaint-loss: ${r.inpaintLoss} (expected l2 or l1)`);
  if (r.colorize !== 'classify' && r.colorize !== 'regress') throw new Error(`--colorize: ${r.colorize} (expected classify or regress)`);
  return r;
}
