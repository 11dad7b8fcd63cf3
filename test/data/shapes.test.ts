import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { COLOR_NAMES, type InstanceImage, labelObjects, PALETTE } from '../../src/data/datasets/instances.js';
import {
  ensureShapesDataset,
  fillPolygon,
  generateShapeImage,
  generateShapes,
  loadShapesSample,
  resolveShapesOptions,
  SHAPE_NAMES,
  shapesDataset,
  shapesHash,
  shapeTemplates,
} from '../../src/data/datasets/shapes.js';
import { decodeRle, encodeRle } from '../../src/data/rle.js';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Bounding box (xyxy pixel edges) of a 0/1 mask; null when empty. */
function maskBox(mask: Uint8Array, w: number, h: number): [number, number, number, number] | null {
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      x1 = Math.min(x1, x);
      y1 = Math.min(y1, y);
      x2 = Math.max(x2, x + 1);
      y2 = Math.max(y2, y + 1);
    }
  }
  return x2 > x1 ? [x1, y1, x2, y2] : null;
}

/** Checks every label of a generated image against its pixels. */
function checkLabels(img: InstanceImage, minVisible: number, where: string): { exact: number; occluded: number } {
  const { width: W, height: H, data } = img.image;
  const claimed = new Uint8Array(W * H);
  let exact = 0;
  let occluded = 0;
  img.objects.forEach((o, k) => {
    const at = `${where} object ${k}`;
    const mask = decodeRle(o.rle, W, H);
    assert.deepEqual(encodeRle(mask), o.rle, `${at}: RLE is canonical`);
    let area = 0;
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      area++;
      assert.equal(claimed[i], 0, `${at}: pixel ${i} claimed by two masks`);
      claimed[i] = 1;
      const c = PALETTE[o.color]!;
      assert.deepEqual([data[i * 3], data[i * 3 + 1], data[i * 3 + 2]], [...c], `${at}: mask pixel ${i} has the shape's colour`);
    }
    assert.equal(area, o.area, `${at}: area`);
    assert.ok(o.area >= minVisible * o.fullArea && o.area > 0, `${at}: visible fraction ${o.area / o.fullArea}`);
    const mb = maskBox(mask, W, H)!;
    const [x1, y1, x2, y2] = o.box;
    assert.ok(x1 >= 0 && y1 >= 0 && x2 <= W && y2 <= H && x2 > x1 && y2 > y1, `${at}: box inside the image`);
    // The mask always lies within the box (an occluded object keeps its whole box).
    assert.ok(mb[0] >= x1 && mb[1] >= y1 && mb[2] <= x2 && mb[3] <= y2, `${at}: mask box ${mb} within ${o.box}`);
    if (o.area === o.fullArea) {
      // Unoccluded and wholly inside: the mask's box is the labelled box (within 1 px).
      for (let i = 0; i < 4; i++) assert.ok(Math.abs(mb[i]! - o.box[i]!) <= 1, `${at}: mask box ${mb} vs box ${o.box}`);
      exact++;
    } else {
      occluded++;
    }
  });
  return { exact, occluded };
}

test('shapes: same seed gives identical images and labels; a different seed differs', () => {
  const a = generateShapes({ seed: 7, train: 12, val: 4, test: 4 });
  const b = generateShapes({ seed: 7, train: 12, val: 4, test: 4 });
  const c = generateShapes({ seed: 8, train: 12, val: 4, test: 4 });
  for (const split of ['train', 'val', 'test'] as const) {
    assert.equal(a.splits[split].length, split === 'train' ? 12 : 4);
    a.splits[split].forEach((im, i) => {
      const other = b.splits[split][i]!;
      assert.ok(Buffer.from(im.image.data).equals(Buffer.from(other.image.data)), `${split} ${i}: identical bytes`);
      assert.deepEqual(im.objects, other.objects);
      assert.equal(im.dropped, other.dropped);
    });
  }
  assert.deepEqual(a.templates, b.templates);
  assert.equal(a.hash, b.hash);
  assert.notEqual(a.hash, c.hash);
  const differ = a.splits.train.filter((im, i) => !Buffer.from(im.image.data).equals(Buffer.from(c.splits.train[i]!.image.data)));
  assert.equal(differ.length, 12, 'every image changes with the seed');
  // Splits are independent: the size of train does not change val.
  const d = generateShapes({ seed: 7, train: 3, val: 4, test: 0 });
  d.splits.val.forEach((im, i) => {
    assert.ok(Buffer.from(im.image.data).equals(Buffer.from(a.splits.val[i]!.image.data)));
  });
  // Train, val and test images are distinct streams.
  assert.ok(!Buffer.from(a.splits.train[0]!.image.data).equals(Buffer.from(a.splits.val[0]!.image.data)));
});

