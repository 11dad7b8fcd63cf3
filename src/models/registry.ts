/**
 * Builders for each backbone and neck type named in model configs, with what the
 * rest of the model needs to know of a neck family (how many output levels, how
 * deep a head it asks for). A new family is added here (one entry) and in its own
 * file; nothing else switches on types.
 */
import { CspDarknet } from './backbones/csp-darknet.js';
import type { BackboneType, ModelConfig, NeckType } from './config.js';
import { BiFpnNeck } from './necks/bifpn.js';
import { FpnNeck } from './necks/fpn.js';
import { PanNeck } from './necks/pan.js';
import type { ScaledDims } from './scaling.js';
import type { Backbone, BuildContext, Neck } from './types.js';

type BackboneBuilder = (cfg: ModelConfig, ctx: BuildContext) => Backbone;
type NeckBuilder = (cfg: ModelConfig, backbone: Backbone, ctx: BuildContext) => Neck;

export const BACKBONE_BUILDERS: Record<BackboneType, BackboneBuilder> = {
  'csp-darknet': (cfg, ctx) =>
    new CspDarknet({
      widthMultiple: cfg.dims.widthMultiple,
      depthMultiple: cfg.dims.depthMultiple,
      ctx,
      block: cfg.block,
    }),
};

/** A neck family: its builder, its number of output levels and the head depth it asks for. */
export interface NeckFamily {
  build: NeckBuilder;
  outLevels(dims: ScaledDims): number;
  /** Separable convs before each prediction conv (the EfficientDet-style head of the BiFPN family; 0 otherwise). */
  headDepth(dims: ScaledDims): number;
}

export const NECK_FAMILIES: Record<NeckType, NeckFamily> = {
  fpn: {
    build: (cfg, b, ctx) =>
      new FpnNeck({
        inChannels: b.outChannels,
        inStrides: b.outStrides,
        depthMultiple: cfg.dims.depthMultiple,
        ctx,
        block: cfg.block,
      }),
    outLevels: () => 3,
    headDepth: () => 0,
  },
  pan: {
    build: (cfg, b, ctx) =>
      new PanNeck({
        inChannels: b.outChannels,
        inStrides: b.outStrides,
        depthMultiple: cfg.dims.depthMultiple,
        ctx,
        block: cfg.block,
      }),
    outLevels: () => 3,
    headDepth: () => 0,
  },
  bifpn: {
    build: (cfg, b, ctx) =>
      new BiFpnNeck({
        inChannels: b.outChannels,
        inStrides: b.outStrides,
        width: cfg.dims.bifpnWidth,
        repeats: cfg.dims.bifpnRepeats,
        levels: cfg.dims.bifpnLevels as 3 | 5,
        ctx,
      }),
    outLevels: (dims) => dims.bifpnLevels,
    headDepth: (dims) => dims.headDepth,
  },
};

export const NECK_BUILDERS: Record<NeckType, NeckBuilder> = {
  fpn: NECK_FAMILIES.fpn.build,
  pan: NECK_FAMILIES.pan.build,
  bifpn: NECK_FAMILIES.bifpn.build,
};
