/**
 * Tile by repeated block copies: one axis at a time from the innermost, each
 * repetition a single TypedArray.set (memcpy). The wasm backend's built-in Tile
 * copies element by element and was the most expensive kernel of a detection
 * training step (batch-norm gradients broadcast with it).
 */
import { type KernelBackend, type KernelConfig, type KernelFunc, type TensorInfo, Tile, type TileAttrs, util } from '@tensorflow/tfjs-core';

type Values = Float32Array | Int32Array | Uint8Array;

export function tileValues(values: Values, shape: readonly number[], reps: readonly number[]): { values: Values; shape: number[] } {
  let cur = values;
  const curShape = shape.slice();
  for (let d = curShape.length - 1; d >= 0; d--) {
    const r = reps[d]!;
    if (r === 1) continue;
    const block = util.sizeFromShape(curShape.slice(d));
    const outer = util.sizeFromShape(curShape.slice(0, d));
    const next = new (cur.constructor as new (n: number) => Values)(outer * block * r);
    for (let o = 0; o < outer; o++) {
      const src = cur.subarray(o * block, (o + 1) * block);
      for (let k = 0; k < r; k++) next.set(src, (o * r + k) * block);
    }
    cur = next;
    curShape[d] = curShape[d]! * r;
  }
  return { values: cur, shape: curShape };
}

export function tileDirect(backend: KernelBackend, x: TensorInfo, attrs: TileAttrs): TensorInfo {
  if (x.dtype === 'string' || x.dtype === 'complex64') throw new Error(`Tile: dtype ${x.dtype} is not supported on this path`);
  const values = backend.readSync(x.dataId) as Values;
  const { values: out, shape } = tileValues(values, x.shape, attrs.reps);
  // readSync copies, so an untiled result (all reps 1) is already a private copy.
  return { dataId: backend.write(out, shape, x.dtype), shape, dtype: x.dtype };
}

export function tileConfig(backendName: string): KernelConfig {
  return {
    kernelName: Tile,
    backendName,
    kernelFunc: (({ inputs, backend, attrs }) => tileDirect(backend as KernelBackend, inputs.x!, attrs as unknown as TileAttrs)) as KernelFunc,
  };
}
