/**
 * Shared memory of data-parallel training. Every replica builds the same model
 * from the same config, so its parameters come in the same order with the same
 * names; one layout gives each a fixed offset in flat float32 arrays over
 * SharedArrayBuffers:
 *   weights  [all parameters and buffers]                 written by the main thread, read by every replica
 *   grads    [world × trainable parameters]               each replica writes its gradient in its own row
 *   buffers  [world × buffers (batch-norm running stats)] each replica writes its updated statistics
 *   reduce   [world × reduceLength] float64 + control     scratch and barrier of synchronised batch norm
 * so no step copies the model through message passing.
 */
import type { Module, ParamGroup } from '../../nn/module.js';

export interface SlotLayout {
  name: string;
  shape: number[];
  size: number;
  group: ParamGroup;
  /** Offset in the weights array. */
  offset: number;
  /** Offset within a replica's row of grads (trainable) or buffers (buffer group). */
  rowOffset: number;
}

export interface ParamLayout {
  slots: SlotLayout[];
  total: number;
  trainable: number;
  buffers: number;
  /** Longest vector synchronised batch norm reduces: 2·(largest channel count) + 1. */
  reduceLength: number;
}

export function paramLayout(model: Module): ParamLayout {
  const slots: SlotLayout[] = [];
  let total = 0;
  let trainable = 0;
  let buffers = 0;
  let maxC = 1;
  for (const p of model.parameters()) {
    const size = p.variable.size;
    const isBuffer = p.group === 'buffer';
    slots.push({ name: p.name, shape: p.variable.shape.slice(), size, group: p.group, offset: total, rowOffset: isBuffer ? buffers : trainable });
    total += size;
    if (isBuffer) buffers += size;
    else trainable += size;
    if (p.group === 'bn') maxC = Math.max(maxC, size);
  }
  return { slots, total, trainable, buffers, reduceLength: 2 * maxC + 1 };
}

export interface SharedMemory {
  weights: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  buffers: SharedArrayBuffer;
  reduce: SharedArrayBuffer;
  /** Int32: [barrier arrivals, barrier generation]. */
  control: SharedArrayBuffer;
}

export function allocateShared(layout: ParamLayout, world: number): SharedMemory {
  const f = (n: number) => new SharedArrayBuffer(Math.max(n, 1) * 4);
  return {
    weights: f(layout.total),
    grads: f(world * layout.trainable),
    buffers: f(world * layout.buffers),
    reduce: new SharedArrayBuffer(Math.max(world * layout.reduceLength, 1) * 8),
    control: new SharedArrayBuffer(8),
  };
}

/**
 * A reusable barrier over `world` threads (generation counting with Atomics):
 * returns once every thread has arrived. Waits at most `timeoutMs` and then
 * throws, so a dead replica cannot hang the others forever.
 */
export function barrier(control: Int32Array, world: number, timeoutMs = 120_000): void {
  const gen = Atomics.load(control, 1);
  if (Atomics.add(control, 0, 1) === world - 1) {
    Atomics.store(control, 0, 0);
    Atomics.add(control, 1, 1);
    Atomics.notify(control, 1);
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Atomics.load(control, 1) === gen) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`synchronised batch norm: a replica did not arrive within ${timeoutMs / 1000} s`);
    Atomics.wait(control, 1, gen, left);
  }
}
