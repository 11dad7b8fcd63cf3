/**
 * Task-specific implicit knowledge (YOLOR): a learned code z_T per task, combined
 * with the shared features at the input of that task's head — x + z_T, x · z_T or
 * concat(x, z_T) — so that each task selects and aligns what it needs from the one
 * shared representation. z_T is modelled like every implicit tensor (vector, small
 * network g(z₀) or matrix factorisation; see nn/implicit.ts).
 *
 * At deployment the code is a constant and folds into the head's first 1×1 conv
 * (`foldInto`): add → bias (b' = b + W·z), multiply → weights (W' = W·diag(z)),
 * concat → bias (the constant channels' contribution). Heads therefore start
 * with a 1×1 conv, for which every fold is exact.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import type { ConvBnAct } from './conv.js';
import { type FuseReport, foldAddBeforeConv, foldConcatBeforeConv, foldMulBeforeConv } from './fuse.js';
import { type AlignOp, ImplicitAdd, ImplicitConcat, type ImplicitKind, ImplicitMul } from './implicit.js';

export type TaskCodeLayer = ImplicitAdd | ImplicitMul | ImplicitConcat;

export interface TaskCodeOptions {
  op: AlignOp;
  kind: ImplicitKind;
  sigma: number;
  /** Channels appended by the concat variant. */
  concatChannels: number;
  rng: Rng;
}

/** The code layer for `channels` input channels (null for op 'none') and the channels the head then sees. */
export function makeTaskCode(channels: number, o: TaskCodeOptions): { code: TaskCodeLayer | null; channels: number } {
  const iopts = { kind: o.kind, sigma: o.sigma, rng: o.rng };
  if (o.op === 'add') return { code: new ImplicitAdd(channels, iopts), channels };
  if (o.op === 'mul') return { code: new ImplicitMul(channels, iopts), channels };
  if (o.op === 'concat') return { code: new ImplicitConcat(o.concatChannels, iopts), channels: channels + o.concatChannels };
  return { code: null, channels };
}

/**
 * Folds a task code into the 1×1 conv that follows it (batch norm already folded).
 * The caller removes the code module afterwards.
 */
export function foldTaskCode(code: TaskCodeLayer, conv: ConvBnAct, name: string, report: FuseReport): void {
  if (conv.k !== 1) throw new Error(`${name}: a task code folds only into a 1x1 conv, got ${conv.k}x${conv.k}`);
  if (!conv.bias) throw new Error(`${conv.path}: fold batch norm before folding the task code`);
  const z = code.constantValue();
  try {
    const w = conv.weight as tf.Tensor4D;
    const b = conv.bias as tf.Tensor1D;
    if (code.op === 'add') {
      conv.setConv(w.clone(), foldAddBeforeConv(w, b, z, { k: 1, pad: 0 }));
    } else if (code.op === 'mul') {
      conv.setConv(foldMulBeforeConv(w, z), b.clone());
    } else {
      const f = foldConcatBeforeConv(w, b, z, w.shape[2] - (code as ImplicitConcat).extra, { k: 1, pad: 0 });
      conv.setConv(f.weight, f.bias);
      (conv as { cin: number }).cin = f.weight.shape[2];
    }
  } finally {
    z.dispose();
  }
  report.folded.push(`${name} → ${conv.path}`);
}
