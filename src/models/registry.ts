/**
 * Builders for each backbone and neck type named in model configs. A new family
 * is added here (one entry) and in its own file; nothing else switches on types.
 */
import { CspDarknet } from './backbones/csp-darknet.js';
import type { BackboneType, ModelConfig, NeckType } from './config.js';
import { BiFpnNeck } from './necks/bifpn.js';
import { FpnNeck } from './necks/fpn.js';
import { PanNeck } from './necks/pan.js';
import type { Backbone, BuildContext, Neck } from './types.js';

type BackboneBuilder = (cfg: ModelConfig, ctx: BuildContext) => Backbone;
type NeckBuilder = (cfg: ModelConfig, backbone: Backbone, ctx: BuildContext) => Neck;

export const BACKBONE_BUILDERS: Record<BackboneType, BackboneBuilder> = {
  'csp-darknet': (cfg, ctx) => new CspDarknet({
    widthMultiple: cfg.dims.widthMultiple, depthMultiple: cfg.dims.depthMultiple, ctx, block: cfg.block,
  }),
};

export const NECK_BUILDERS: Record<NeckType, NeckBuilder> = {
  fpn: (cfg, b, ctx) => new FpnNeck({
    inChannels: b.outChannels, inStrides: b.outStrides, depthMultiple: cfg.dims.depthMultiple, ctx, block: cfg.block,
  }),
  pan: (cfg, b, ctx) => new PanNeck({
    inChannels: b.outChannels, inStrides: b.outStrides, depthMultiple: cfg.dims.depthMultiple, ctx, block: cfg.block,
  }),
  bifpn: (cfg, b, ctx) => new BiFpnNeck({
    inChannels: b.outChannels, inStrides: b.outStrides, width: cfg.dims.bifpnWidth, repeats: cfg.dims.bifpnRepeats,
    levels: cfg.dims.bifpnLevels as 3 | 5, ctx,
  }),
};
