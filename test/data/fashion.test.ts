import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ensureFashionDataset, type GeneratedFashion, generateFashion, loadFashionSample } from '../../src/data/datasets/fashion.js';
import { dpkgFashionDirs, FASHION_NAMES, fashionAvailable, fashionFilesIn, findFashionFiles } from '../../src/data/datasets/fashion-source.js';
import { COLOR_NAMES, type InstanceImage, PALETTE } from '../../src/data/datasets/instances.js';
import { encodeIdx, parseIdx, readIdx, readIdxImages, readIdxLabels, readIdxPair } from '../../src/data/formats/idx.js';
import { decodeRle } from '../../src/data/rle.js';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function tmp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Runs `fn` with $YOLOR_FASHION_DIR set (or unset), restoring it afterwards. */
async function withFashionEnv<T>(value: string | undefined, fn: () => T | Promise<T>): Promise<T> {
  const saved = process.env.YOLOR_FASHION_DIR;
  if (value === undefined) delete process.env.YOLOR_FASHION_DIR;
  else process.env.YOLOR_FASHION_DIR = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.YOLOR_FASHION_DIR;
    else process.env.YOLOR_FASHION_DIR = saved;
  }
}

// ---------------------------------------------------------------------------
// IDX reader
// ---------------------------------------------------------------------------

function tinyImages(n: number, rows = 4, cols = 3): Uint8Array {
  return Uint8Array.from({ length: n * rows * cols }, (_, i) => (i * 7) % 256);
}

test('IDX: reads images and labels, plain and gzip (by name or by magic)', () => {
  const dir = tmp('idx-');
  const px = tinyImages(5);
  const labels = Uint8Array.from([0, 3, 9, 1, 2]);
  writeFileSync(join(dir, 'img'), encodeIdx([5, 4, 3], px));
  writeFileSync(join(dir, 'img.gz'), encodeIdx([5, 4, 3], px, true));
  writeFileSync(join(dir, 'img-gz-no-suffix'), encodeIdx([5, 4, 3], px, true));
  writeFileSync(join(dir, 'lab'), encodeIdx([5], labels));
  for (const name of ['img', 'img.gz', 'img-gz-no-suffix']) {
    const im = readIdxImages(join(dir, name));
    assert.deepEqual([im.count, im.rows, im.cols], [5, 4, 3]);
    assert.deepEqual(Array.from(im.data), Array.from(px));
  }
  const lab = readIdxLabels(join(dir, 'lab'));
  assert.equal(lab.count, 5);
  assert.deepEqual(Array.from(lab.data), [0, 3, 9, 1, 2]);
  const pair = readIdxPair(join(dir, 'img.gz'), join(dir, 'lab'));
  assert.equal(pair.images.count, pair.labels.count);
  assert.deepEqual(readIdx(join(dir, 'lab')).dims, [5]);
  // Header bytes: magic 0x00000803, dims big-endian.
  assert.deepEqual(Array.from(encodeIdx([2, 1, 1], new Uint8Array(2)).subarray(0, 8)), [0, 0, 8, 3, 0, 0, 0, 2]);
});

