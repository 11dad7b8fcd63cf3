/**
 * The data loader's multi-task labels (`extras`): image-level multi-hot labels
 * recomputed from the instances that survive augmentation, semantic class maps
 * and per-box identities, and per-instance attributes carried through the
 * augmentations.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { mat3, randomAffine, warpSample } from '../../src/data/augment/affine.js';
import { flipHorizontal } from '../../src/data/augment/flip.js';
import { letterboxSample } from '../../src/data/augment/letterbox-image.js';
import { mixup } from '../../src/data/augment/mixup.js';
import { mosaic4 } from '../../src/data/augment/mosaic.js';
import { COLOR_NAMES, type InstanceImageRecord, recordLabels } from '../../src/data/datasets/instances.js';
import { resolveShapesOptions, SHAPE_NAMES, type ShapesOptions, shapesDataset, shapeTemplates } from '../../src/data/datasets/shapes.js';
import { type Batch, collate, DataLoader, type LoaderOptions } from '../../src/data/loader.js';
import type { EncodedSample } from '../../src/data/loader-worker.js';
import { datasetSplit } from '../../src/data/resolve.js';
import { recordToSample } from '../../src/data/sample-source.js';
import type { ImageRecord, Sample } from '../../src/data/types.js';
import { Rng } from '../../src/util/rng.js';
import { epochOf } from '../helpers/scope.js';
import { tmp } from '../helpers/tmp.js';

const SHAPES: ShapesOptions = { train: 8, val: 2, test: 2, size: 64, minObjects: 1, maxObjects: 3, minSize: 12, maxSize: 40, seed: 9 };
const NC = SHAPE_NAMES.length;
const NA = COLOR_NAMES.length;
const IMGSZ = 64;

let records: InstanceImageRecord[] = [];
/** Colour of each identity (shapes: the identity is the template index). */
let colorOf: number[] = [];

before(async () => {
  const ds = await shapesDataset(join(tmp('multitask'), 'shapes'), { ...SHAPES, progress: false });
  records = datasetSplit(ds, 'train') as InstanceImageRecord[];
  colorOf = shapeTemplates(resolveShapesOptions(SHAPES)).map((t) => t.color);
});

async function batches(opts: Partial<LoaderOptions>, epoch = 0): Promise<Batch[]> {
  return epochOf({ records, imgsz: IMGSZ, batchSize: 4, train: true, seed: 5, workers: 0, ...opts }, epoch);
}

type Row = { cls: number; box: [number, number, number, number]; id: number };

function rowsOf(batch: Batch, i: number): Row[] {
  const t = batch.targets;
  const out: Row[] = [];
  for (let r = 0; r < t.length / 6; r++) {
    if (t[r * 6] !== i) continue;
    const [cx, cy, w, h] = [t[r * 6 + 2]!, t[r * 6 + 3]!, t[r * 6 + 4]!, t[r * 6 + 5]!];
    out.push({ cls: t[r * 6 + 1]!, box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], id: batch.identity ? batch.identity[r]! : -1 });
  }
  return out;
}

/** Shape checks of the extras fields, and identity aligned with targets (a known template of the row's class). */
function checkShapes(b: Batch): void {
  const [B, H, W] = b.shape;
  const nRows = b.targets.length / 6;
  assert.ok(b.labels && b.semantic && b.identity, 'extras present');
  assert.equal(b.labels.length, B * (NC + NA));
  assert.equal(b.semantic.length, B * H * W);
  assert.equal(b.identity.length, nRows);
  for (let r = 0; r < nRows; r++) {
    const id: number = b.identity[r]!;
    assert.ok(id >= 0 && id < colorOf.length, `identity ${id} of row ${r}`);
    // Template id = (cls · colours + colour) · variants + v: its class is the row's class.
    const variants = colorOf.length / (NC * NA);
    assert.equal(Math.floor(id / (variants * NA)), b.targets[r * 6 + 1], `row ${r}: identity ${id} belongs to another class`);
  }
}

/** Labels of image i = multi-hot of its rows' classes and colours (from identities). */
function checkLabels(b: Batch, i: number): void {
  const L = NC + NA;
  const want = new Float32Array(L);
  for (const r of rowsOf(b, i)) {
    want[r.cls] = 1;
    want[NC + colorOf[r.id]!] = 1;
  }
  assert.deepEqual(Array.from(b.labels!.subarray(i * L, (i + 1) * L)), Array.from(want), `labels of ${b.files[i]}`);
}

