import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeImage, decodeImageBuffer, encodeJpeg, encodePng, readImageSize, writeImage } from '../../src/data/image-io.js';
import type { RgbImage } from '../../src/data/types.js';
import { drawBoxesPng, drawSamplesGrid } from '../../src/plot/draw-boxes.js';
import { Rng } from '../../src/util/rng.js';
import { BCCD, HAS_BCCD } from '../helpers/shared-data.js';

const tmp = mkdtempSync(join(tmpdir(), 'image-io-'));

function randomImage(w: number, h: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(0, 255);
  return { data, width: w, height: h };
}

const BLOOD0 = join(BCCD, 'JPEGImages', 'BloodImage_00000.jpg');

test('decodeImage: real BCCD JPEG is 640×480 RGB', { skip: !HAS_BCCD || !existsSync(BLOOD0) ? 'shared BCCD data absent' : false }, async () => {
  const img = await decodeImage(BLOOD0);
  assert.equal(img.width, 640);
  assert.equal(img.height, 480);
  assert.equal(img.data.length, 640 * 480 * 3);
  let sum = 0;
  for (const v of img.data) sum += v;
  const mean = sum / img.data.length;
  assert.ok(mean > 50 && mean < 250, `mean ${mean}`);
  assert.deepEqual(await readImageSize(BLOOD0), { width: 640, height: 480 });
  // Same pixels as sharp's own decode.
  const ref = await sharp(BLOOD0).raw().toBuffer();
  assert.ok(Buffer.from(img.data).equals(ref));
});

test('PNG round trip is exact (buffer and file, atomic write)', async () => {
  const img = randomImage(37, 23, 1);
  const png = await encodePng(img);
  const back = await decodeImageBuffer(png, 'mem.png');
  assert.equal(back.width, 37);
  assert.equal(back.height, 23);
  assert.ok(Buffer.from(back.data).equals(Buffer.from(img.data)));
  const file = join(tmp, 'sub', 'dir', 'x.png');
  await writeImage(file, img);
  const fromFile = await decodeImage(file);
  assert.ok(Buffer.from(fromFile.data).equals(Buffer.from(img.data)));
  assert.deepEqual(await readImageSize(file), { width: 37, height: 23 });
  await assert.rejects(writeImage(join(tmp, 'x.bmp'), img), /unsupported image extension/);
  await assert.rejects(encodePng({ data: new Uint8Array(5), width: 2, height: 2 }), /expected 2×2×3/);
});

test('JPEG encode/decode is close on a smooth image', async () => {
  const w = 64,
    h = 48;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x * 4, y * 5, 128], (y * w + x) * 3);
  const img = { data, width: w, height: h };
  const back = await decodeImageBuffer(await encodeJpeg(img, 95), 'mem.jpg');
  let err = 0;
  for (let i = 0; i < data.length; i++) err += Math.abs(back.data[i]! - data[i]!);
  assert.ok(err / data.length < 3, `mean abs error ${err / data.length}`);
  const file = join(tmp, 'y.jpg');
  await writeImage(file, img);
  assert.deepEqual(await readImageSize(file), { width: 64, height: 48 });
});