test('IDX: errors name the file and the problem', () => {
  const dir = tmp('idx-bad-');
  const f = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };
  const images = f('images', encodeIdx([3, 2, 2], new Uint8Array(12)));
  const labels = f('labels', encodeIdx([4], new Uint8Array(4)));
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Wrong kind: a labels file where images are expected, and vice versa.
  assert.throws(() => readIdxImages(labels), new RegExp(`^Error: ${esc(labels)}: bad magic 0x00000801: expected 0x00000803 \\(an images file\\)`));
  assert.throws(() => readIdxLabels(images), new RegExp(`${esc(images)}: bad magic 0x00000803: expected 0x00000801 \\(a labels file\\)`));
  // Not IDX at all.
  const png = f('x.png', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
  assert.throws(() => readIdxImages(png), new RegExp(`${esc(png)}: bad magic 0x89504e47: not an IDX file`));
  // Unsupported element type (0x0d = float).
  const floats = encodeIdx([1], new Uint8Array(1));
  floats[2] = 0x0d;
  assert.throws(() => readIdxLabels(f('floats', floats)), /floats: bad magic 0x00000d01: element type 0x0d is not supported/);
  // Truncated data, truncated header, too short for a magic, trailing bytes.
  const full = encodeIdx([3, 2, 2], new Uint8Array(12));
  assert.throws(
    () => readIdxImages(f('trunc', full.subarray(0, full.length - 5))),
    /trunc: truncated data: dimensions 3×2×2 need 12 bytes after the header, the file has 7/,
  );
  assert.throws(
    () => readIdxImages(f('trunc-head', full.subarray(0, 9))),
    /trunc-head: truncated header: 3 dimensions need 16 bytes, the file has 9/,
  );
  assert.throws(() => readIdxImages(f('tiny', Uint8Array.from([0, 0]))), /tiny: truncated: 2 bytes/);
  const extra = new Uint8Array(full.length + 3);
  extra.set(full);
  assert.throws(() => readIdxImages(f('extra', extra)), /extra: 3 unexpected trailing bytes/);
  // Truncated gzip and a .gz name on a plain file.
  const gz = gzipSync(full);
  assert.throws(() => readIdxImages(f('cut.gz', gz.subarray(0, gz.length - 8))), /cut\.gz: corrupt or truncated gzip data/);
  assert.throws(() => readIdxImages(f('plain.gz', full)), /plain\.gz: named \.gz but not gzip-compressed/);
  // Count mismatch between images and labels names both files.
  assert.throws(() => readIdxPair(images, labels), new RegExp(`${esc(images)}: count mismatch: 3 images but ${esc(labels)} has 4 labels`));
  // A missing file.
  assert.throws(() => readIdxImages(join(dir, 'nope')), /nope: cannot read IDX file \(ENOENT\)/);
  assert.throws(() => parseIdx(new Uint8Array(3)), /IDX data: truncated/);
});

// ---------------------------------------------------------------------------
// Synthetic Fashion-MNIST
// ---------------------------------------------------------------------------

/** A 28×28 item of class `cls`: a class-specific filled figure with a gradient (values 60..255), zero elsewhere. */
function syntheticItem(cls: number, k: number): Uint8Array {
  const a = new Uint8Array(28 * 28);
  const inset = 2 + (k % 4);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const inBox = x >= inset && x < 28 - inset && y >= inset && y < 28 - inset;
      const shape = cls % 3 === 0 ? inBox : cls % 3 === 1 ? inBox && (x < 12 || x > 16) : inBox && Math.abs(x - 14) + Math.abs(y - 14) < 12;
      if (shape) a[y * 28 + x] = 60 + Math.round((195 * (x + y)) / 54);
    }
  }
  return a;
}

function writeSyntheticFashion(
  dir: string,
  nTrain: number,
  nTest: number,
  opts: { gzip?: boolean; labelShift?: number } = {},
): { train: number[]; test: number[] } {
  mkdirSync(dir, { recursive: true });
  const make = (n: number, offset: number): { px: Uint8Array; labels: number[] } => {
    const px = new Uint8Array(n * 784);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const cls = (i * 3 + offset + (opts.labelShift ?? 0)) % 10;
      labels.push(cls);
      px.set(syntheticItem(cls, i), i * 784);
    }
    return { px, labels };
  };
  const gz = opts.gzip ?? false;
  const sfx = gz ? '.gz' : '';
  const tr = make(nTrain, 0);
  writeFileSync(join(dir, `train-images-idx3-ubyte${sfx}`), encodeIdx([nTrain, 28, 28], tr.px, gz));
  writeFileSync(join(dir, `train-labels-idx1-ubyte${sfx}`), encodeIdx([nTrain], Uint8Array.from(tr.labels), gz));
  let test: number[] = [];
  if (nTest > 0) {
    const te = make(nTest, 1);
    writeFileSync(join(dir, `t10k-images-idx3-ubyte${sfx}`), encodeIdx([nTest, 28, 28], te.px, gz));
    writeFileSync(join(dir, `t10k-labels-idx1-ubyte${sfx}`), encodeIdx([nTest], Uint8Array.from(te.labels), gz));
    test = te.labels;
  }
  return { train: tr.labels, test };
}

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

