/**
 * Compound scaling: one coefficient φ scales depth, width and input resolution
 * together (EfficientNet's idea). Each step of φ multiplies
 *   depth (block repeats)  by 1.5,
 *   width (channels)       by 1.5,
 *   resolution             by 1.25 (rounded to a multiple of 32),
 * from the φ = 0 model (depth 0.33, width 0.25, 320 px) — about 5× the FLOPs per
 * step, the n → s → m progression of the YOLO families. The BiFPN neck follows
 * EfficientDet's own rules: width 64·1.35^φ (rounded to a multiple of 8), 3 + φ
 * repeated layers, and a head of 3 + ⌊φ/3⌋ separable convolutions.
 */
import { bifpnScaling } from './necks/bifpn.js';

export interface ScaledDims {
  depthMultiple: number;
  widthMultiple: number;
  imgsz: number;
  bifpnWidth: number;
  bifpnRepeats: number;
  bifpnLevels: number;
  headDepth: number;
}

export const SCALING_BASE = { depthMultiple: 0.33, widthMultiple: 0.25, imgsz: 320 } as const;
export const SCALING_STEP = { depth: 1.5, width: 1.5, resolution: 1.25 } as const;

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function compoundScale(phi: number): ScaledDims {
  if (!Number.isInteger(phi) || phi < 0) throw new Error(`compound coefficient φ must be a non-negative integer, got ${phi}`);
  const bifpn = bifpnScaling(phi);
  return {
    depthMultiple: round(SCALING_BASE.depthMultiple * SCALING_STEP.depth ** phi, 3),
    widthMultiple: round(SCALING_BASE.widthMultiple * SCALING_STEP.width ** phi, 4),
    imgsz: Math.round((SCALING_BASE.imgsz * SCALING_STEP.resolution ** phi) / 32) * 32,
    bifpnWidth: bifpn.width,
    bifpnRepeats: bifpn.repeats,
    bifpnLevels: 3,
    headDepth: bifpn.headDepth,
  };
}
