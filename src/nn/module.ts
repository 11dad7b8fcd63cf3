/**
 * A small module system over tfjs: named parameters in a tree of modules,
 * train/eval mode, parameter groups (for weight decay and optimiser settings),
 * state dicts (save / load / compare), and a tracer that records per-layer output
 * shapes, parameter counts and multiply-adds during a forward pass.
 *
 * Layout: NHWC activations; conv weights [kh, kw, in, out].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import type { ActivationName } from './activation.js';
import type { FuseReport } from './fuse.js';

/** What every model-part builder gets: a seeded generator for initialisation and the default activation. */
export interface BuildContext {
  rng: Rng;
  act: ActivationName;
}

/**
 * What a tensor is, for the optimiser: `weight` gets weight decay; `bias`, `bn`
 * (scale/shift) and `implicit` (YOLOR implicit knowledge) do not by default;
 * `buffer` is state that is saved but not trained (batch-norm running statistics).
 */
export type ParamGroup = 'weight' | 'bias' | 'bn' | 'implicit' | 'buffer';

export interface Parameter {
  /** Full dotted path, e.g. `backbone.stage1.conv.weight`. */
  name: string;
  variable: tf.Variable;
  group: ParamGroup;
}

/** Records leaf layers during a traced forward pass (see `traceModel`). */
export interface LayerRecord {
  name: string;
  type: string;
  outputShape: number[];
  params: number;
  /** Multiply-accumulates for the traced input (batch included). */
  macs: number;
  /** With `checkFinite`: whether every output value is finite (locates NaN/Inf). */
  finite?: boolean;
}

let activeTrace: LayerRecord[] | null = null;
let checkFinite = false;
let onRecord: ((rec: LayerRecord) => void) | null = null;

/**
 * Runs `fn` while collecting a LayerRecord for every leaf layer that reports
 * itself; with `checkFinite` each record also says whether its output is finite.
 */
export function withTrace<T>(
  fn: () => T,
  opts: { checkFinite?: boolean; onRecord?: (rec: LayerRecord) => void } = {},
): { result: T; layers: LayerRecord[] } {
  const previous = activeTrace;
  const previousCheck = checkFinite;
  const previousOnRecord = onRecord;
  const layers: LayerRecord[] = [];
  activeTrace = layers;
  checkFinite = opts.checkFinite ?? false;
  onRecord = opts.onRecord ?? null;
  try {
    return { result: fn(), layers };
  } finally {
    activeTrace = previous;
    checkFinite = previousCheck;
    onRecord = previousOnRecord;
  }
}

export abstract class Module {
  /** Dotted path from the root; set when the module is attached to a parent. */
  path = '';
  training = true;
  private readonly ownParams = new Map<string, { variable: tf.Variable; group: ParamGroup }>();
  private readonly children = new Map<string, Module>();

  /** A short type name for summaries (the class name by default). */
  get typeName(): string {
    return this.constructor.name;
  }

  protected addParam(name: string, value: tf.Tensor, group: ParamGroup): tf.Variable {
    if (this.ownParams.has(name) || this.children.has(name)) {
      throw new Error(`${this.typeName}: duplicate member '${name}'`);
    }
    const variable = tf.variable(value, group !== 'buffer', undefined, 'float32');
    value.dispose();
    this.ownParams.set(name, { variable, group });
    return variable;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    if (this.ownParams.has(name) || this.children.has(name)) {
      throw new Error(`${this.typeName}: duplicate member '${name}'`);
    }
    this.children.set(name, m);
    m.setPath(this.path ? `${this.path}.${name}` : name);
    return m;
  }

  /** Replaces (or adds) a parameter's value; the old variable is disposed. */
  protected setParam(name: string, value: tf.Tensor, group: ParamGroup): tf.Variable {
    const old = this.ownParams.get(name);
    if (old) {
      old.variable.dispose();
      this.ownParams.delete(name);
    }
    return this.addParam(name, value, group);
  }

  /** Removes one of this module's own parameters (used when folding it away). */
  protected removeParam(name: string): void {
    const p = this.ownParams.get(name);
    if (!p) throw new Error(`${this.typeName}: no parameter '${name}'`);
    p.variable.dispose();
    this.ownParams.delete(name);
  }

  /** Removes a child module (used when folding it away); its parameters are disposed. */
  protected removeModule(name: string): void {
    const m = this.children.get(name);
    if (!m) throw new Error(`${this.typeName}: no child '${name}'`);
    m.dispose();
    this.children.delete(name);
  }

