/**
 * The optional native addon (native/: convolutions on oneDNN or built-in im2col + GEMM,
 * fused batch norm + activation, memory-bound kernels; OpenMP threads). `npm ci` builds
 * it where g++ and the Node headers are (oneDNN's convolutions where libdnnl-dev is
 * installed), and never fails because of it; `npm run build:native` rebuilds it.
 *
 * `loadNativeAddon` returns the addon or the reason it is unavailable; nothing
 * here throws, so every caller can fall back to the WebAssembly kernels.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

export const NATIVE_HOW_TO =
  'npm run build:native in the yolor-ts package folder (needs g++; with libdnnl-dev installed first, its convolutions use oneDNN)';

/** Activation codes shared with native/src/norm_act.h. */
export const NATIVE_ACT = { linear: 0, silu: 1, relu: 2, leaky: 3 } as const;
export type NativeAct = keyof typeof NATIVE_ACT;

export interface NativeAddon {
  info(): { library: string; isa: string; threads: number };
  setThreads(n: number): void;
  /** geometry: [n, h, w, ic, oh, ow, oc, kh, kw, groups, sh, sw, dh, dw, padTop, padLeft]. */
  convForward(geometry: Int32Array, x: Float32Array, filter: Float32Array, y: Float32Array): void;
  convBackwardData(geometry: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  convBackwardWeights(geometry: Int32Array, x: Float32Array, dy: Float32Array, dfilter: Float32Array): void;
  /** The implementation chosen for a geometry (oneDNN's, or the built-in one); pass 0 forward, 1 backward data, 2 backward weights. */
  convImpl(geometry: Int32Array, pass: 0 | 1 | 2): string;
  channelSums(x: Float32Array, batch: number, pixels: number, channels: number, center: Float32Array | null, out: Float64Array): void;
  bnActForward(
    x: Float32Array,
    rows: number,
    channels: number,
    mean: Float32Array,
    rstd: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    act: number,
    y: Float32Array,
  ): void;
  bnActBackwardSums(
    x: Float32Array,
    dy: Float32Array,
    batch: number,
    pixels: number,
    channels: number,
    mean: Float32Array,
    rstd: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    act: number,
    sumDp: Float64Array,
    sumDpXhat: Float64Array,
  ): void;
  bnActBackwardDx(
    x: Float32Array,
    dy: Float32Array,
    rows: number,
    channels: number,
    mean: Float32Array,
    rstd: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    act: number,
    meanDp: Float32Array,
    meanDpXhat: Float32Array,
    dx: Float32Array,
  ): void;
  actForward(x: Float32Array, n: number, act: number, y: Float32Array): void;
  actBackward(x: Float32Array, dy: Float32Array, n: number, act: number, dx: Float32Array): void;
  /** geometry: [n, h, w, c, oh, ow, fh, fw, sh, sw, dh, dw, padTop, padLeft] (fh, fw: effective sizes). */
  maxPoolBackward(geometry: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** geometry [b, oh, ow, c, h, w]; rows/cols: the source row/column of each output row/column. */
  resizeNearestBackward(dy: Float32Array, geometry: Int32Array, rows: Int32Array, cols: Int32Array, dx: Float32Array): void;
  /** Nesterov SGD update of one variable (see engine/kernels/optimizer-steps.ts). */
  sgdStep(
    x: Float32Array,
    m: Float32Array,
    g: Float32Array,
    n: number,
    lr: number,
    momentum: number,
    weightDecay: number,
    xOut: Float32Array,
    mOut: Float32Array,
  ): void;
  /** out = shadow·decay + x·oneMinusDecay. */
  emaStep(shadow: Float32Array, x: Float32Array, n: number, decay: number, oneMinusDecay: number, out: Float32Array): void;
  /** Copies `rows` rows of `width` floats between views with the given row strides. */
  copyColumns(src: Float32Array, srcStride: number, dst: Float32Array, dstStride: number, rows: number, width: number): void;
}

/** Every function the kernels call: an addon built from older sources lacks some, and is refused with a rebuild hint. */
const NATIVE_FUNCTIONS = [
  'info',
  'setThreads',
  'convForward',
  'convBackwardData',
  'convBackwardWeights',
  'convImpl',
  'channelSums',
  'bnActForward',
  'bnActBackwardSums',
  'bnActBackwardDx',
  'actForward',
  'actBackward',
  'maxPoolBackward',
  'resizeNearestBackward',
  'sgdStep',
  'emaStep',
  'copyColumns',
] as const satisfies ReadonlyArray<keyof NativeAddon>;

/** The functions the kernels need that `addon` lacks (empty for an addon built from these sources). */
export function missingNativeFunctions(addon: object): string[] {
  return NATIVE_FUNCTIONS.filter((f) => typeof (addon as Record<string, unknown>)[f] !== 'function');
}

export type NativeLoad = { addon: NativeAddon; path: string } | { addon: null; reason: string };

/** Where the addon is looked for: $YOLOR_NATIVE_ADDON, else native/build/Release in the package. */
export function nativeAddonPath(): string {
  return process.env.YOLOR_NATIVE_ADDON ?? fileURLToPath(new URL('../../../../native/build/Release/yolor_native.node', import.meta.url));
}

let loaded: NativeLoad | null = null;

export function loadNativeAddon(): NativeLoad {
  if (loaded) return loaded;
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    loaded = { addon: null, reason: `the native addon is not built (${path} is missing; to enable it: ${NATIVE_HOW_TO})` };
    return loaded;
  }
  try {
    // OpenMP threads that spin while waiting steal the cores from any other busy process (a second run, a test
    // suite): measured 13× slower steps under sharing, and 1–3 % slower when idle with passive waiting, so
    // passive is the default (read by libgomp when the addon loads; an explicit OMP_WAIT_POLICY wins).
    process.env.OMP_WAIT_POLICY ??= 'passive';
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    const missing = missingNativeFunctions(addon);
    if (missing.length) {
      loaded = { addon: null, reason: `the native addon at ${path} is out of date (it lacks ${missing.join(', ')}); rebuild it: ${NATIVE_HOW_TO}` };
      return loaded;
    }
    addon.setThreads(defaultNativeThreads());
    loaded = { addon, path };
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0] ?? String(err);
    loaded = { addon: null, reason: `the native addon failed to load: ${msg} (rebuild it: ${NATIVE_HOW_TO})` };
  }
  return loaded;
}

/** Threads for the native kernels of one engine: $YOLOR_NATIVE_THREADS, else every core. */
export function defaultNativeThreads(): number {
  const env = Number(process.env.YOLOR_NATIVE_THREADS);
  return Number.isInteger(env) && env > 0 ? env : availableParallelism();
}