/** Boxes, masks, tints and exclusivity of every label of a composite. */
function checkFashionLabels(img: InstanceImage, where: string): { exact: number; occluded: number } {
  const { width: W, height: H, data } = img.image;
  const claimed = new Uint8Array(W * H);
  let exact = 0;
  let occluded = 0;
  img.objects.forEach((o, k) => {
    const at = `${where} object ${k}`;
    assert.ok(o.cls >= 0 && o.cls < 10 && o.color >= 0 && o.color < COLOR_NAMES.length, `${at}: ranges`);
    const mask = decodeRle(o.rle, W, H);
    const tint = PALETTE[o.color]!;
    const main = tint.indexOf(Math.max(...tint));
    let area = 0;
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      area++;
      assert.equal(claimed[i], 0, `${at}: pixel ${i} claimed twice`);
      claimed[i] = 1;
      // Tinted: every channel is the tint scaled by one shade factor in [0.3, 1].
      const f = data[i * 3 + main]! / tint[main]!;
      assert.ok(f >= 0.29 && f <= 1.01, `${at}: shade ${f}`);
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(data[i * 3 + c]! - tint[c]! * f) <= 1.5, `${at}: pixel ${i} channel ${c} is tinted`);
    }
    assert.equal(area, o.area);
    assert.ok(area >= 0.25 * o.fullArea);
    const mb = maskBox(mask, W, H)!;
    assert.ok(mb[0] >= o.box[0] && mb[1] >= o.box[1] && mb[2] <= o.box[2] && mb[3] <= o.box[3], `${at}: mask within box`);
    if (o.area === o.fullArea) {
      for (let i = 0; i < 4; i++) assert.ok(Math.abs(mb[i]! - o.box[i]!) <= 1, `${at}: mask box ${mb} vs box ${o.box}`);
      exact++;
    } else occluded++;
  });
  return { exact, occluded };
}

const SMALL = { train: 30, val: 10, test: 10, trainItems: 20, evalItems: 5 };

test('fashion: composites from synthetic IDX files: labels agree with pixels and source items', async () => {
  const dir = tmp('fashion-syn-');
  const src = writeSyntheticFashion(dir, 40, 20, { gzip: true });
  const g: GeneratedFashion = generateFashion({ ...SMALL, fashionDir: dir });
  assert.deepEqual(g.names, [...FASHION_NAMES]);
  assert.deepEqual(g.colors, [...COLOR_NAMES]);
  assert.equal(g.files.dir, dir);
  let exact = 0;
  let occluded = 0;
  const ids = { train: new Set<number>(), val: new Set<number>(), test: new Set<number>() };
  let minSide = Infinity;
  let maxSide = 0;
  for (const split of ['train', 'val', 'test'] as const) {
    assert.equal(g.splits[split].length, SMALL[split]);
    g.splits[split].forEach((im, i) => {
      assert.ok(im.objects.length + im.dropped >= 1 && im.objects.length + im.dropped <= 6);
      const r = checkFashionLabels(im, `${split} ${i}`);
      exact += r.exact;
      occluded += r.occluded;
      for (const o of im.objects) {
        ids[split].add(o.identity);
        // identity = source item index: train file items first, then t10k items.
        const label = o.identity < 40 ? src.train[o.identity] : src.test[o.identity - 40];
        assert.equal(o.cls, label, `${split} ${i}: class is the source item's label`);
        if (o.area === o.fullArea) {
          const side = Math.max(o.box[2] - o.box[0], o.box[3] - o.box[1]);
          minSide = Math.min(minSide, side);
          maxSide = Math.max(maxSide, side);
        }
      }
    });
  }
  assert.ok(exact > 50, `unoccluded: ${exact}`);
  assert.ok(occluded > 0, `occluded: ${occluded}`);
  assert.ok([...ids.train].every((i) => i >= 0 && i < 40));
  assert.ok(ids.train.size <= SMALL.trainItems);
  assert.ok(
    [...ids.val, ...ids.test].every((i) => i >= 40 && i < 60),
    'val/test items come from the t10k file',
  );
  assert.ok(
    [...ids.val].every((i) => !ids.test.has(i)),
    'val and test pools are disjoint',
  );
  // Items are 28 → 28..112 px wide (the figures are inset, so boxes are a bit smaller).
  assert.ok(minSide >= 16 && minSide < 50 && maxSide > 80 && maxSide <= 112, `box sides ${minSide}..${maxSide}`);
  // Deterministic; the seed changes everything.
  const again = generateFashion({ ...SMALL, fashionDir: dir });
  again.splits.train.forEach((im, i) => {
    assert.ok(Buffer.from(im.image.data).equals(Buffer.from(g.splits.train[i]!.image.data)));
    assert.deepEqual(im.objects, g.splits.train[i]!.objects);
  });
  const other = generateFashion({ ...SMALL, seed: 1, fashionDir: dir });
  assert.ok(!Buffer.from(other.splits.train[0]!.image.data).equals(Buffer.from(g.splits.train[0]!.image.data)));
});