  /**
   * Folds batch norm and implicit knowledge into neighbouring convolutions for
   * inference (see fuse.ts), recording what was folded and what was kept. The
   * default folds each child; layers that own foldable state override it.
   */
  fuseInPlace(report: FuseReport): void {
    for (const [, c] of this.children) c.fuseInPlace(report);
  }

  /**
   * Removes batch normalisation from the subtree (a model config's `norm: none`):
   * convolutions get a zero-initialised bias instead. Layers that own a batch
   * norm override it.
   */
  dropBatchNorm(): void {
    for (const [, c] of this.children) c.dropBatchNorm();
  }

  private setPath(p: string): void {
    this.path = p;
    for (const [n, c] of this.children) c.setPath(`${p}.${n}`);
  }

  /** Direct children in registration order. */
  childModules(): Array<[string, Module]> {
    return [...this.children];
  }

  /** Every parameter and buffer of this subtree, in a stable order (own first, then children). */
  parameters(): Parameter[] {
    const out: Parameter[] = [];
    for (const [n, p] of this.ownParams) out.push({ name: this.path ? `${this.path}.${n}` : n, ...p });
    for (const [, c] of this.children) out.push(...c.parameters());
    return out;
  }

  /** Trainable parameters (buffers excluded) grouped for the optimiser. */
  parameterGroups(): Record<Exclude<ParamGroup, 'buffer'>, tf.Variable[]> {
    const groups = { weight: [] as tf.Variable[], bias: [] as tf.Variable[], bn: [] as tf.Variable[], implicit: [] as tf.Variable[] };
    for (const p of this.parameters()) if (p.group !== 'buffer') groups[p.group].push(p.variable);
    return groups;
  }

  /** Number of trainable scalars (buffers excluded). */
  numParams(): number {
    return this.parameters()
      .filter((p) => p.group !== 'buffer')
      .reduce((n, p) => n + p.variable.size, 0);
  }

  /** Number of trainable scalars owned by this module itself (not its children). */
  ownParamCount(): number {
    let n = 0;
    for (const [, p] of this.ownParams) if (p.group !== 'buffer') n += p.variable.size;
    return n;
  }

  train(mode = true): this {
    this.training = mode;
    for (const [, c] of this.children) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** name → tensor for every parameter and buffer (the variables themselves; do not dispose). */
  stateDict(): Map<string, tf.Tensor> {
    return new Map(this.parameters().map((p) => [p.name, p.variable as tf.Tensor]));
  }

  /**
   * Copies values in by name. Every name must be present with the same shape;
   * the error names the first tensor that is missing, unexpected or mis-shaped.
   */
  loadStateDict(state: Map<string, tf.Tensor> | Record<string, tf.Tensor>): void {
    const entries = state instanceof Map ? state : new Map(Object.entries(state));
    const params = this.parameters();
    for (const p of params) {
      const t = entries.get(p.name);
      if (!t) throw new Error(`checkpoint has no tensor '${p.name}' (shape [${p.variable.shape}]) that the model needs`);
      if (t.shape.join(',') !== p.variable.shape.join(',')) {
        throw new Error(`tensor '${p.name}': checkpoint has shape [${t.shape}], model expects [${p.variable.shape}]`);
      }
    }
    const known = new Set(params.map((p) => p.name));
    for (const name of entries.keys()) {
      if (!known.has(name)) throw new Error(`checkpoint has tensor '${name}' that the model does not have`);
    }
    for (const p of params) p.variable.assign(entries.get(p.name)!);
  }

  dispose(): void {
    for (const p of this.parameters()) p.variable.dispose();
  }

  /** Layers that appear as one row in summaries call this with their output (parameters of the whole subtree are counted). */
  protected record(output: tf.Tensor, macs: number): void {
    if (!activeTrace) return;
    const rec: LayerRecord = { name: this.path, type: this.typeName, outputShape: output.shape.slice(), params: this.numParams(), macs };
    if (checkFinite) rec.finite = tf.tidy(() => tf.all(tf.isFinite(output)).dataSync()[0] === 1);
    activeTrace.push(rec);
    onRecord?.(rec);
  }
}

/** Kaiming-uniform initialisation (PyTorch's default for conv layers): U(−b, b), b = 1/√fan_in. */
export function kaimingUniform(rng: Rng, shape: number[], fanIn: number): tf.Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (rng.next() * 2 - 1) * bound;
  return tf.tensor(v, shape);
}