test('shapes: labels agree with pixels (boxes, masks, colours, no shared pixels) over 200 images', () => {
  const g = generateShapes({ train: 200, val: 0, test: 0 });
  let exact = 0;
  let occluded = 0;
  g.splits.train.forEach((im, i) => {
    assert.equal(im.image.width, 256);
    assert.equal(im.image.height, 256);
    assert.equal(im.image.data.length, 256 * 256 * 3);
    assert.ok(im.objects.length >= 1 && im.objects.length + im.dropped <= 6 && im.objects.length + im.dropped >= 1, `image ${i}: object count`);
    const r = checkLabels(im, 0.25, `image ${i}`);
    exact += r.exact;
    occluded += r.occluded;
  });
  assert.ok(exact > 300, `unoccluded objects checked exactly: ${exact}`);
  assert.ok(occluded > 20, `occluded or truncated objects: ${occluded}`);
});

test('shapes: class, colour and identity ranges; identities are templates that reappear; every class and colour in 200 images', () => {
  const g = generateShapes({ train: 200, val: 0, test: 0 });
  assert.deepEqual(g.names, [...SHAPE_NAMES]);
  assert.ok(g.names.length >= 4);
  assert.deepEqual(g.colors, ['red', 'green', 'blue', 'yellow', 'magenta', 'cyan', 'white']);
  assert.equal(g.templates.length, SHAPE_NAMES.length * COLOR_NAMES.length * 2);
  g.templates.forEach((t, i) => {
    assert.equal(t.id, i);
  });
  const classes = new Set<number>();
  const colors = new Set<number>();
  const identityUses = new Map<number, number>();
  let minSide = Infinity;
  let maxSide = 0;
  for (const im of g.splits.train) {
    for (const o of im.objects) {
      assert.ok(Number.isInteger(o.cls) && o.cls >= 0 && o.cls < g.names.length);
      assert.ok(Number.isInteger(o.color) && o.color >= 0 && o.color < g.colors.length);
      assert.ok(Number.isInteger(o.identity) && o.identity >= 0 && o.identity < g.templates.length);
      const t = g.templates[o.identity]!;
      assert.equal(t.cls, o.cls, 'identity template has the object class');
      assert.equal(t.color, o.color, 'identity template has the object colour');
      classes.add(o.cls);
      colors.add(o.color);
      identityUses.set(o.identity, (identityUses.get(o.identity) ?? 0) + 1);
      if (o.area === o.fullArea) {
        const side = Math.max(o.box[2] - o.box[0], o.box[3] - o.box[1]);
        minSide = Math.min(minSide, side);
        maxSide = Math.max(maxSide, side);
      }
    }
  }
  assert.equal(classes.size, g.names.length, 'every class appears');
  assert.equal(colors.size, g.colors.length, 'every colour appears');
  const reused = [...identityUses.values()].filter((n) => n >= 2).length;
  assert.ok(reused > g.templates.length / 2, `templates seen at least twice: ${reused}`);
  assert.ok(minSide <= 20 && maxSide >= 90, `scale variety: box sides ${minSide}..${maxSide}`);
});

