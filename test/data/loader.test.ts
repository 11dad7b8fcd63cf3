/**
 * The data loader: an epoch's batches (order, augmentation, targets) depend only
 * on (seed, epoch) — the same on the main thread and in any number of worker
 * threads — and a batch prepared on the main thread is prefetched while the
 * consumer awaits.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { shapesDataset } from '../../src/data/datasets/shapes.js';
import { type Batch, DataLoader } from '../../src/data/loader.js';
import { datasetSplit } from '../../src/data/resolve.js';
import type { ImageRecord } from '../../src/data/types.js';
import { epochOf } from '../helpers/scope.js';
import { tmp } from '../helpers/tmp.js';

let records: ImageRecord[] = [];

before(async () => {
  const ds = await shapesDataset(join(tmp('loader'), 'shapes'), {
    train: 10,
    val: 2,
    test: 2,
    size: 64,
    minObjects: 1,
    maxObjects: 3,
    minSize: 12,
    maxSize: 40,
    seed: 9,
  });
  records = datasetSplit(ds, 'train');
});

async function epochBatches(workers: number, epoch: number): Promise<Batch[]> {
  return epochOf({ records, imgsz: 64, batchSize: 4, train: true, seed: 11, workers, cache: true }, epoch);
}

describe('DataLoader', () => {
  it('gives bit-identical batches with 0, 1 and 2 worker threads; epochs differ', async () => {
    const a = await epochBatches(0, 1);
    assert.equal(a.length, 3);
    for (const workers of [1, 2]) {
      const b = await epochBatches(workers, 1);
      assert.equal(b.length, a.length, `${workers} workers`);
      assert.deepEqual(
        a.map((x) => x.indices),
        b.map((x) => x.indices),
        `${workers} workers`,
      );
      a.forEach((x, i) => {
        const y = b[i]!;
        const what = `${workers} workers, batch ${i}`;
        assert.deepEqual(x.shape, y.shape, what);
        assert.deepEqual(x.files, y.files, what);
        assert.equal(x.dropped, y.dropped, what);
        // Bit-identical: compare the raw bytes, not the values (-0 vs 0 and NaN payloads would differ).
        assert.ok(Buffer.from(x.targets.buffer).equals(Buffer.from(y.targets.buffer)), `${what}: targets`);
        assert.ok(Buffer.from(x.images.buffer).equals(Buffer.from(y.images.buffer)), `${what}: images`);
      });
    }
    const c = await epochBatches(0, 2);
    assert.notDeepEqual(
      a.map((x) => x.indices),
      c.map((x) => x.indices),
    );
  });

  it('prepares main-thread batches on a later turn of the event loop', async () => {
    const loader = new DataLoader({ records, imgsz: 64, batchSize: 4, train: false, workers: 0 });
    const it = loader.epoch(0)[Symbol.asyncIterator]();
    let ticked = false;
    setImmediate(() => (ticked = true));
    const first = await it.next();
    assert.equal(first.done, false);
    assert.ok(ticked, 'the event loop turned before the first batch was prepared');
    await it.return?.(undefined);
    await loader.close();
  });

  it('refuses an empty split with a clear error', () => {
    assert.throws(() => new DataLoader({ records: [], imgsz: 64, batchSize: 4, train: true }), /no images/);
  });
});
