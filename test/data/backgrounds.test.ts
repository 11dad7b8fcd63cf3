import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKGROUND_KINDS, type BackgroundKind, paintBackground } from '../../src/data/datasets/backgrounds.js';
import { PALETTE } from '../../src/data/datasets/instances.js';
import type { RgbImage } from '../../src/data/types.js';
import { Rng } from '../../src/util/rng.js';

function blank(width: number, height: number): RgbImage {
  return { data: new Uint8Array(width * height * 3), width, height };
}

test('backgrounds: every kind occurs, deterministic from the generator, muted (no palette colour), textured', () => {
  const kinds = new Map<BackgroundKind, number>();
  for (let seed = 0; seed < 40; seed++) {
    const a = blank(48, 32);
    const b = blank(48, 32);
    const kind = paintBackground(a, new Rng(seed));
    assert.equal(paintBackground(b, new Rng(seed)), kind);
    assert.deepEqual(a.data, b.data, `seed ${seed}: the same pixels`);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    let lo = 255,
      hi = 0;
    const distinct = new Set<number>();
    for (let p = 0; p < a.data.length; p += 3) {
      for (let c = 0; c < 3; c++) {
        lo = Math.min(lo, a.data[p + c]!);
        hi = Math.max(hi, a.data[p + c]!);
      }
      distinct.add((a.data[p]! << 16) | (a.data[p + 1]! << 8) | a.data[p + 2]!);
    }
    // muted colours lie in [10, 195], grain adds at most ±3: never a saturated palette colour
    assert.ok(lo >= 7 && hi <= 198, `seed ${seed} (${kind}): channels in [${lo}, ${hi}]`);
    for (const c of PALETTE) assert.ok(!distinct.has((c[0] << 16) | (c[1] << 8) | c[2]), `seed ${seed}: palette colour ${c}`);
    assert.ok(distinct.size > 1, `seed ${seed} (${kind}): not a flat colour`);
  }
  assert.deepEqual([...kinds.keys()].sort(), [...BACKGROUND_KINDS].sort());
});
