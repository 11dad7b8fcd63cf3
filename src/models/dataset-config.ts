/**
 * The model config of a training run: a zoo or file config adapted to a
 * dataset's classes, the tasks asked for, and the label spaces they imply.
 */
import type { TaskName } from '../tasks/registry.js';
import type { DatasetLabelInfo } from '../tasks/types.js';
import { type ModelConfig, parseModelConfig, serializeModelConfig } from './config.js';

/**
 * A model config for a dataset: `base` with `overrides` (config file keys; the
 * nested `implicit` fields merged, not replaced), the dataset's classes, the
 * tasks, and the label spaces they imply (classify: classes + attributes;
 * embed: the dataset's identities).
 */
export function configForDataset(
  base: ModelConfig,
  data: { names: readonly string[]; info: DatasetLabelInfo },
  opts: { tasks: readonly TaskName[]; overrides?: Record<string, unknown>; uncertainty?: boolean; widthMultiple?: number; where?: string },
): ModelConfig {
  const raw = serializeModelConfig(base);
  const overrides = opts.overrides ?? {};
  const implicit = { ...(raw.implicit as Record<string, unknown>), ...((overrides.implicit as Record<string, unknown> | undefined) ?? {}) };
  return parseModelConfig(
    {
      ...raw,
      ...overrides,
      implicit,
      nc: data.names.length,
      names: [...data.names],
      tasks: [...opts.tasks],
      num_labels: data.names.length + data.info.attributes.length,
      num_identities: opts.tasks.includes('embed') ? data.info.numIdentities : 0,
      task_weighting: opts.uncertainty ? 'uncertainty' : 'fixed',
      ...(opts.widthMultiple !== undefined ? { width_multiple: opts.widthMultiple } : {}),
    },
    opts.where ?? base.name,
  );
}