/** Every labelled semantic pixel lies in a box of its class (± tol); returns, per row, whether its class appears inside its box. */
function checkSemantic(b: Batch, i: number, tol = 1): boolean[] {
  const [, H, W] = b.shape;
  const sem = b.semantic!.subarray(i * H * W, (i + 1) * H * W);
  const rows = rowsOf(b, i);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = sem[y * W + x]!;
      if (v === 0) continue;
      assert.ok(v <= NC, `semantic value ${v}`);
      const inBox = rows.some(
        (r) => r.cls === v - 1 && x + 0.5 >= r.box[0] - tol && x + 0.5 <= r.box[2] + tol && y + 0.5 >= r.box[1] - tol && y + 0.5 <= r.box[3] + tol,
      );
      assert.ok(inBox, `${b.files[i]}: pixel (${x}, ${y}) of class ${v - 1} is in no box of that class`);
    }
  }
  return rows.map((r) => {
    for (let y = Math.max(0, Math.floor(r.box[1])); y < Math.min(H, Math.ceil(r.box[3])); y++) {
      for (let x = Math.max(0, Math.floor(r.box[0])); x < Math.min(W, Math.ceil(r.box[2])); x++) if (sem[y * W + x] === r.cls + 1) return true;
    }
    return false;
  });
}

