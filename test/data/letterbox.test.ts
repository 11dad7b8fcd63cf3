/** Letterbox geometry: Ultralytics' parameters and the box mapping there and back. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { letterboxBoxes, letterboxParams, unletterboxBoxes } from '../../src/data/letterbox.js';
import { Rng } from '../../src/util/rng.js';

const close = (a: number, b: number, tol: number, msg?: string): void => assert.ok(Math.abs(a - b) <= tol, `${msg ?? ''} expected ${b}, got ${a}`);

describe('letterbox', () => {
  test('Ultralytics parameters', () => {
    assert.deepEqual(letterboxParams(1280, 720, 640), {
      scale: 0.5,
      padX: 0,
      padY: 140,
      newW: 640,
      newH: 360,
      padRight: 0,
      padBottom: 140,
      dstW: 640,
      dstH: 640,
    });
    const auto = letterboxParams(1280, 720, 640, 32, true);
    assert.equal(auto.padY, 12);
    assert.equal(auto.padBottom, 12);
    assert.equal(auto.dstH, 384);
    assert.equal(auto.dstW, 640);
    // Odd padding: 333·0.64 = 213.12 → 213, 427 px of padding → 213 top, 214 bottom.
    const odd = letterboxParams(1000, 333, 640);
    assert.equal(odd.newH, 213);
    assert.equal(odd.padY, 213);
    assert.equal(odd.padBottom, 214);
    assert.equal(odd.dstH, 640);
    const portrait = letterboxParams(480, 800, 640);
    assert.deepEqual([portrait.scale, portrait.newW, portrait.newH, portrait.padX, portrait.padY], [0.8, 384, 640, 128, 0]);
    const noUp = letterboxParams(100, 50, 640, 32, false, false);
    assert.deepEqual([noUp.scale, noUp.newW, noUp.newH, noUp.padX, noUp.padY], [1, 100, 50, 270, 295]);
  });

  for (const [w, h, dst] of [
    [1280, 720, 640],
    [480, 800, 640],
    [1000, 333, 416],
    [37, 91, 320],
  ] as const) {
    test(`round trip ${w}×${h} → ${dst}`, () => {
      const rng = new Rng(w + h);
      const boxes = new Float32Array(4 * 20);
      for (let i = 0; i < 20; i++) {
        const x1 = rng.next() * w * 0.8,
          y1 = rng.next() * h * 0.8;
        boxes.set([x1, y1, x1 + rng.next() * (w - x1), y1 + rng.next() * (h - y1)], 4 * i);
      }
      for (const auto of [false, true]) {
        const p = letterboxParams(w, h, dst, 32, auto);
        const lb = letterboxBoxes(boxes, p);
        for (let i = 0; i < lb.length; i += 2) {
          // Inside the resized image (newW = round(w·scale): within half a pixel).
          assert.ok(lb[i]! >= p.padX - 1e-3 && lb[i]! <= p.padX + p.newW + 0.5);
          assert.ok(lb[i + 1]! >= p.padY - 1e-3 && lb[i + 1]! <= p.padY + p.newH + 0.5);
        }
        const back = unletterboxBoxes(lb, p, w, h);
        for (let i = 0; i < boxes.length; i++) close(back[i]!, boxes[i]!, 1e-3, `coord ${i}`);
      }
    });
  }

  test('unletterbox clips to the image', () => {
    const p = letterboxParams(1280, 720, 640);
    assert.deepEqual([...unletterboxBoxes([-10, 100, 700, 600], p, 1280, 720)], [0, 0, 1280, 720]);
  });
});
