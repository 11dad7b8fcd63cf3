/**
 * Model configs: a family (backbone + neck), the compound-scaling coefficient φ
 * with optional overrides, number of classes and anchors. Read from YAML files
 * (the zoo lives in configs/models/) or built in code; every problem is reported
 * with the file and the field.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ACTIVATIONS, type ActivationName } from '../nn/activation.js';
import { type AlignOp, IMPLICIT_KINDS, type ImplicitConfig, type ImplicitKind, NO_IMPLICIT, type RefineMode } from '../nn/implicit.js';

export { type AlignOp, type ImplicitConfig, NO_IMPLICIT, type RefineMode } from '../nn/implicit.js';

import { TASK_NAMES, type TaskName, taskSpecs } from '../tasks/registry.js';
import { BACKBONE_BUILDERS, NECK_FAMILIES } from './registry.js';
import { compoundScale, type ScaledDims } from './scaling.js';

export type BackboneType = 'csp-darknet';
export type NeckType = 'fpn' | 'pan' | 'bifpn';
export type BlockType = 'csp' | 'c3';

export { TASK_NAMES, type TaskName } from '../tasks/registry.js';

/** How the multi-task loss weighs the tasks: fixed weights, or learned homoscedastic uncertainty (Kendall et al.). */
export type TaskWeighting = 'fixed' | 'uncertainty';

export interface ModelConfig {
  name: string;
  description: string;
  nc: number;
  /** Class names (optional; `class0…` when absent). */
  names?: string[];
  phi: number;
  activation: ActivationName;
  backbone: BackboneType;
  block: BlockType;
  neck: NeckType;
  /** Anchors per output level as [w, h] pairs in input pixels. */
  anchors: Array<Array<[number, number]>>;
  /** Scaled dimensions: from φ, then any explicit overrides in the file. */
  dims: ScaledDims;
  implicit: ImplicitConfig;
  /** Normalisation after each conv: batch norm (default) or none (convs get biases instead). */
  norm: NormType;
  /** Task heads on the shared representation (default: detect only). */
  tasks: TaskName[];
  /**
   * Task-specific implicit knowledge: how each non-detection head's own code z_T is
   * combined with the shared features at its input ('none' for a plain multi-task
   * network). The detection head's code is `implicit.align`. Modelled as `implicit.kind`.
   */
  taskImplicit: AlignOp;
  /** Outputs of the classify head: classes, then attributes (e.g. colours). Default nc. */
  numLabels: number;
  /** Identities the embed head's training classifier distinguishes (0 without an embed task). */
  numIdentities: number;
  /** Embedding size. */
  embedDim: number;
  taskWeighting: TaskWeighting;
}

export type NormType = 'bn' | 'none';
const NORMS: readonly string[] = ['bn', 'none'];

export const DEFAULT_ANCHORS: Array<Array<[number, number]>> = [
  [
    [10, 13],
    [16, 30],
    [33, 23],
  ],
  [
    [30, 61],
    [62, 45],
    [59, 119],
  ],
  [
    [116, 90],
    [156, 198],
    [373, 326],
  ],
];

const BACKBONES: readonly string[] = Object.keys(BACKBONE_BUILDERS);
const NECKS: readonly string[] = Object.keys(NECK_FAMILIES);
const BLOCKS: readonly string[] = ['csp', 'c3'];
const KNOWN_KEYS = new Set([
  'name',
  'description',
  'nc',
  'names',
  'phi',
  'activation',
  'norm',
  'backbone',
  'block',
  'neck',
  'anchors',
  'width_multiple',
  'depth_multiple',
  'imgsz',
  'bifpn_width',
  'bifpn_repeats',
  'bifpn_levels',
  'head_depth',
  'implicit',
  'tasks',
  'task_implicit',
  'num_labels',
  'num_identities',
  'embed_dim',
  'task_weighting',
]);
const IMPLICIT_KEYS = new Set(['align', 'refine', 'kind', 'sigma', 'concat_channels']);

class ConfigError extends Error {}

function fail(where: string, field: string, problem: string): never {
  throw new ConfigError(`${where}: '${field}' ${problem}`);
}

function num(raw: Record<string, unknown>, field: string, where: string, opts: { int?: boolean; min?: number }): number | undefined {
  const v = raw[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, field, `must be a number, got ${JSON.stringify(v)}`);
  if (opts.int && !Number.isInteger(v)) fail(where, field, `must be an integer, got ${v}`);
  if (opts.min !== undefined && v < opts.min) fail(where, field, `must be ≥ ${opts.min}, got ${v}`);
  return v;
}

