import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identity3, invert3, mat3, matMul3, randomAffine, warpSample } from '../../src/data/augment/affine.js';
import { applyHsvGains, hsvJitter } from '../../src/data/augment/color.js';
import { flipHorizontal, flipVertical, randomFlip } from '../../src/data/augment/flip.js';
import { letterboxSample, resizeLongSide, resizeRgb } from '../../src/data/augment/letterbox-image.js';
import { mixup, sampleBeta } from '../../src/data/augment/mixup.js';
import { mosaic4 } from '../../src/data/augment/mosaic.js';
import { DEFAULT_HYP, evalTransform, resolveHyp, trainTransform } from '../../src/data/augment/pipeline.js';
import { letterboxParams, unletterboxBoxes } from '../../src/data/letterbox.js';
import type { Sample } from '../../src/data/types.js';
import { Rng } from '../../src/util/rng.js';

/** Class colours: class c's object is a filled rectangle of COLORS[c] on black. */
const COLORS: [number, number, number][] = [
  [255, 255, 255],
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
];

type Box = [number, number, number, number];

/** A black w×h image with one filled rectangle per object (integer boxes), masks optional. */
function synth(w: number, h: number, objs: { box: Box; cls: number }[], withMasks = false, file = 'synthetic'): Sample {
  const data = new Uint8Array(w * h * 3);
  const masks: Uint8Array[] = [];
  for (const { box, cls } of objs) {
    const m = new Uint8Array(w * h);
    for (let y = box[1]; y < box[3]; y++) {
      for (let x = box[0]; x < box[2]; x++) {
        data.set(COLORS[cls]!, (y * w + x) * 3);
        m[y * w + x] = 1;
      }
    }
    masks.push(m);
  }
  const s: Sample = {
    image: { data, width: w, height: h },
    boxes: Float32Array.from(objs.flatMap((o) => o.box)),
    cls: Int32Array.from(objs.map((o) => o.cls)),
    file,
  };
  if (withMasks) s.masks = masks;
  return s;
}

function isColor(d: Uint8Array, p: number, c: number): boolean {
  const col = COLORS[c]!;
  for (let k = 0; k < 3; k++) {
    const v = d[p * 3 + k]!;
    if (col[k] === 255 ? v <= 128 : v >= 100) return false;
  }
  return true;
}

/** Bounding box [x1, y1, x2+1, y2+1] of pixels passing `hit` inside the (clipped) region, or null. */
function pixelBox(w: number, h: number, hit: (p: number) => boolean, region: Box = [0, 0, w, h]): Box | null {
  const x0 = Math.max(0, Math.floor(region[0])),
    y0 = Math.max(0, Math.floor(region[1]));
  const x1 = Math.min(w, Math.ceil(region[2])),
    y1 = Math.min(h, Math.ceil(region[3]));
  let bx1 = Infinity,
    by1 = Infinity,
    bx2 = -Infinity,
    by2 = -Infinity;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (!hit(y * w + x)) continue;
      bx1 = Math.min(bx1, x);
      by1 = Math.min(by1, y);
      bx2 = Math.max(bx2, x + 1);
      by2 = Math.max(by2, y + 1);
    }
  }
  return bx1 === Infinity ? null : [bx1, by1, bx2, by2];
}

function boxOf(s: Sample, i: number): Box {
  return Array.from(s.boxes.subarray(i * 4, i * 4 + 4)) as Box;
}

function near(a: readonly number[], b: readonly number[], tol: number, msg: string): void {
  for (let k = 0; k < 4; k++) assert.ok(Math.abs(a[k]! - b[k]!) <= tol, `${msg}: ${JSON.stringify(a)} vs ${JSON.stringify(b)} (tol ${tol})`);
}

/**
 * Boxes tightly enclose their class-coloured pixels and masks (pixels inside
 * the box ± tol reach every side of the box), and every coloured pixel lies in
 * some box of its class. Holds with duplicates / overlaps too.
 */