test('shapes: occlusion keeps the occluded box, masks out hidden pixels, drops objects under 25% visible', () => {
  const W = 64;
  const H = 48;
  const owner = new Int16Array(W * H).fill(-1);
  // Back: a 20×20 square at (10, 10); middle: a 6×6 square at (40, 10); front: a 20×20 square covering the back one's right half
  // and all of the middle one.
  const sq = (x: number, y: number, s: number): Float64Array => Float64Array.from([x, y, x + s, y, x + s, y + s, x, y + s]);
  const a = fillPolygon(sq(10, 10, 20), W, H, owner, 0);
  const b = fillPolygon(sq(40, 10, 6), W, H, owner, 1);
  const c = fillPolygon(sq(20, 5, 28), W, H, owner, 2);
  assert.deepEqual(a, { fullArea: 400, box: [10, 10, 30, 30] });
  assert.deepEqual(b, { fullArea: 36, box: [40, 10, 46, 16] });
  assert.deepEqual(c.box, [20, 5, 48, 33]);
  // A shape hanging over the border: the full area counts the outside part, the box is clipped.
  const d = fillPolygon(sq(56, 40, 16), W, H, owner, 3);
  assert.deepEqual(d, { fullArea: 256, box: [56, 40, 64, 48] });
  const painted = [
    { cls: 0, color: 0, identity: 10, ...a },
    { cls: 1, color: 1, identity: 11, ...b },
    { cls: 2, color: 2, identity: 12, ...c },
    { cls: 3, color: 3, identity: 13, ...d },
  ];
  const { objects, dropped } = labelObjects(owner, W, H, painted, 0.25);
  assert.equal(dropped, 1, 'the hidden middle square and the 25%-visible corner square: one dropped');
  assert.deepEqual(
    objects.map((o) => o.identity),
    [10, 12, 13],
  );
  const back = objects[0]!;
  assert.deepEqual(back.box, [10, 10, 30, 30], 'the occluded square keeps its whole box');
  assert.equal(back.area, 200);
  const mask = decodeRle(back.rle, W, H);
  assert.equal(mask[15 * W + 15], 1);
  assert.equal(mask[15 * W + 25], 0, 'hidden pixels are not in the occluded mask');
  assert.equal(objects[2]!.area, 64);
  assert.equal(objects[2]!.fullArea, 256);
  // Same rule at 30%: the corner square (25% visible) is dropped too.
  assert.equal(labelObjects(owner, W, H, painted, 0.3).dropped, 2);
  // Over a generated corpus some objects are occluded and some dropped; none labelled below 25%.
  const g = generateShapes({ train: 200, val: 0, test: 0 });
  const dropTotal = g.splits.train.reduce((s, im) => s + im.dropped, 0);
  const partly = g.splits.train.flatMap((im) => im.objects).filter((o) => o.area < o.fullArea);
  assert.ok(dropTotal > 0, `dropped objects: ${dropTotal}`);
  assert.ok(partly.length > 0);
  assert.ok(partly.every((o) => o.area >= 0.25 * o.fullArea));
});

test('shapes: option validation and template determinism', () => {
  assert.throws(() => resolveShapesOptions({ minObjects: 3, maxObjects: 2 }), /maxObjects/);
  assert.throws(() => resolveShapesOptions({ size: 8 }), /size/);
  assert.throws(() => resolveShapesOptions({ minVisible: 2 }), /minVisible/);
  const o = resolveShapesOptions({ variants: 3 });
  assert.equal(shapeTemplates(o).length, SHAPE_NAMES.length * COLOR_NAMES.length * 3);
  assert.deepEqual(shapeTemplates(o), shapeTemplates(resolveShapesOptions({ variants: 3 })));
  assert.equal(shapesHash(resolveShapesOptions({})), shapesHash(resolveShapesOptions({ seed: 0, size: 256 })), 'defaults hash like explicit values');
  // Small images and sizes work.
  const small = resolveShapesOptions({ size: 32, minSize: 4, maxSize: 30 });
  const img = generateShapeImage(small, shapeTemplates(small), 'train', 0);
  assert.equal(img.image.data.length, 32 * 32 * 3);
  checkLabels(img, 0.25, 'small image');
});

class Collector extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