function oneOf<T extends string>(raw: Record<string, unknown>, field: string, where: string, allowed: readonly string[], dflt: T): T {
  const v = raw[field] ?? dflt;
  if (typeof v !== 'string' || !allowed.includes(v)) fail(where, field, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function parseAnchors(v: unknown, where: string): Array<Array<[number, number]>> {
  if (v === undefined) return DEFAULT_ANCHORS.map((l) => l.map(([w, h]) => [w, h] as [number, number]));
  if (!Array.isArray(v) || v.length === 0) fail(where, 'anchors', 'must be a list of levels, each a flat list w1,h1,w2,h2,…');
  return v.map((level, i) => {
    if (!Array.isArray(level) || level.length === 0 || level.length % 2 !== 0 || !level.every((x) => typeof x === 'number' && x > 0)) {
      fail(where, `anchors[${i}]`, 'must be a non-empty flat list of positive numbers w1,h1,w2,h2,…');
    }
    const pairs: Array<[number, number]> = [];
    for (let k = 0; k < level.length; k += 2) pairs.push([level[k] as number, level[k + 1] as number]);
    return pairs;
  });
}

function parseImplicit(v: unknown, where: string): ImplicitConfig {
  if (v === undefined || v === null || v === false) return { ...NO_IMPLICIT };
  if (typeof v !== 'object' || Array.isArray(v)) fail(where, 'implicit', 'must be a mapping (align, refine, kind, sigma, concat_channels)');
  const r = v as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (!IMPLICIT_KEYS.has(k)) fail(where, `implicit.${k}`, `is not an implicit field (known: ${[...IMPLICIT_KEYS].join(', ')})`);
  const rawRefine = r.refine ?? false;
  const refine: RefineMode | undefined =
    rawRefine === true ? 'both' : rawRefine === false ? 'none' : (['none', 'add', 'mul', 'both'] as const).find((m) => m === rawRefine);
  if (refine === undefined) fail(where, 'implicit.refine', `must be true, false, none, add, mul or both, got ${JSON.stringify(rawRefine)}`);
  const sigma = num(r, 'sigma', where, { min: 0 }) ?? NO_IMPLICIT.sigma;
  return {
    align: oneOf<AlignOp>(r, 'align', `${where} (implicit)`, ['none', 'add', 'mul', 'concat'], 'none'),
    refine,
    kind: oneOf<ImplicitKind>(r, 'kind', `${where} (implicit)`, IMPLICIT_KINDS, 'vector'),
    sigma,
    concatChannels: num(r, 'concat_channels', where, { int: true, min: 1 }) ?? NO_IMPLICIT.concatChannels,
  };
}

/** Validates a parsed config object; `where` names its source in error messages. */
export function parseModelConfig(raw: unknown, where: string): ModelConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${where}: a model config must be a mapping`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!KNOWN_KEYS.has(k)) fail(where, k, `is not a model config field (known: ${[...KNOWN_KEYS].join(', ')})`);
  if (typeof r.name !== 'string' || r.name === '') fail(where, 'name', 'must be a non-empty string');
  const nc = num(r, 'nc', where, { int: true, min: 1 }) ?? 80;
  const names = r.names;
  if (names !== undefined && (!Array.isArray(names) || names.length !== nc || !names.every((n) => typeof n === 'string'))) {
    fail(where, 'names', `must be a list of ${nc} strings (one per class)`);
  }
  const phi = num(r, 'phi', where, { int: true, min: 0 }) ?? 0;
  const neck = oneOf<NeckType>(r, 'neck', where, NECKS, 'pan');
  const dims = compoundScale(phi);
  const overrides: Array<[keyof ScaledDims, string, boolean, number]> = [
    ['widthMultiple', 'width_multiple', false, 0.01],
    ['depthMultiple', 'depth_multiple', false, 0.01],
    ['imgsz', 'imgsz', true, 32],
    ['bifpnWidth', 'bifpn_width', true, 8],
    ['bifpnRepeats', 'bifpn_repeats', true, 1],
    ['headDepth', 'head_depth', true, 0],
  ];
  for (const [key, field, int, min] of overrides) {
    const v = num(r, field, where, { int, min });
    if (v !== undefined) dims[key] = v;
  }
  const levels = num(r, 'bifpn_levels', where, { int: true, min: 3 });
  if (levels !== undefined) {
    if (levels !== 3 && levels !== 5) fail(where, 'bifpn_levels', `must be 3 or 5, got ${levels}`);
    dims.bifpnLevels = levels;
  }
  if (dims.imgsz % 32 !== 0) fail(where, 'imgsz', `must be a multiple of 32, got ${dims.imgsz}`);
  const anchors = parseAnchors(r.anchors, where);
  const outLevels = NECK_FAMILIES[neck].outLevels(dims);
  if (anchors.length !== outLevels) fail(where, 'anchors', `has ${anchors.length} levels but the ${neck} neck outputs ${outLevels}`);
  const cfg: ModelConfig = {
    name: r.name as string,
    description: typeof r.description === 'string' ? r.description : '',
    nc,
    phi,
    activation: oneOf<ActivationName>(r, 'activation', where, ACTIVATIONS, 'silu'),
    backbone: oneOf<BackboneType>(r, 'backbone', where, BACKBONES, 'csp-darknet'),
    block: oneOf<BlockType>(r, 'block', where, BLOCKS, 'csp'),
    neck,
    anchors,
    dims,
    implicit: parseImplicit(r.implicit, where),
    norm: oneOf<NormType>(r, 'norm', where, NORMS, 'bn'),
    tasks: parseTasks(r.tasks, where),
    taskImplicit: oneOf<AlignOp>(r, 'task_implicit', where, ['none', 'add', 'mul', 'concat'], 'none'),
    numLabels: num(r, 'num_labels', where, { int: true, min: 1 }) ?? nc,
    numIdentities: num(r, 'num_identities', where, { int: true, min: 0 }) ?? 0,
    embedDim: num(r, 'embed_dim', where, { int: true, min: 2 }) ?? 32,
    taskWeighting: oneOf<TaskWeighting>(r, 'task_weighting', where, ['fixed', 'uncertainty'], 'fixed'),
  };
  for (const spec of taskSpecs(cfg.tasks)) spec.checkConfig?.(cfg, (field, problem) => fail(where, field, problem));
  if (names !== undefined) cfg.names = names as string[];
  return cfg;
}

function parseTasks(v: unknown, where: string): TaskName[] {
  if (v === undefined) return ['detect'];
  const list = typeof v === 'string' ? v.split(',').map((t) => t.trim()) : v;
  if (!Array.isArray(list) || list.length === 0) fail(where, 'tasks', `must be a non-empty list of tasks (${TASK_NAMES.join(', ')})`);
  const out: TaskName[] = [];
  for (const t of list) {
    if (typeof t !== 'string' || !TASK_NAMES.includes(t as TaskName))
      fail(where, 'tasks', `has unknown task ${JSON.stringify(t)} (known: ${TASK_NAMES.join(', ')})`);
    if (out.includes(t as TaskName)) fail(where, 'tasks', `lists ${t} twice`);
    out.push(t as TaskName);
  }
  // Canonical order, so that two configs with the same tasks are the same model.
  return TASK_NAMES.filter((t) => out.includes(t));
}

/** Reads and validates a YAML model config file. */
export function readModelConfig(path: string): ModelConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read model config (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new Error(`${path}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseModelConfig(raw, path);
}

/** The config as a plain object that parseModelConfig accepts back (for checkpoints). */
export function serializeModelConfig(cfg: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: cfg.name,
    description: cfg.description,
    nc: cfg.nc,
    phi: cfg.phi,
    activation: cfg.activation,
    norm: cfg.norm,
    backbone: cfg.backbone,
    block: cfg.block,
    neck: cfg.neck,
    anchors: cfg.anchors.map((l) => l.flat()),
    width_multiple: cfg.dims.widthMultiple,
    depth_multiple: cfg.dims.depthMultiple,
    imgsz: cfg.dims.imgsz,
    bifpn_width: cfg.dims.bifpnWidth,
    bifpn_repeats: cfg.dims.bifpnRepeats,
    bifpn_levels: cfg.dims.bifpnLevels,
    head_depth: cfg.dims.headDepth,
    implicit: {
      align: cfg.implicit.align,
      refine: cfg.implicit.refine,
      kind: cfg.implicit.kind,
      sigma: cfg.implicit.sigma,
      concat_channels: cfg.implicit.concatChannels,
    },
    tasks: [...cfg.tasks],
    task_implicit: cfg.taskImplicit,
    num_labels: cfg.numLabels,
    num_identities: cfg.numIdentities,
    embed_dim: cfg.embedDim,
    task_weighting: cfg.taskWeighting,
  };
  if (cfg.names) out.names = cfg.names;
  return out;
}
