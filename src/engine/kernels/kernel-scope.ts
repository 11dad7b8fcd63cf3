/**
 * A small helper for writing composite kernels: it calls other kernels of the
 * same backend directly (not through the engine, so nothing lands on the
 * gradient tape and the op-level argument checks do not apply) and disposes
 * every intermediate it produced except the one the caller keeps.
 */
import { getKernel, type KernelBackend, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

export class KernelScope {
  private readonly intermediates: TensorInfo[] = [];

  constructor(
    readonly backend: KernelBackend,
    readonly backendName: string,
  ) {}

  /** Runs the kernel `name` of this backend and tracks its output for disposal. */
  run(name: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = getKernel(name, this.backendName);
    if (kernel == null) {
      throw new Error(`kernel ${name} is not registered for backend '${this.backendName}'`);
    }
    // Pack and Concat take their inputs as an array.
    const out = kernel.kernelFunc({ inputs: inputs as Record<string, TensorInfo>, attrs, backend: this.backend });
    const info = Array.isArray(out) ? out[0] : out;
    if (info === undefined) throw new Error(`kernel ${name} returned no output`);
    this.intermediates.push(info);
    return info;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Pads (positive amounts) or crops (negative amounts) each axis: amounts[axis] = [before, after]. */
  padOrCrop(x: TensorInfo, amounts: Array<[number, number]>): TensorInfo {
    let cur = x;
    if (amounts.some(([a, b]) => a < 0 || b < 0)) {
      const begin = amounts.map(([a]) => Math.max(0, -a));
      const size = x.shape.map((d, i) => d - begin[i]! - Math.max(0, -amounts[i]![1]));
      cur = this.run('Slice', { x: cur }, { begin, size });
    }
    if (amounts.some(([a, b]) => a > 0 || b > 0)) {
      const paddings = amounts.map(([a, b]) => [Math.max(0, a), Math.max(0, b)]);
      cur = this.run('PadV2', { x: cur }, { paddings, constantValue: 0 });
    }
    return cur;
  }

  /**
   * Inserts (stride - 1) zeros after every element along the two spatial axes of
   * an NHWC tensor; the result has H*sh rows and W*sw columns.
   */
  zeroInsert(x: TensorInfo, sh: number, sw: number): TensorInfo {
    if (sh === 1 && sw === 1) return x;
    const [b, h, w, c] = x.shape as [number, number, number, number];
    const r = this.reshape(x, [b, h, 1, w, 1, c]);
    const p = this.run(
      'PadV2',
      { x: r },
      {
        paddings: [
          [0, 0],
          [0, 0],
          [0, sh - 1],
          [0, 0],
          [0, sw - 1],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    return this.reshape(p, [b, h * sh, w * sw, c]);
  }

  /** Adds a tensor made outside `run` (e.g. with backend.write) to the intermediates. */
  track(info: TensorInfo): TensorInfo {
    this.intermediates.push(info);
    return info;
  }

  /**
   * The filter for an input-gradient convolution, in one pass: taps (i0 + s·a, j0 + s·b)
   * of `filter` [kh, kw, ci, co], flipped in space, with in/out channels swapped
   * when `swap` (→ [th, tw, co, ci]) or kept (→ [th, tw, ci, co]). The wasm
   * backend's Reverse kernel alone costs more than the convolution it feeds.
   */
  flippedFilter(filter: TensorInfo, opts: { i0?: number; j0?: number; step?: [number, number]; swap: boolean }): TensorInfo {
    const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
    const [sh, sw] = opts.step ?? [1, 1];
    const i0 = opts.i0 ?? 0;
    const j0 = opts.j0 ?? 0;
    const th = Math.ceil((kh - i0) / sh);
    const tw = Math.ceil((kw - j0) / sw);
    const src = this.backend.readSync(filter.dataId) as Float32Array;
    const shape = opts.swap ? [th, tw, co, ci] : [th, tw, ci, co];
    const out = new Float32Array(th * tw * ci * co);
    for (let a = 0; a < th; a++) {
      for (let b = 0; b < tw; b++) {
        const si = i0 + sh * (th - 1 - a);
        const sj = j0 + sw * (tw - 1 - b);
        const from = (si * kw + sj) * ci * co;
        const to = (a * tw + b) * ci * co;
        if (!opts.swap) {
          out.set(src.subarray(from, from + ci * co), to);
          continue;
        }
        for (let c = 0; c < ci; c++) {
          for (let o = 0; o < co; o++) out[to + o * ci + c] = src[from + c * co + o]!;
        }
      }
    }
    const info: TensorInfo = { dataId: this.backend.write(out, shape, 'float32'), shape, dtype: 'float32' };
    this.intermediates.push(info);
    return info;
  }

  /** A float32 tensor of zeros, tracked like the other intermediates. */
  zeros(shape: number[]): TensorInfo {
    const size = shape.reduce((a, b) => a * b, 1);
    const info: TensorInfo = { dataId: this.backend.write(new Float32Array(size), shape, 'float32'), shape, dtype: 'float32' };
    this.intermediates.push(info);
    return info;
  }

  /** Disposes every intermediate except `keep`. */
  finish(keep: TensorInfo): TensorInfo {
    for (const t of this.intermediates) {
      if (t !== keep) this.backend.disposeData(t.dataId);
    }
    this.intermediates.length = 0;
    return keep;
  }

  /** Disposes every intermediate (used when a kernel throws). */
  abandon(): void {
    for (const t of this.intermediates) this.backend.disposeData(t.dataId);
    this.intermediates.length = 0;
  }
}

/** Runs `body` inside a scope and returns the kept output, cleaning up on error too. */
export function withKernelScope(backend: KernelBackend, backendName: string, body: (s: KernelScope) => TensorInfo): TensorInfo {
  const scope = new KernelScope(backend, backendName);
  try {
    return scope.finish(body(scope));
  } catch (err) {
    scope.abandon();
    throw err;
  }
}
