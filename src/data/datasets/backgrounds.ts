/**
 * Synthetic backgrounds for the generated datasets (shapes, fashion): smooth
 * value noise, a linear gradient, stripes or a checkerboard between two muted
 * colours, with fine luminance grain. Muted, so that the saturated palette
 * colours of the objects stand out; textured, so that a detector cannot find
 * objects by colour contrast with a flat background alone.
 */
import type { Rng } from '../../util/rng.js';
import type { RgbImage } from '../types.js';

export type BackgroundKind = 'noise' | 'gradient' | 'stripes' | 'checker';
export const BACKGROUND_KINDS: readonly BackgroundKind[] = ['noise', 'gradient', 'stripes', 'checker'];

/** A low-saturation colour with every channel in [10, 195]. */
function mutedColor(rng: Rng): [number, number, number] {
  const g = 25 + rng.next() * 145;
  const c = (): number => Math.min(195, Math.max(10, g + (rng.next() - 0.5) * 50));
  return [c(), c(), c()];
}

/**
 * Paints a random textured background over the whole image: smooth value
 * noise, a linear gradient, stripes or a checkerboard between two muted
 * colours, plus fine luminance grain. Returns the kind used.
 */
export function paintBackground(img: RgbImage, rng: Rng): BackgroundKind {
  const { width: W, height: H, data } = img;
  const kind = rng.pick(BACKGROUND_KINDS);
  const a = mutedColor(rng);
  const b = mutedColor(rng);
  const t = new Float32Array(W * H);
  if (kind === 'noise') {
    const cell = rng.int(8, 48);
    const gw = Math.ceil(W / cell) + 2;
    const gh = Math.ceil(H / cell) + 2;
    const grid = new Float32Array(gw * gh);
    for (let i = 0; i < grid.length; i++) grid[i] = rng.next();
    for (let y = 0; y < H; y++) {
      const gy = y / cell;
      const y0 = Math.floor(gy);
      let fy = gy - y0;
      fy = fy * fy * (3 - 2 * fy);
      for (let x = 0; x < W; x++) {
        const gx = x / cell;
        const x0 = Math.floor(gx);
        let fx = gx - x0;
        fx = fx * fx * (3 - 2 * fx);
        const i = y0 * gw + x0;
        const top = grid[i]! + (grid[i + 1]! - grid[i]!) * fx;
        const bot = grid[i + gw]! + (grid[i + gw + 1]! - grid[i + gw]!) * fx;
        t[y * W + x] = top + (bot - top) * fy;
      }
    }
  } else if (kind === 'gradient') {
    const th = rng.next() * 2 * Math.PI;
    const c = Math.cos(th);
    const s = Math.sin(th);
    const ext = Math.abs(c) * W + Math.abs(s) * H;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) t[y * W + x] = Math.min(1, Math.max(0, ((x - W / 2) * c + (y - H / 2) * s) / ext + 0.5));
    }
  } else if (kind === 'stripes') {
    const period = rng.int(6, 32);
    const th = rng.next() * Math.PI;
    const c = Math.cos(th);
    const s = Math.sin(th);
    const smooth = rng.next() < 0.5;
    // One period sampled at 1024 phases: sinusoidal or square wave.
    const wave = new Float32Array(1024);
    for (let i = 0; i < 1024; i++) wave[i] = smooth ? 0.5 + 0.5 * Math.sin((2 * Math.PI * i) / 1024) : i < 512 ? 0 : 1;
    const dx = (c / period) * 1024;
    const dy = (s / period) * 1024;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) t[y * W + x] = wave[(x * dx + y * dy) & 1023]!;
    }
  } else {
    const cell = rng.int(8, 40);
    for (let y = 0; y < H; y++) {
      const cy = Math.floor(y / cell);
      for (let x = 0; x < W; x++) t[y * W + x] = (Math.floor(x / cell) + cy) & 1;
    }
  }
  // Integer colour lookup over 256 levels of t, then grain and clipping.
  const lut = new Int32Array(256 * 3);
  for (let q = 0; q < 256; q++) {
    const tq = q / 255;
    for (let ch = 0; ch < 3; ch++) lut[q * 3 + ch] = Math.round(a[ch]! + (b[ch]! - a[ch]!) * tq);
  }
  const grain = rng.int(0, 3);
  const span = 2 * grain + 1;
  // Fine grain from an inline xorshift32 seeded by the image's generator (no method call per pixel).
  let st = (Math.floor(rng.next() * 0xffffffff) | 1) >>> 0;
  for (let i = 0, n = W * H; i < n; i++) {
    const l = ((t[i]! * 255 + 0.5) | 0) * 3;
    let g = 0;
    if (grain > 0) {
      st ^= st << 13;
      st ^= st >>> 17;
      st ^= st << 5;
      g = (((st >>> 24) * span) >> 8) - grain;
    }
    const o = i * 3;
    // Muted colours lie in [10, 195] and |g| <= 3: no clipping needed.
    data[o] = lut[l]! + g;
    data[o + 1] = lut[l + 1]! + g;
    data[o + 2] = lut[l + 2]! + g;
  }
  return kind;
}
