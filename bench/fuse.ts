/**
 * npm run bench:fuse — inference latency (batch 1, the model's own image size,
 * eval mode) of an implicit model unfused, the same model fused (batch norm and
 * implicit knowledge folded), and the plain architecture without implicit
 * knowledge (unfused and with its batch norm folded), measured in one run as the
 * best of interleaved rounds. Target: fused within 3 % of plain (fused).
 * Options: --quick, --json, --models a,b.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/backend.js';
import { NO_IMPLICIT } from '../src/models/config.js';
import { Detector } from '../src/models/detector.js';
import { resolveModelConfig } from '../src/models/zoo.js';
import { Rng } from '../src/util/rng.js';

function bestOf(rounds: number, fns: Array<() => void>): number[] {
  for (const fn of fns) fn();
  const best = fns.map(() => Number.POSITIVE_INFINITY);
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, i) => {
      const t = performance.now();
      fn();
      best[i] = Math.min(best[i]!, performance.now() - t);
    });
  }
  return best;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const json = process.argv.includes('--json');
  const mi = process.argv.indexOf('--models');
  const names = mi > 0 ? process.argv[mi + 1]!.split(',') : ['yolor-n', 'yolor-bifpn-n', 'yolor-s'];
  const backend = await initBackend('auto');
  const rows = [];
  for (const name of names) {
    const cfg = resolveModelConfig(name);
    const model = new Detector(cfg).eval();
    const plain = new Detector({ ...cfg, implicit: { ...NO_IMPLICIT } }).eval();
    const fused = model.fuse().model;
    const plainFused = plain.fuse().model;
    const s = cfg.dims.imgsz;
    const x = tf.tensor4d(new Rng(1).normalArray(s * s * 3), [1, s, s, 3]);
    const run = (m: Detector) => () =>
      tf.tidy(() => {
        for (const y of m.forward(x)) y.dataSync();
      });
    const [unfusedMs, fusedMs, plainMs, plainFusedMs] = bestOf(quick ? 3 : 15, [run(model), run(fused), run(plain), run(plainFused)]) as [
      number,
      number,
      number,
      number,
    ];
    rows.push({ model: name, imgsz: s, unfusedMs, fusedMs, plainMs, plainFusedMs, fusedOverPlainFused: fusedMs / plainFusedMs });
    [model, plain, fused, plainFused].forEach((m) => {
      m.dispose();
    });
    x.dispose();
  }
  if (json) {
    console.log(JSON.stringify({ backend: backend.name, rows }, null, 2));
    return;
  }
  console.log(`backend ${backend.name}; batch 1; best of ${quick ? 3 : 15} interleaved rounds (ms)\n`);
  console.log('model            size  implicit unfused  implicit fused  plain unfused  plain fused  fused / plain fused');
  for (const r of rows) {
    console.log(
      `${r.model.padEnd(16)} ${String(r.imgsz).padStart(4)}  ${r.unfusedMs.toFixed(1).padStart(16)}  ${r.fusedMs.toFixed(1).padStart(14)}  ` +
        `${r.plainMs.toFixed(1).padStart(13)}  ${r.plainFusedMs.toFixed(1).padStart(11)}  ${r.fusedOverPlainFused.toFixed(3).padStart(19)}`,
    );
  }
  console.log('\ntarget: fused / plain fused ≤ 1.03');
}

await main();