describe('multi-task batches (extras)', () => {
  it('train (mosaic + affine): labels, semantic maps and identities agree with the surviving boxes', async () => {
    const bs = await batches({ extras: true }, 1);
    assert.equal(bs.length, 2);
    let rows = 0,
      withClass = 0,
      changed = 0;
    for (const b of bs) {
      checkShapes(b);
      for (let i = 0; i < b.shape[0]; i++) {
        checkLabels(b, i);
        const inside = checkSemantic(b, i);
        rows += inside.length;
        withClass += inside.filter(Boolean).length;
        // The record's own labels (before augmentation) usually differ: the mosaic brings in and crops out objects.
        const rec = recordLabels(records[b.indices[i]!]!);
        if (Array.from(rec).join() !== Array.from(b.labels!.subarray(i * (NC + NA), (i + 1) * (NC + NA))).join()) changed++;
      }
    }
    assert.ok(rows > 0);
    // A box cut by the crop may keep only a corner without object pixels (a known property of box
    // cropping); most boxes still show their class.
    assert.ok(withClass >= 0.8 * rows, `${withClass} of ${rows} boxes show their class in the semantic map`);
    assert.ok(changed > 0, 'labels follow the augmented content, not the record');
    assert.ok(bs.reduce((n, b) => n + b.dropped, 0) > 0, 'some boxes were cropped away (their labels must not appear)');
  });

  it('evaluation (letterbox only): every box shows its class; labels are the record labels', async () => {
    const bs = await batches({ extras: true, train: false });
    for (const b of bs) {
      checkShapes(b);
      for (let i = 0; i < b.shape[0]; i++) {
        checkLabels(b, i);
        assert.ok(checkSemantic(b, i).every(Boolean), `${b.files[i]}: a box without its class in the semantic map`);
        assert.deepEqual(Array.from(b.labels!.subarray(i * (NC + NA), (i + 1) * (NC + NA))), Array.from(recordLabels(records[b.indices[i]!]!)));
      }
    }
  });

  it('extras off: no extra fields, and images and targets exactly as with extras on', async () => {
    const off = await batches({}, 1);
    const on = await batches({ extras: true }, 1);
    off.forEach((b, k) => {
      assert.equal(b.labels, undefined);
      assert.equal(b.semantic, undefined);
      assert.equal(b.identity, undefined);
      assert.deepEqual(Array.from(b.targets), Array.from(on[k]!.targets));
      assert.deepEqual(b.images, on[k]!.images);
    });
  });

  it('workers: 0 and workers: 1 give identical batches', async () => {
    const a = await batches({ extras: true, cache: true }, 2);
    const b = await batches({ extras: true, workers: 1 }, 2);
    assert.equal(a.length, b.length);
    a.forEach((x, k) => {
      const y = b[k]!;
      assert.deepEqual(x.indices, y.indices);
      assert.deepEqual(Array.from(x.targets), Array.from(y.targets));
      assert.deepEqual(x.images, y.images);
      assert.deepEqual(x.labels, y.labels);
      assert.deepEqual(x.semantic, y.semantic);
      assert.deepEqual(x.identity, y.identity);
    });
  });

  it('plain records (no masks): labels need numClasses; identities from the annotations', async () => {
    const plain: ImageRecord[] = records.map((r) => ({ id: r.id, file: r.file, width: r.width, height: r.height, annotations: r.annotations }));
    const withN = await batches({ records: plain, extras: true, numClasses: NC, train: false });
    for (const b of withN) {
      assert.equal(b.semantic, undefined);
      assert.equal(b.labels!.length, b.shape[0] * NC);
      assert.equal(b.identity!.length, b.targets.length / 6);
      for (let i = 0; i < b.shape[0]; i++) {
        const want = new Float32Array(NC);
        for (const a of records[b.indices[i]!]!.annotations) want[a.cls] = 1;
        assert.deepEqual(Array.from(b.labels!.subarray(i * NC, (i + 1) * NC)), Array.from(want));
      }
    }
    const withoutN = await batches({ records: plain, extras: true, train: false });
    for (const b of withoutN) {
      assert.equal(b.labels, undefined);
      assert.ok(b.identity);
    }
    assert.throws(() => new DataLoader({ records: plain, imgsz: 64, batchSize: 2, train: false, numClasses: 0 }), /numClasses/);
  });

  it('recordToSample reads a structured-cloned generated record fully, or boxes only', async () => {
    const rec = structuredClone(records.find((r) => r.annotations.length > 1) ?? records[0]!);
    const full = await recordToSample(rec);
    const n = rec.annotations.length;
    assert.equal(full.masks!.length, n);
    assert.deepEqual(Array.from(full.attrs!), rec.colors);
    assert.deepEqual(
      Array.from(full.identity!),
      rec.annotations.map((a) => a.identity),
    );
    assert.deepEqual(Array.from(full.labels!), Array.from(recordLabels(rec)));
    const boxesOnly = await recordToSample(rec, { instances: false });
    assert.equal(boxesOnly.masks, undefined);
    assert.equal(boxesOnly.attrs, undefined);
    assert.equal(boxesOnly.identity, undefined);
    assert.deepEqual(Array.from(boxesOnly.boxes), Array.from(full.boxes));
  });

  it('collate refuses a batch mixing samples with and without extras, naming the file', () => {
    const enc = (file: string, extra: boolean): EncodedSample => {
      const s: EncodedSample = {
        pixels: new Uint8Array(4 * 4 * 3),
        width: 4,
        height: 4,
        boxes: Float32Array.of(0, 0, 2, 2),
        cls: Int32Array.of(1),
        file,
        dropped: 0,
      };
      if (extra) {
        s.labels = Float32Array.of(0, 1, 0);
        s.semantic = new Uint8Array(16).fill(2);
        s.identity = Int32Array.of(7);
      }
      return s;
    };
    const ok = collate([enc('a.png', true), enc('b.png', true)], [0, 1]);
    assert.deepEqual(Array.from(ok.labels!), [0, 1, 0, 0, 1, 0]);
    assert.equal(ok.semantic!.length, 32);
    assert.deepEqual(Array.from(ok.identity!), [7, 7]);
    assert.throws(() => collate([enc('a.png', true), enc('b.png', false)], [0, 1]), /b\.png/);
    assert.throws(() => collate([enc('a.png', false), enc('b.png', true)], [0, 1]), /a\.png/);
    const plain = collate([enc('a.png', false), enc('b.png', false)], [0, 1]);
    assert.equal(plain.labels, undefined);
  });
});

/** A black w×h image with filled rectangles; masks, identities and attributes per object. */
function synth(w: number, h: number, objs: { box: [number, number, number, number]; cls: number; id: number }[], file = 'synthetic'): Sample {
  const data = new Uint8Array(w * h * 3);
  const masks = objs.map(({ box }) => {
    const m = new Uint8Array(w * h);
    for (let y = box[1]; y < box[3]; y++)
      for (let x = box[0]; x < box[2]; x++) {
        m[y * w + x] = 1;
        data.fill(200, (y * w + x) * 3, (y * w + x) * 3 + 3);
      }
    return m;
  });
  return {
    image: { data, width: w, height: h },
    boxes: Float32Array.from(objs.flatMap((o) => o.box)),
    cls: Int32Array.from(objs, (o) => o.cls),
    masks,
    identity: Int32Array.from(objs, (o) => o.id),
    attrs: Int32Array.from(objs, (o) => attrOf(o.id)),
    file,
  };
}