function assertConsistent(s: Sample, tol: number, what: string, coverage = true): void {
  const { width: w, height: h, data } = s.image;
  const n = s.cls.length;
  assert.equal(s.boxes.length, n * 4);
  if (s.masks) assert.equal(s.masks.length, n);
  for (let i = 0; i < n; i++) {
    const b = boxOf(s, i);
    const c = s.cls[i]!;
    const region: Box = [b[0] - tol, b[1] - tol, b[2] + tol, b[3] + tol];
    const pb = pixelBox(w, h, (p) => isColor(data, p, c), region);
    assert.ok(pb, `${what}: box ${i} ${JSON.stringify(b)} of class ${c} has no pixels`);
    near(pb, b, tol, `${what}: box ${i} vs its pixels`);
    if (s.masks) {
      const m = s.masks[i]!;
      assert.equal(m.length, w * h);
      const mb = pixelBox(w, h, (p) => m[p] === 1);
      assert.ok(mb, `${what}: mask ${i} is empty`);
      near(mb, b, tol, `${what}: mask ${i} vs box`);
    }
  }
  // Coverage: every coloured pixel is in a box of its class (not checked when boxes were
  // dropped: a box dropped for keeping < 10 % of its area may leave a few pixels).
  if (!coverage) return;
  for (let c = 0; c < COLORS.length; c++) {
    const bs: Box[] = [];
    for (let i = 0; i < n; i++) if (s.cls[i] === c) bs.push(boxOf(s, i));
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (!isColor(data, y * w + x, c)) continue;
        const inside = bs.some((b) => x + 0.5 >= b[0] - tol && x + 0.5 <= b[2] + tol && y + 0.5 >= b[1] - tol && y + 0.5 <= b[3] + tol);
        assert.ok(inside, `${what}: pixel (${x}, ${y}) of class ${c} is in no box of that class`);
      }
    }
  }
}

function sameSample(a: Sample, b: Sample): void {
  assert.equal(a.image.width, b.image.width);
  assert.equal(a.image.height, b.image.height);
  assert.ok(Buffer.from(a.image.data).equals(Buffer.from(b.image.data)), 'images differ');
  assert.deepEqual(Array.from(a.boxes), Array.from(b.boxes));
  assert.deepEqual(Array.from(a.cls), Array.from(b.cls));
}

test('exact pixel checker sanity: synthetic sample is consistent', () => {
  assertConsistent(
    synth(
      64,
      48,
      [
        { box: [5, 6, 20, 30], cls: 0 },
        { box: [30, 10, 60, 40], cls: 1 },
      ],
      true,
    ),
    0,
    'synth',
  );
});

test('resize: constant image stays constant; identity size copies', () => {
  const img = { data: new Uint8Array(50 * 30 * 3).fill(77), width: 50, height: 30 };
  for (const [w, h] of [
    [13, 7],
    [200, 91],
    [50, 30],
    [5, 3],
  ] as const) {
    const r = resizeRgb(img, w, h);
    assert.equal(r.data.length, w * h * 3);
    assert.ok(
      r.data.every((v) => v === 77),
      `${w}×${h}`,
    );
  }
});

test('letterboxSample: downscale and upscale keep boxes, masks and padding consistent', () => {
  const s = synth(
    200,
    120,
    [
      { box: [50, 30, 110, 90], cls: 0 },
      { box: [150, 5, 190, 40], cls: 2 },
    ],
    true,
  );
  for (const size of [64, 100, 320] as const) {
    const out = letterboxSample(s, size);
    assert.equal(out.image.width, size);
    assert.equal(out.image.height, size);
    const p = letterboxParams(200, 120, size);
    assert.deepEqual(out.original, { width: 200, height: 120, scale: p.scale, padX: p.padX, padY: p.padY });
    // Top padding rows are grey 114.
    assert.ok(
      out.image.data.subarray(0, p.padY * size * 3).every((v) => v === 114),
      'padding is 114',
    );
    assertConsistent(out, 1.5, `letterbox ${size}`);
    // Mapping back recovers the original boxes.
    near(Array.from(unletterboxBoxes(out.boxes.subarray(0, 4), p, 200, 120)), [50, 30, 110, 90], 1e-3, 'unletterbox');
  }
  // Input untouched.
  assert.deepEqual(Array.from(s.boxes.subarray(0, 4)), [50, 30, 110, 90]);
  // auto (minimum rectangle): 200×120 → 64 wide, multiple of 32 high.
  const r = letterboxSample(s, 64, { auto: true, stride: 32 });
  assert.equal(r.image.width, 64);
  assert.equal(r.image.height % 32, 0);
  assertConsistent(r, 1.5, 'letterbox auto');
  // Chained letterboxes compose `original`.
  const twice = letterboxSample(letterboxSample(s, 100), 64);
  const o = twice.original!;
  near(
    [
      (twice.boxes[0]! - o.padX) / o.scale,
      (twice.boxes[1]! - o.padY) / o.scale,
      (twice.boxes[2]! - o.padX) / o.scale,
      (twice.boxes[3]! - o.padY) / o.scale,
    ],
    [50, 30, 110, 90],
    1e-3,
    'composed original',
  );
});

