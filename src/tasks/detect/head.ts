/**
 * The YOLO detection head: per output level, an optional stack of depthwise-
 * separable convolutions (the EfficientDet-style head of the BiFPN family) and a
 * 1×1 prediction conv with anchors × (4 + 1 + classes) channels, in the YOLOv3
 * layout [x, y, w, h, objectness, class scores…] per anchor. Decoding belongs to
 * the detection task. Biases start at the YOLOv5 priors: objectness
 * log(8 / cells²) (about 8 objects per image) and class log(0.6 / (nc − 0.99)).
 *
 * Implicit knowledge (YOLOR), per level:
 *   align       ImplicitAdd / ImplicitMul / ImplicitConcat on the neck output (feature alignment)
 *   refine_add  ImplicitAdd before the prediction conv   (prediction refinement)
 *   refine_mul  ImplicitMul after the prediction conv
 * `fuseInPlace` folds them into the prediction conv (or the first head conv), or
 * keeps them as constant ops where folding would not be exact, and says which.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DWSeparableConv } from '../../nn/blocks.js';
import { Conv2d } from '../../nn/conv.js';
import { FoldRefused, type FuseReport, foldAddBeforeConv, foldConcatBeforeConv, foldMulAfterConv, foldMulBeforeConv } from '../../nn/fuse.js';
import { ImplicitAdd, ImplicitConcat, type ImplicitConfig, ImplicitMul, NO_IMPLICIT } from '../../nn/implicit.js';
import type { BuildContext } from '../../nn/module.js';
import { Module } from '../../nn/module.js';

export interface DetectHeadOptions {
  inChannels: number[];
  strides: number[];
  nc: number;
  anchorsPerLevel: number;
  /** Separable convs before each prediction conv (0 for the YOLO families). */
  depth: number;
  /** Image size used for the objectness prior. */
  imgsz: number;
  implicit?: ImplicitConfig;
  ctx: BuildContext;
}

type AlignLayer = ImplicitAdd | ImplicitMul | ImplicitConcat;

interface Level {
  align: AlignLayer | null;
  convs: DWSeparableConv[];
  refineAdd: ImplicitAdd | null;
  pred: Conv2d;
  refineMul: ImplicitMul | null;
}

export class DetectHead extends Module {
  readonly outputsPerAnchor: number;
  private readonly levels: Level[] = [];

  constructor(readonly opts: DetectHeadOptions) {
    super();
    this.outputsPerAnchor = 5 + opts.nc;
    const na = opts.anchorsPerLevel;
    const imp = opts.implicit ?? NO_IMPLICIT;
    const iopts = { kind: imp.kind, sigma: imp.sigma, rng: opts.ctx.rng };
    opts.inChannels.forEach((cin, i) => {
      let c = cin;
      let align: AlignLayer | null = null;
      if (imp.align === 'add') align = new ImplicitAdd(c, iopts);
      if (imp.align === 'mul') align = new ImplicitMul(c, iopts);
      if (imp.align === 'concat') {
        align = new ImplicitConcat(imp.concatChannels, iopts);
        c += imp.concatChannels;
      }
      if (align) this.addModule(`l${i}.align`, align);
      const convs: DWSeparableConv[] = [];
      for (let d = 0; d < opts.depth; d++) {
        convs.push(
          this.addModule(`l${i}.conv${d}`, new DWSeparableConv(c, c, { k: 3, stride: 1, act: opts.ctx.act, dwAct: 'linear', rng: opts.ctx.rng })),
        );
      }
      const refineAdd = imp.refine === 'add' || imp.refine === 'both' ? this.addModule(`l${i}.refine_add`, new ImplicitAdd(c, iopts)) : null;
      const bias = new Float32Array(na * this.outputsPerAnchor);
      const cells = (opts.imgsz / opts.strides[i]!) ** 2;
      for (let a = 0; a < na; a++) {
        const o = a * this.outputsPerAnchor;
        bias[o + 4] = Math.log(8 / cells);
        for (let k = 0; k < opts.nc; k++) bias[o + 5 + k] = Math.log(0.6 / (opts.nc - 0.99));
      }
      const pred = this.addModule(`l${i}.pred`, new Conv2d(c, na * this.outputsPerAnchor, { k: 1, rng: opts.ctx.rng, biasInit: bias }));
      const refineMul =
        imp.refine === 'mul' || imp.refine === 'both' ? this.addModule(`l${i}.refine_mul`, new ImplicitMul(na * this.outputsPerAnchor, iopts)) : null;
      this.levels.push({ align, convs, refineAdd, pred, refineMul });
    });
  }

  override get typeName(): string {
    return 'Detect';
  }