const attrOf = (id: number): number => (id * 7 + 3) % 5;

function assertAttrsAligned(s: Sample, what: string): void {
  assert.ok(s.attrs && s.identity, `${what}: attrs and identity kept`);
  assert.equal(s.attrs.length, s.cls.length, `${what}: one attribute per box`);
  assert.equal(s.masks!.length, s.cls.length);
  for (let k = 0; k < s.cls.length; k++) {
    const id: number = s.identity[k]!;
    assert.equal(s.attrs[k], id < 0 ? -1 : attrOf(id), `${what}: box ${k}`);
  }
}

describe('attributes through the augmentations', () => {
  it('affine keep-filter drops the attributes of dropped boxes', () => {
    const s = synth(64, 64, [
      { box: [4, 4, 20, 20], cls: 1, id: 10 },
      { box: [40, 40, 60, 60], cls: 2, id: 11 },
      { box: [30, 30, 50, 50], cls: 0, id: 12 },
    ]);
    const r = warpSample(s, mat3([1, 0, -24, 0, 1, -24, 0, 0, 1]), 64, 64);
    assert.equal(r.dropped, 1);
    assert.deepEqual(Array.from(r.sample.identity!), [11, 12]);
    assert.deepEqual(Array.from(r.sample.attrs!), [attrOf(11), attrOf(12)]);
    assertAttrsAligned(r.sample, 'warp');
  });

  it('mosaic + affine, mixup, flip and letterbox keep attributes aligned with boxes', () => {
    const withAttrs = [
      synth(
        64,
        48,
        [
          { box: [2, 2, 30, 30], cls: 0, id: 1 },
          { box: [40, 20, 62, 46], cls: 1, id: 2 },
        ],
        'a',
      ),
      synth(48, 64, [{ box: [5, 30, 40, 60], cls: 2, id: 3 }], 'b'),
      synth(
        64,
        64,
        [
          { box: [10, 10, 50, 25], cls: 3, id: 4 },
          { box: [30, 40, 60, 62], cls: 0, id: 5 },
        ],
        'c',
      ),
    ];
    // The fourth sample has no attributes / identities: −1 for its boxes.
    const d = synth(64, 64, [{ box: [20, 20, 44, 44], cls: 1, id: 6 }], 'd');
    delete d.attrs;
    delete d.identity;
    let kept = 0,
      dropped = 0;
    for (let seed = 0; seed < 12; seed++) {
      const rng = new Rng(seed);
      const m = mosaic4([...withAttrs, d], rng, 64);
      assert.equal(m.sample.cls.length + m.dropped, 6);
      assertAttrsAligned(m.sample, `mosaic seed ${seed}`);
      const a = randomAffine(m.sample, rng, { border: [-32, -32], scale: 0.5, translate: 0.2 });
      assertAttrsAligned(a.sample, `mosaic+affine seed ${seed}`);
      kept += a.sample.cls.length;
      dropped += m.dropped + a.dropped;
      const mx = mixup(a.sample, a.sample, rng).sample;
      assert.deepEqual(Array.from(mx.attrs!), [...a.sample.attrs!, ...a.sample.attrs!]);
      assertAttrsAligned(mx, 'mixup');
      assertAttrsAligned(flipHorizontal(mx), 'flip');
      assertAttrsAligned(letterboxSample(mx, 48), 'letterbox');
    }
    assert.ok(kept > 0 && dropped > 0, `kept ${kept}, dropped ${dropped}`);
    // Mixup with a sample without attributes: −1 for its boxes.
    const noAttrs = synth(64, 64, [{ box: [1, 1, 9, 9], cls: 0, id: 9 }]);
    delete noAttrs.attrs;
    delete noAttrs.identity;
    const mx = mixup(withAttrs[2]!, noAttrs, new Rng(1)).sample;
    assert.deepEqual(Array.from(mx.attrs!), [attrOf(4), attrOf(5), -1]);
  });
});
