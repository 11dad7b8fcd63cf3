/** Curve panels (a run's results.png): layout, the points drawn, gaps, bad input. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { writeCurvesPng } from '../../src/plot/training-curves.js';
import { tmp } from '../helpers/tmp.js';

async function pixels(path: string): Promise<{ width: number; height: number; at(x: number, y: number): [number, number, number] }> {
  const img = await loadImage(readFileSync(path));
  const canvas = createCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const { data } = ctx.getImageData(0, 0, img.width, img.height);
  return {
    width: img.width,
    height: img.height,
    at: (x, y) => [data[4 * (y * img.width + x)]!, data[4 * (y * img.width + x) + 1]!, data[4 * (y * img.width + x) + 2]!],
  };
}

const BLUE: [number, number, number] = [0x1f, 0x77, 0xb4];

test('panels are laid out five to a row (300 × 230 px each), or as many as asked', async () => {
  const dir = tmp('curves');
  const panel = (i: number) => ({ title: `s${i}`, x: [1, 2, 3], y: [i, i + 1, i + 0.5] });
  await writeCurvesPng(
    join(dir, 'seven.png'),
    Array.from({ length: 7 }, (_, i) => panel(i)),
  );
  const seven = await pixels(join(dir, 'seven.png'));
  assert.deepEqual([seven.width, seven.height], [1500, 460]);
  await writeCurvesPng(join(dir, 'three.png'), [panel(0), panel(1), panel(2)], 2);
  const three = await pixels(join(dir, 'three.png'));
  assert.deepEqual([three.width, three.height], [600, 460]);
  await writeCurvesPng(join(dir, 'none.png'), []);
  const none = await pixels(join(dir, 'none.png'));
  assert.deepEqual([none.width, none.height], [1500, 230]);
});

test('each finite point is marked where the axes put it; a non-finite y is left out', async () => {
  const dir = tmp('curves');
  // Plot area of the first panel: x 55..280, y 30..190; x from 0 to max(x), y from min to max of the finite values.
  await writeCurvesPng(join(dir, 'points.png'), [{ title: 'loss', x: [1, 2, 4], y: [0, Number.NaN, 1] }]);
  const p = await pixels(join(dir, 'points.png'));
  assert.deepEqual(p.at(111, 189), BLUE, 'x=1, y=0 (bottom): px 55 + 225/4');
  assert.deepEqual(p.at(279, 31), BLUE, 'x=4, y=1 (top right)');
  // x=2 has no point: the line goes straight from (1, 0) to (4, 1), through y = 1/3 at x = 2 (pixel 168, 136.7).
  const bluish = ([r, g, b]: [number, number, number]): boolean => b > r + 60 && b > g + 20;
  assert.ok(bluish(p.at(168, 136)), `the line passes x=2 at y=1/3: ${p.at(168, 136)}`);
  for (let y = 180; y < 190; y++) assert.ok(!bluish(p.at(168, y)), `no point at x=2 near the bottom (row ${y}): ${p.at(168, y)}`);
});

test('x and y of a panel must have the same length', async () => {
  await assert.rejects(
    writeCurvesPng(join(tmp('curves'), 'bad.png'), [{ title: 'map', x: [1, 2], y: [0.1] }]),
    /curve panel 'map': 2 x values for 1 y values/,
  );
});