test('resizeLongSide: long side = s, boxes and masks follow', () => {
  const s = synth(90, 60, [{ box: [10, 10, 50, 40], cls: 1 }], true);
  const r = resizeLongSide(s, 128);
  assert.equal(r.image.width, 128);
  assert.equal(r.image.height, 86); // ceil(60·128/90)
  assertConsistent(r, 1.5, 'resizeLongSide');
});

test('flips: boxes and masks follow exactly; double flip is the identity', () => {
  const s = synth(
    50,
    40,
    [
      { box: [3, 4, 20, 15], cls: 0 },
      { box: [30, 20, 49, 40], cls: 3 },
    ],
    true,
  );
  const h = flipHorizontal(s);
  assert.deepEqual(Array.from(h.boxes), [30, 4, 47, 15, 1, 20, 20, 40]);
  assertConsistent(h, 0, 'flip h');
  const v = flipVertical(s);
  assert.deepEqual(Array.from(v.boxes), [3, 25, 20, 36, 30, 0, 49, 20]);
  assertConsistent(v, 0, 'flip v');
  sameSample(flipHorizontal(h), s);
  sameSample(flipVertical(v), s);
  // randomFlip: probabilities 0 → unchanged; 1 → both.
  sameSample(randomFlip(s, new Rng(1), { fliplr: 0, flipud: 0 }), s);
  sameSample(randomFlip(s, new Rng(1), { fliplr: 1, flipud: 1 }), flipHorizontal(flipVertical(s)));
});

test('warpSample: exact 90° rotation, scale and translation', () => {
  const s = synth(
    64,
    64,
    [
      { box: [8, 10, 30, 20], cls: 1 },
      { box: [40, 36, 56, 60], cls: 2 },
    ],
    true,
  );
  const C = mat3([1, 0, -32, 0, 1, -32, 0, 0, 1]);
  const back = mat3([1, 0, 32, 0, 1, 32, 0, 0, 1]);
  const R90 = mat3([0, 1, 0, -1, 0, 0, 0, 0, 1]); // cv2 angle +90 (counter-clockwise as displayed)
  const r = warpSample(s, matMul3(back, matMul3(R90, C)), 64, 64);
  assert.equal(r.dropped, 0);
  // (x, y) → (y, 64 − x)
  near(boxOf(r.sample, 0), [10, 34, 20, 56], 1e-4, 'rotated box 0');
  assertConsistent(r.sample, 0.5, 'rot90');
  // Scale 0.6 about the centre, then shift by (+5, −3): a non-integer mapping.
  const S = mat3([0.6, 0, 0, 0, 0.6, 0, 0, 0, 1]);
  const T = mat3([1, 0, 32 + 5, 0, 1, 32 - 3, 0, 0, 1]);
  const r2 = warpSample(s, matMul3(T, matMul3(S, C)), 64, 64, { scale: 0.6 });
  assert.equal(r2.dropped, 0);
  assertConsistent(r2.sample, 1.5, 'scale+translate');
  // Identity keeps everything.
  sameSample(warpSample(s, identity3(), 64, 64).sample, s);
  // invert3 sanity.
  const M = matMul3(T, matMul3(R90, matMul3(S, C)));
  const I = matMul3(M, invert3(M));
  I.forEach((v, i) => {
    assert.ok(Math.abs(v - (i % 4 === 0 ? 1 : 0)) < 1e-12);
  });
});