  /** One raw prediction map per level: [B, H/stride, W/stride, anchors·(5 + nc)]. */
  forward(features: tf.Tensor4D[]): tf.Tensor4D[] {
    if (features.length !== this.levels.length) {
      throw new Error(`Detect head expects ${this.levels.length} feature maps, got ${features.length}`);
    }
    return features.map((f, i) => {
      const l = this.levels[i]!;
      let h = l.align ? l.align.forward(f) : f;
      for (const c of l.convs) h = c.forward(h);
      if (l.refineAdd) h = l.refineAdd.forward(h);
      const y = l.pred.forward(h);
      return l.refineMul ? l.refineMul.forward(y) : y;
    });
  }

  /**
   * Batch norm of the separable convs first; then, per level and innermost first
   * (each fold keeps the composition with what is still unfolded exact):
   * refine_mul into pred's weights and bias, refine_add into pred's bias, and the
   * alignment into pred (no separable convs) or into the first separable conv.
   */
  override fuseInPlace(report: FuseReport): void {
    super.fuseInPlace(report);
    this.levels.forEach((l, i) => {
      const name = (s: string) => `${this.path}.l${i}.${s}`;
      if (l.refineMul) {
        const z = l.refineMul.constantValue();
        const f = foldMulAfterConv(l.pred.weight as tf.Tensor4D, l.pred.bias as tf.Tensor1D, z);
        l.pred.setConv(f.weight, f.bias);
        z.dispose();
        this.removeModule(`l${i}.refine_mul`);
        l.refineMul = null;
        report.folded.push(`${name('refine_mul')} → ${name('pred')} weight and bias`);
      }
      if (l.refineAdd) {
        const z = l.refineAdd.constantValue();
        try {
          l.pred.setConv(
            tf.clone(l.pred.weight) as tf.Tensor4D,
            foldAddBeforeConv(l.pred.weight as tf.Tensor4D, l.pred.bias as tf.Tensor1D, z, { k: l.pred.k, pad: l.pred.pad }),
          );
          this.removeModule(`l${i}.refine_add`);
          l.refineAdd = null;
          report.folded.push(`${name('refine_add')} → ${name('pred')} bias`);
        } catch (err) {
          if (!(err instanceof FoldRefused)) throw err;
          report.kept.push(`${name('refine_add')}: kept as a constant add (${err.message})`);
        } finally {
          z.dispose();
        }
      }
      if (l.align) this.foldAlign(l, i, report);
    });
  }

  private foldAlign(l: Level, i: number, report: FuseReport): void {
    const align = l.align!;
    const name = `${this.path}.l${i}.align`;
    // The first conv after the alignment: the first separable conv's depthwise half, or pred.
    const first = l.convs[0]?.dw;
    const target = first ? `${l.convs[0]!.path}.dw` : l.pred.path;
    if (l.refineAdd && !first) {
      report.kept.push(`${name}: kept (refine_add between it and ${target} was not folded)`);
      return;
    }
    const z = align.constantValue();
    try {
      if (first) {
        const w = first.weight as tf.Tensor4D;
        const b = first.bias as tf.Tensor1D;
        if (align.op === 'mul') first.setConv(foldMulBeforeConv(w, z), tf.clone(b) as tf.Tensor1D);
        else if (align.op === 'add')
          first.setConv(tf.clone(w) as tf.Tensor4D, foldAddBeforeConv(w, b, z, { k: first.k, pad: Math.floor(first.k / 2), depthwise: true }));
        else throw new FoldRefused('constant channels cannot be appended to a depthwise conv');
      } else {
        const w = l.pred.weight as tf.Tensor4D;
        const b = l.pred.bias as tf.Tensor1D;
        if (align.op === 'mul') l.pred.setConv(foldMulBeforeConv(w, z), tf.clone(b) as tf.Tensor1D);
        else if (align.op === 'add') l.pred.setConv(tf.clone(w) as tf.Tensor4D, foldAddBeforeConv(w, b, z, { k: l.pred.k, pad: l.pred.pad }));
        else {
          const f = foldConcatBeforeConv(w, b, z, w.shape[2] - (align as ImplicitConcat).extra, { k: l.pred.k, pad: l.pred.pad });
          l.pred.setConv(f.weight, f.bias);
        }
      }
      this.removeModule(`l${i}.align`);
      l.align = null;
      report.folded.push(`${name} → ${target}`);
    } catch (err) {
      if (!(err instanceof FoldRefused)) throw err;
      report.kept.push(`${name}: kept as a constant ${align.op} before ${target} (${err.message})`);
    } finally {
      z.dispose();
    }
  }
}
