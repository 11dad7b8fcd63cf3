/**
 * What a training run uses when not told otherwise: the defaults of `yolor
 * train`'s options, and the settings of ablate's runs, which choose only their
 * data, model, size, seed and tasks. One place, so the two cannot drift apart.
 */
import type { OptimizerName } from './optimizer.js';

export const TRAIN_DEFAULTS = {
  optimizer: 'auto' as OptimizerName | 'auto',
  /** Epochs without fitness improvement before early stopping. */
  patience: 50,
  /** Nominal batch: gradients accumulate over round(nbs / batch) batches. */
  nbs: 8,
  syncBn: false,
  skipBad: false,
  uncertainty: false,
  /** Weight of the Dice term added to the segmentation cross-entropy. */
  dice: 0,
} as const;