test('warpSample: boxes pushed out of the image, or too small, are dropped (masks too)', () => {
  const s = synth(
    64,
    64,
    [
      { box: [4, 4, 20, 20], cls: 1 },
      { box: [40, 40, 60, 60], cls: 2 },
      { box: [30, 5, 31, 6], cls: 3 },
    ],
    true,
  );
  // Shift left/up by 24: box 0 leaves entirely, box 2 (1×1 px) is too small anyway.
  const r = warpSample(s, mat3([1, 0, -24, 0, 1, -24, 0, 0, 1]), 64, 64);
  assert.equal(r.dropped, 2);
  assert.deepEqual(Array.from(r.sample.cls), [2]);
  assert.equal(r.sample.masks!.length, 1);
  near(boxOf(r.sample, 0), [16, 16, 36, 36], 1e-4, 'kept box');
  assertConsistent(r.sample, 0.5, 'shifted');
  // Mostly cut off (< 10 % of the area left) → dropped; 50 % left → kept (clipped).
  const big = synth(64, 64, [{ box: [10, 10, 50, 50], cls: 0 }]);
  assert.equal(warpSample(big, mat3([1, 0, 51, 0, 1, 0, 0, 0, 1]), 64, 64).dropped, 1); // 3 of 40 columns left
  const half = warpSample(big, mat3([1, 0, 34, 0, 1, 0, 0, 0, 1]), 64, 64);
  assert.equal(half.dropped, 0);
  near(boxOf(half.sample, 0), [44, 10, 64, 50], 1e-4, 'clipped box');
});

test('randomAffine: rotation + shear + scale + translation keep boxes tight (many seeds)', () => {
  const s = synth(
    96,
    80,
    [
      { box: [10, 10, 40, 30], cls: 0 },
      { box: [50, 20, 90, 70], cls: 1 },
      { box: [20, 45, 35, 75], cls: 2 },
    ],
    true,
  );
  let dropped = 0;
  let kept = 0;
  for (let seed = 0; seed < 24; seed++) {
    const r = randomAffine(s, new Rng(seed), { degrees: 45, translate: 0.35, scale: 0.5, shear: 5, outSize: [96, 80] });
    assert.equal(r.sample.image.width, 96);
    assert.equal(r.sample.image.height, 80);
    assert.equal(r.dropped + r.sample.cls.length, 3);
    dropped += r.dropped;
    kept += r.sample.cls.length;
    assertConsistent(r.sample, 2, `affine seed ${seed}`, r.dropped === 0);
  }
  assert.ok(kept > 40, `kept ${kept}`);
  assert.ok(dropped < kept, `dropped ${dropped}`); // dropping itself is tested below
  // Determinism.
  const o = { degrees: 10, shear: 2 };
  sameSample(randomAffine(s, new Rng(7), o).sample, randomAffine(s, new Rng(7), o).sample);
  // Small perspective also stays consistent.
  const p = randomAffine(s, new Rng(3), { perspective: 0.0005, scale: 0.2, translate: 0.05 });
  assertConsistent(p.sample, 2, 'perspective');
});

test('randomAffine: an object translated out of the output is dropped and counted', () => {
  const s = synth(100, 100, [
    { box: [80, 80, 98, 98], cls: 1 },
    { box: [40, 40, 60, 60], cls: 2 },
  ]);
  // Output 40×40 around the centre (border −30): the corner object is outside.
  const r = randomAffine(s, new Rng(0), { translate: 0, scale: 0, border: [-30, -30] });
  assert.equal(r.sample.image.width, 40);
  assert.equal(r.dropped, 1);
  assert.deepEqual(Array.from(r.sample.cls), [2]);
  near(boxOf(r.sample, 0), [10, 10, 30, 30], 1e-4, 'centre box');
  assertConsistent(r.sample, 0.5, 'border crop');
});