test('fashion: only the train files present: val/test draw disjoint items from them', () => {
  const dir = tmp('fashion-trainonly-');
  writeSyntheticFashion(dir, 60, 0);
  const files = fashionFilesIn(dir)!;
  assert.equal(files.testImages, undefined);
  const g = generateFashion({ ...SMALL, fashionDir: dir });
  const train = new Set(g.splits.train.flatMap((im) => im.objects.map((o) => o.identity)));
  const evalIds = [...g.splits.val, ...g.splits.test].flatMap((im) => im.objects.map((o) => o.identity));
  assert.ok(evalIds.length > 0);
  assert.ok(evalIds.every((i) => i < 60 && !train.has(i)));
});

test('fashion: missing IDX files give instructions (apt-get / --fashion-dir)', async () => {
  const empty = tmp('fashion-empty-');
  assert.throws(
    () => findFashionFiles(empty),
    (err: Error) => {
      assert.match(err.message, /Fashion-MNIST IDX files not found/);
      assert.match(err.message, /apt-get install dataset-fashion-mnist/);
      assert.match(err.message, /--fashion-dir/);
      assert.match(err.message, /train-images-idx3-ubyte\.gz/);
      assert.ok(err.message.includes(empty));
      return true;
    },
  );
  await assert.rejects(ensureFashionDataset(join(empty, 'cache'), { fashionDir: empty, progress: false }), /apt-get install dataset-fashion-mnist/);
  await withFashionEnv(empty, () => {
    assert.throws(() => findFashionFiles(), /YOLOR_FASHION_DIR names/);
    assert.equal(fashionAvailable(), false);
  });
  // A half-installed folder (images without labels) is not accepted.
  const half = tmp('fashion-half-');
  writeSyntheticFashion(half, 5, 0);
  rmSync(join(half, 'train-labels-idx1-ubyte'));
  assert.equal(fashionFilesIn(half), null);
});

test('fashion: $YOLOR_FASHION_DIR is used when no folder is given', async () => {
  const dir = tmp('fashion-env-');
  writeSyntheticFashion(dir, 12, 6);
  await withFashionEnv(dir, () => {
    const files = findFashionFiles();
    assert.equal(files.dir, dir);
    assert.ok(files.testLabels?.endsWith('t10k-labels-idx1-ubyte'));
    assert.equal(fashionAvailable(), true);
  });
});