test('shapes: cache round trip; a second call reads the cache; other options regenerate', async () => {
  const dir = join(tmp('shapes-cache-'), 'ds');
  const opts = { train: 10, val: 3, test: 2, seed: 3 };
  const log = new Collector();
  const first = await ensureShapesDataset(dir, { ...opts, progress: log });
  assert.equal(first.generated, true);
  assert.match(log.text, /generating shapes.*15\/15/);
  assert.equal(first.format, 'builtin');
  assert.equal(first.name, 'shapes');
  assert.deepEqual(first.names, [...SHAPE_NAMES]);
  assert.deepEqual(first.attributes, [...COLOR_NAMES]);
  assert.deepEqual(first.bad, []);
  assert.equal(first.numIdentities, first.templates.length);
  assert.deepEqual(Object.keys(first.splits), ['train', 'val', 'test']);
  assert.equal(first.splits.train!.length, 10);
  assert.ok(existsSync(join(dir, 'labels.json')));
  assert.equal(readdirSync(join(dir, 'images', 'train')).length, 10);

  const mem = generateShapes(opts);
  const rec = first.splits.val![1]!;
  const sample = await loadShapesSample(rec);
  const expect = mem.splits.val[1]!;
  assert.ok(Buffer.from(sample.image.data).equals(Buffer.from(expect.image.data)), 'PNG decodes to the generated pixels');
  assert.deepEqual(
    Array.from(sample.cls),
    expect.objects.map((o) => o.cls),
  );
  assert.deepEqual(
    Array.from(sample.identity!),
    expect.objects.map((o) => o.identity),
  );
  assert.deepEqual(
    Array.from(sample.boxes),
    expect.objects.flatMap((o) => o.box),
  );
  assert.deepEqual(
    sample.masks,
    expect.objects.map((o) => decodeRle(o.rle, 256, 256)),
  );
  assert.equal(sample.labels!.length, SHAPE_NAMES.length + COLOR_NAMES.length);
  for (const o of expect.objects) {
    assert.equal(sample.labels![o.cls], 1);
    assert.equal(sample.labels![SHAPE_NAMES.length + o.color], 1);
  }
  const onBits = sample.labels!.reduce((s, v) => s + v, 0);
  assert.equal(onBits, new Set(expect.objects.map((o) => o.cls)).size + new Set(expect.objects.map((o) => o.color)).size);
  assert.deepEqual(
    first.attributeIds(rec),
    expect.objects.map((o) => o.color),
  );
  assert.deepEqual(first.masks(rec), sample.masks);
  assert.deepEqual(
    rec.annotations.map((a) => a.identity),
    expect.objects.map((o) => o.identity),
  );

  const pngBefore = readFileSync(rec.file);
  const second = await ensureShapesDataset(dir, { ...opts, progress: false });
  assert.equal(second.generated, false, 'read from the cache');
  assert.deepEqual(second.splits, first.splits);
  assert.equal(second.hash, first.hash);
  assert.ok(readFileSync(rec.file).equals(pngBefore));

  const third = await ensureShapesDataset(dir, { ...opts, seed: 4, progress: false });
  assert.equal(third.generated, true, 'other options regenerate');
  assert.notEqual(third.hash, first.hash);
  assert.equal(JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')).hash, third.hash);
  assert.ok(!readFileSync(rec.file).equals(pngBefore));

  // A damaged cache (an image missing) is regenerated.
  rmSync(third.splits.test![0]!.file);
  const fourth = await ensureShapesDataset(dir, { ...opts, seed: 4, progress: false });
  assert.equal(fourth.generated, true);
  assert.ok(existsSync(third.splits.test![0]!.file));
  assert.deepEqual(fourth.splits, third.splits);
  // No leftovers beside the cache directory.
  assert.deepEqual(readdirSync(join(dir, '..')), ['ds']);
});

test('shapes: the default cache directory is $YOLOR_CACHE_DIR/shapes-<hash>', async () => {
  const root = tmp('shapes-root-');
  const saved = process.env.YOLOR_CACHE_DIR;
  process.env.YOLOR_CACHE_DIR = root;
  try {
    const opts = { train: 2, val: 1, test: 1, size: 64, progress: false as const };
    const ds = await shapesDataset(undefined, opts);
    const hash = shapesHash(resolveShapesOptions(opts));
    assert.equal(ds.dir, join(root, `shapes-${hash}`));
    assert.equal(ds.generated, true);
    assert.equal((await shapesDataset(undefined, opts)).generated, false);
    assert.equal(ds.splits.train![0]!.width, 64);
  } finally {
    if (saved === undefined) delete process.env.YOLOR_CACHE_DIR;
    else process.env.YOLOR_CACHE_DIR = saved;
  }
});

test('shapes: generation speed (1,000 images of 256²)', (t) => {
  const t0 = performance.now();
  const g = generateShapes({ train: 1000, val: 0, test: 0 });
  const s = (performance.now() - t0) / 1000;
  t.diagnostic(`generated ${g.splits.train.length} images in ${s.toFixed(2)} s (${(g.splits.train.length / s).toFixed(0)} img/s)`);
  // Generous bound for slow CI machines: the target is a few seconds.
  assert.ok(s < 30, `took ${s.toFixed(1)} s`);
});