test('mosaic4 (+ affine crop) keeps every box tight on its image; deterministic', () => {
  const inputs = [
    synth(
      160,
      120,
      [
        { box: [10, 10, 70, 60], cls: 0 },
        { box: [120, 80, 158, 118], cls: 0 },
      ],
      true,
      'a',
    ),
    synth(100, 160, [{ box: [5, 100, 60, 150], cls: 1 }], true, 'b'),
    synth(
      200,
      200,
      [
        { box: [20, 20, 180, 60], cls: 2 },
        { box: [150, 150, 190, 190], cls: 2 },
      ],
      true,
      'c',
    ),
    synth(80, 60, [{ box: [30, 10, 70, 50], cls: 3 }], true, 'd'),
  ];
  let total = 0;
  for (let seed = 0; seed < 10; seed++) {
    const m = mosaic4(inputs, new Rng(seed), 128);
    assert.equal(m.sample.image.width, 256);
    assert.equal(m.dropped + m.sample.cls.length, 6);
    assertConsistent(m.sample, 1.5, `mosaic seed ${seed}`);
    const a = randomAffine(m.sample, new Rng(seed + 100), { border: [-64, -64] });
    assert.equal(a.sample.image.width, 128);
    assert.equal(a.sample.image.height, 128);
    total += a.sample.cls.length;
    assertConsistent(a.sample, 1.5, `mosaic+affine seed ${seed}`, a.dropped === 0);
  }
  assert.ok(total > 10);
  sameSample(mosaic4(inputs, new Rng(5), 128).sample, mosaic4(inputs, new Rng(5), 128).sample);
});

test('mixup: Beta(32, 32) ratio, blended pixels, concatenated labels', () => {
  const a = synth(40, 30, [{ box: [2, 2, 20, 20], cls: 1 }], true);
  const b = synth(40, 30, [{ box: [22, 8, 38, 28], cls: 2 }], true);
  const { sample, r } = mixup(a, b, new Rng(3));
  assert.ok(r > 0.3 && r < 0.7, `r = ${r}`);
  assert.deepEqual(Array.from(sample.cls), [1, 2]);
  assert.deepEqual(Array.from(sample.boxes), [2, 2, 20, 20, 22, 8, 38, 28]);
  assert.equal(sample.masks!.length, 2);
  for (let i = 0; i < a.image.data.length; i++) {
    assert.equal(sample.image.data[i], Math.round(a.image.data[i]! * r + b.image.data[i]! * (1 - r)));
  }
  // Beta(32, 32): mean 0.5, sd = sqrt(1/(4·65)) ≈ 0.062.
  const rng = new Rng(11);
  const xs = Array.from({ length: 4000 }, () => sampleBeta(rng, 32, 32));
  const mean = xs.reduce((p, x) => p + x, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((p, x) => p + (x - mean) ** 2, 0) / xs.length);
  assert.ok(Math.abs(mean - 0.5) < 0.006, `mean ${mean}`);
  assert.ok(Math.abs(sd - 0.062) < 0.006, `sd ${sd}`);
  // Skewed Beta(2, 5): mean 2/7.
  const ys = Array.from({ length: 4000 }, () => sampleBeta(rng, 2, 5));
  assert.ok(Math.abs(ys.reduce((p, x) => p + x, 0) / ys.length - 2 / 7) < 0.01);
  assert.throws(() => mixup(a, synth(41, 30, []), new Rng(1)), /differ in size/);
});

test('hsvJitter: same size, deterministic, changes colours; unit gains ≈ identity', () => {
  const w = 32,
    h = 24;
  const data = new Uint8Array(w * h * 3);
  const g = new Rng(5);
  for (let i = 0; i < data.length; i++) data[i] = g.int(0, 255);
  const s: Sample = { image: { data, width: w, height: h }, boxes: Float32Array.from([1, 2, 3, 4]), cls: Int32Array.from([0]), file: 'x' };
  const a = hsvJitter(s, new Rng(1));
  const b = hsvJitter(s, new Rng(1));
  const c = hsvJitter(s, new Rng(2));
  assert.equal(a.image.width, w);
  assert.equal(a.image.height, h);
  assert.equal(a.image.data.length, data.length);
  sameSample(a, b);
  assert.ok(!Buffer.from(a.image.data).equals(Buffer.from(data)), 'colours changed');
  assert.ok(!Buffer.from(a.image.data).equals(Buffer.from(c.image.data)), 'seed matters');
  assert.deepEqual(Array.from(a.boxes), [1, 2, 3, 4]);
  assert.equal(s.image.data, data); // input untouched
  // OpenCV's 8-bit HSV round trip is close to lossless.
  const id = applyHsvGains(s, [1, 1, 1]).image.data;
  let err = 0;
  for (let i = 0; i < data.length; i++) err += Math.abs(id[i]! - data[i]!);
  assert.ok(err / data.length < 1.5, `round-trip error ${err / data.length}`);
  // Grey pixels stay grey under hue/saturation gains; value gain 1.2 brightens.
  const grey: Sample = { ...s, image: { data: new Uint8Array(w * h * 3).fill(100), width: w, height: h } };
  const gg = applyHsvGains(grey, [1.01, 1.5, 1.2]).image.data;
  assert.ok(
    gg.every((v) => v === 120),
    `grey → ${gg[0]}`,
  );
  // Zero gains: unchanged.
  sameSample(hsvJitter(s, new Rng(1), { h: 0, s: 0, v: 0 }), s);
});