test('fashion: cache round trip; options or source data changes regenerate', async () => {
  const srcDir = tmp('fashion-src-');
  writeSyntheticFashion(srcDir, 30, 10);
  const dir = join(tmp('fashion-cache-'), 'ds');
  const opts = { ...SMALL, train: 8, val: 3, test: 3, fashionDir: srcDir, progress: false as const };
  const first = await ensureFashionDataset(dir, opts);
  assert.equal(first.generated, true);
  assert.equal(first.format, 'builtin');
  assert.equal(first.name, 'fashion');
  assert.deepEqual(first.names, [...FASHION_NAMES]);
  assert.equal(first.numIdentities, 40);
  const second = await ensureFashionDataset(dir, opts);
  assert.equal(second.generated, false);
  assert.deepEqual(second.splits, first.splits);

  const mem = generateFashion(opts);
  const rec = first.splits.train![2]!;
  const sample = await loadFashionSample(rec);
  const expect = mem.splits.train[2]!;
  assert.ok(Buffer.from(sample.image.data).equals(Buffer.from(expect.image.data)));
  assert.deepEqual(
    Array.from(sample.identity!),
    expect.objects.map((o) => o.identity),
  );
  assert.deepEqual(
    Array.from(sample.cls),
    expect.objects.map((o) => o.cls),
  );
  assert.deepEqual(
    sample.masks,
    expect.objects.map((o) => decodeRle(o.rle, 256, 256)),
  );
  assert.equal(sample.labels!.length, 10 + COLOR_NAMES.length);
  assert.deepEqual(
    first.attributeIds(rec),
    expect.objects.map((o) => o.color),
  );

  const third = await ensureFashionDataset(dir, { ...opts, maxScale: 60 });
  assert.equal(third.generated, true, 'other options regenerate');
  assert.notEqual(third.hash, first.hash);
  // Same options, different source data: the fingerprint forces regeneration.
  writeSyntheticFashion(srcDir, 30, 10, { labelShift: 1 });
  const fourth = await ensureFashionDataset(dir, { ...opts, maxScale: 60 });
  assert.equal(fourth.generated, true, 'changed source data regenerates');
  assert.equal((await ensureFashionDataset(dir, { ...opts, maxScale: 60 })).generated, false);
});

// ---------------------------------------------------------------------------
// The real dataset (Debian's dataset-fashion-mnist), when installed
// ---------------------------------------------------------------------------

const realAvailable = await withFashionEnv(undefined, () => fashionAvailable());
const skipReal = realAvailable ? false : 'Fashion-MNIST IDX files not installed (apt-get install dataset-fashion-mnist)';

test('fashion: the real Fashion-MNIST files', { skip: skipReal }, async () => {
  await withFashionEnv(undefined, () => {
    const files = findFashionFiles();
    const pair = readIdxPair(files.trainImages, files.trainLabels);
    assert.deepEqual([pair.images.count, pair.images.rows, pair.images.cols], [60000, 28, 28]);
    const test10k = readIdxPair(files.testImages!, files.testLabels!);
    assert.equal(test10k.images.count, 10000);
    const g = generateFashion({ train: 40, val: 10, test: 10 });
    const classes = new Set<number>();
    for (const split of ['train', 'val', 'test'] as const) {
      g.splits[split].forEach((im, i) => {
        checkFashionLabels(im, `real ${split} ${i}`);
        for (const o of im.objects) {
          classes.add(o.cls);
          const label = o.identity < 60000 ? pair.labels.data[o.identity] : test10k.labels.data[o.identity - 60000];
          assert.equal(o.cls, label);
          assert.ok(split === 'train' ? o.identity < 60000 : o.identity >= 60000 && o.identity < 70000);
        }
      });
    }
    assert.ok(classes.size >= 8, `classes seen: ${classes.size}`);
  });
});

test('fashion: dpkg -L dataset-fashion-mnist locates the files', {
  skip: dpkgFashionDirs().length ? false : 'dataset-fashion-mnist is not installed (or no dpkg)',
}, () => {
  const dirs = dpkgFashionDirs();
  assert.ok(
    dirs.some((d) => fashionFilesIn(d) !== null),
    `dirs: ${dirs.join(', ')}`,
  );
});