test('grayscale PNG → RGB with equal channels', async () => {
  const w = 9,
    h = 5;
  const g = new Uint8Array(w * h);
  for (let i = 0; i < g.length; i++) g[i] = (i * 37) % 256;
  const file = join(tmp, 'gray.png');
  await sharp(g, { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(file);
  assert.equal((await sharp(file).metadata()).channels, 1);
  const img = await decodeImage(file);
  assert.equal(img.data.length, w * h * 3);
  for (let i = 0; i < w * h; i++) assert.deepEqual(Array.from(img.data.subarray(i * 3, i * 3 + 3)), [g[i], g[i], g[i]]);
});

test('RGBA PNG → RGB, alpha flattened on black', async () => {
  const rgba = Uint8Array.from([
    200,
    100,
    50,
    255, // opaque: kept
    200,
    100,
    50,
    0, // transparent: black
    200,
    100,
    50,
    128, // half: about half
  ]);
  const file = join(tmp, 'rgba.png');
  await sharp(rgba, { raw: { width: 3, height: 1, channels: 4 } })
    .png()
    .toFile(file);
  const img = await decodeImage(file);
  assert.equal(img.data.length, 9);
  assert.deepEqual(Array.from(img.data.subarray(0, 6)), [200, 100, 50, 0, 0, 0]);
  const half = Array.from(img.data.subarray(6, 9));
  near(half, [100, 50, 25], 2);
});

function near(a: number[], b: number[], tol: number): void {
  a.forEach((v, i) => {
    assert.ok(Math.abs(v - b[i]!) <= tol, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  });
}

test('EXIF orientation is applied (orientation 6 = rotate 90° clockwise)', async () => {
  // Stored 40×20: left half white, right half black.
  const w = 40,
    h = 20;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) data.set([255, 255, 255], (y * w + x) * 3);
  const file = join(tmp, 'rot.jpg');
  await sharp(data, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toFile(file);
  assert.equal((await sharp(file).metadata()).width, 40);
  assert.deepEqual(await readImageSize(file), { width: 20, height: 40 });
  const img = await decodeImage(file);
  assert.equal(img.width, 20);
  assert.equal(img.height, 40);
  // The stored left half is displayed on top.
  const at = (x: number, y: number): number => img.data[(y * img.width + x) * 3]!;
  assert.ok(at(10, 5) > 200 && at(10, 35) < 50, `top ${at(10, 5)}, bottom ${at(10, 35)}`);
});

test('corrupt, truncated and missing files: errors name the file', async () => {
  const bad = join(tmp, 'corrupt.jpg');
  writeFileSync(bad, 'this is not an image at all');
  await assert.rejects(decodeImage(bad), (e: Error) => e.message.startsWith(`${bad}: cannot decode image (`));
  await assert.rejects(readImageSize(bad), (e: Error) => e.message.startsWith(`${bad}: cannot decode image (`));
  const jpg = await encodeJpeg(randomImage(64, 64, 2), 90);
  const trunc = join(tmp, 'truncated.jpg');
  writeFileSync(trunc, jpg.subarray(0, jpg.length >> 1));
  await assert.rejects(decodeImage(trunc), (e: Error) => e.message.startsWith(`${trunc}: cannot decode image (`));
  const missing = join(tmp, 'nope', 'missing.jpg');
  await assert.rejects(decodeImage(missing), { message: `${missing}: image file not found` });
  await assert.rejects(readImageSize(missing), { message: `${missing}: image file not found` });
  await assert.rejects(decodeImageBuffer(new Uint8Array(10), 'buf.png'), /^Error: buf\.png: cannot decode image/);
});

test('truncated and body-corrupt JPEG/PNG fail the decode with a problem that depends only on the file, also amid other decodes', async () => {
  const img = randomImage(96, 64, 5);
  const jpg = await encodeJpeg(img, 90);
  const png = await encodePng(img);
  // Body corruption the decoder can see: a restart marker in the middle of the scan (changed
  // entropy-coded bytes alone may decode to other pixels without any decoder noticing).
  const corruptJpg = Buffer.from(jpg);
  corruptJpg.set([0xff, 0xd0], jpg.length >> 1);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    [
      'half.jpg',
      jpg.subarray(0, jpg.length >> 1),
      /^half\.jpg: cannot decode image \(truncated: the file ends inside the image data, after \d+ bytes\)$/,
    ],
    ['no-eoi.jpg', jpg.subarray(0, jpg.length - 2), /^no-eoi\.jpg: cannot decode image \(truncated: /],
    ['half.png', png.subarray(0, png.length >> 1), /^half\.png: cannot decode image \(truncated: /],
    ['body.jpg', corruptJpg, /^body\.jpg: cannot decode image \(corrupt image data: the decoder reports errors in the pixel data\)$/],
    [
      'random.jpg',
      new Uint8Array(4000).map((_, i) => (i * 7919 + 13) & 0xff),
      /^random\.jpg: cannot decode image \(Input buffer contains unsupported image format\)$/,
    ],
  ];
  // Alone, then all at once among good decodes (libvips' messages are process-wide: they must not leak between files).
  for (const [name, buf, expected] of cases)
    await assert.rejects(decodeImageBuffer(buf, name), (e: Error) => {
      assert.match(e.message, expected);
      return true;
    });
  const together = await Promise.allSettled([
    ...cases.map(([name, buf]) => decodeImageBuffer(buf, name)),
    ...Array.from({ length: 6 }, () => decodeImageBuffer(jpg, 'good.jpg')),
  ]);
  together.forEach((r, i) => {
    if (i >= cases.length) {
      assert.equal(r.status, 'fulfilled');
      return;
    }
    assert.equal(r.status, 'rejected');
    assert.match(((r as PromiseRejectedResult).reason as Error).message, cases[i]![2]);
  });
  // A PNG without its IEND chunk still has all its pixels: not an error.
  assert.deepEqual((await decodeImageBuffer(png.subarray(0, png.length - 12), 'no-iend.png')).data, img.data);
});

test('drawBoxesPng / drawSamplesGrid produce PNGs with boxes in class colours', async () => {
  const img: RgbImage = { data: new Uint8Array(200 * 150 * 3).fill(30), width: 200, height: 150 };
  const png = drawBoxesPng(img, { boxes: [20, 40, 120, 130], cls: [0], scores: [0.87] }, ['cell']);
  const back = await decodeImageBuffer(png, 'boxes.png');
  assert.equal(back.width, 200);
  assert.equal(back.height, 150);
  // Left edge of the box drawn in palette colour 0 (#FF3838).
  const p = (70 * 200 + 20) * 3;
  near(Array.from(back.data.subarray(p, p + 3)), [0xff, 0x38, 0x38], 8);
  const masks = [new Uint8Array(200 * 150).fill(1)];
  const grid = drawSamplesGrid(
    [
      { image: img, boxes: [20, 40, 120, 130], cls: [0], file: '/x/a.jpg' },
      { image: img, boxes: [5, 5, 50, 50, 60, 60, 190, 140], cls: [1, 2], masks: [masks[0]!, masks[0]!], title: 'second' },
      { image: { data: new Uint8Array(50 * 100 * 3), width: 50, height: 100 }, boxes: [], cls: [] },
    ],
    ['a', 'b', 'c'],
    2,
    { tileSize: 160 },
  );
  const meta = await sharp(grid).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 2 * 160 + 3 * 4);
  assert.ok(meta.height! > 2 * 160);
  assert.throws(() => drawSamplesGrid([], [], 2), /no samples/);
});