test('trainTransform: deterministic per seed, boxes consistent, mosaic/letterbox branches', async () => {
  const bank = [
    synth(160, 120, [{ box: [10, 10, 70, 60], cls: 0 }], true, 'a'),
    synth(100, 160, [{ box: [5, 100, 60, 150], cls: 1 }], true, 'b'),
    synth(200, 200, [{ box: [20, 20, 180, 60], cls: 2 }], true, 'c'),
    synth(80, 60, [{ box: [30, 10, 70, 50], cls: 3 }], true, 'd'),
    synth(
      90,
      90,
      [
        { box: [40, 40, 80, 80], cls: 0 },
        { box: [5, 5, 25, 30], cls: 1 },
      ],
      true,
      'e',
    ),
  ];
  const get = async (i: number): Promise<Sample> => bank[i]!;
  const noColor = { hsv_h: 0, hsv_s: 0, hsv_v: 0 };
  for (let seed = 0; seed < 6; seed++) {
    const r = await trainTransform(get, seed % 5, new Rng(seed), { imgsz: 128, count: 5, ...noColor, degrees: 10, flipud: 0.5 });
    assert.equal(r.sample.image.width, 128);
    assert.equal(r.sample.image.height, 128);
    assertConsistent(r.sample, 2, `train seed ${seed}`, r.dropped === 0);
    const nl = await trainTransform(get, seed % 5, new Rng(seed), { imgsz: 96, count: 5, ...noColor, mosaic: 0 });
    assert.equal(nl.sample.image.width, 96);
    assertConsistent(nl.sample, 2, `train no-mosaic seed ${seed}`, nl.dropped === 0);
  }
  // Same seed → identical; different seed → different (full default hyp + mixup).
  const o = { imgsz: 128, count: 5, mixup: 1 };
  const x = await trainTransform(get, 2, new Rng(42), o);
  const y = await trainTransform(get, 2, new Rng(42), o);
  const z = await trainTransform(get, 2, new Rng(43), o);
  sameSample(x.sample, y.sample);
  assert.equal(x.dropped, y.dropped);
  assert.ok(!Buffer.from(x.sample.image.data).equals(Buffer.from(z.sample.image.data)));
  // Synchronous getSample works too.
  const w = await trainTransform((i) => bank[i]!, 0, new Rng(1), { imgsz: 64, count: 5 });
  assert.equal(w.sample.image.width, 64);
  assert.throws(() => resolveHyp({ mosaic: 2 }), /probability/);
  assert.throws(() => resolveHyp({ bogus: 1 } as never), /unknown/);
  assert.equal(DEFAULT_HYP.fliplr, 0.5);
  await assert.rejects(trainTransform(get, 5, new Rng(1), { imgsz: 64, count: 5 }), /outside/);
});

test('evalTransform: letterbox only, rect padding to the stride', () => {
  const s = synth(200, 120, [{ box: [50, 30, 110, 90], cls: 0 }], true);
  const sq = evalTransform(s, 160);
  assert.equal(sq.image.width, 160);
  assert.equal(sq.image.height, 160);
  const rect = evalTransform(s, 160, { rect: true });
  assert.equal(rect.image.width, 160);
  assert.equal(rect.image.height, 96);
  assertConsistent(rect, 1.5, 'eval rect');
  sameSample(evalTransform(s, 160), sq);
});
