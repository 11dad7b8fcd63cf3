import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const yolor = (...args: string[]) => {
  const env = { ...process.env };
  delete env.YOLOR_DEBUG;
  return spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env });
};

const dir = mkdtempSync(join(tmpdir(), 'cocoeval-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

const GT = file('gt.json', {
  images: [{ id: 1 }, { id: 2 }],
  categories: [
    { id: 1, name: 'person' },
    { id: 2, name: 'car' },
  ],
  annotations: [
    { id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 50, 50], area: 2500, iscrowd: 0 },
    { id: 2, image_id: 2, category_id: 2, bbox: [0, 0, 100, 100], area: 10000, iscrowd: 0 },
  ],
});
const DT = file('dt.json', [
  { image_id: 1, category_id: 1, bbox: [10, 10, 50, 50], score: 0.9 },
  { image_id: 2, category_id: 2, bbox: [0, 0, 100, 60], score: 0.8 }, // IoU 0.6
]);

// ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'
const LINE =
  /^ (Average Precision |Average Recall {4}) \((AP|AR)\) @\[ IoU=(0\.50:0\.95|0\.50 {5}|0\.75 {5}) \| area=( {3}all| small|medium| large) \| maxDets=( {2}1| 10|100) \] = (-1\.000|\d\.\d{3})$/;

describe('yolor cocoeval', () => {
  test('prints the twelve pycocotools summary lines', () => {
    const r = yolor('cocoeval', '--gt', GT, '--dt', DT);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.equal(lines.length, 12);
    for (const l of lines) assert.match(l, LINE);
    // person: perfect (AP 1); car: matched at IoU .50-.60 only (AP .3); mean .65. Medium = person, large = car.
    assert.deepEqual(lines, [
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.650',
      ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 1.000',
      ' Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.500',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 1.000',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.300',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.650',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.650',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.650',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = -1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.300',
    ]);
  });

  test('--json prints stats in pycocotools order and per-category numbers', () => {
    const r = yolor('cocoeval', '--gt', GT, '--dt', DT, '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { stats: number[]; per_category: Record<string, Record<string, number>> };
    assert.deepEqual(Object.keys(out), ['stats', 'per_category']);
    assert.equal(out.stats.length, 12);
    assert.ok(out.stats.every((v) => typeof v === 'number'));
    assert.equal(out.stats[3], -1);
    assert.equal(out.stats[8], 0.65);
    assert.deepEqual(Object.keys(out.per_category), ['person', 'car']);
    const car = out.per_category.car!;
    assert.equal(car.id, 2);
    assert.ok(Math.abs(car.ap! - 0.3) < 1e-12);
    assert.ok(Math.abs(car.ap50! - 1) < 1e-12);
    assert.equal(car.ap75, 0);
    assert.equal(car.ar100, 0.3);
    assert.equal(car.apM, -1);
    for (const k of ['ap', 'ap50', 'ap75', 'apS', 'apM', 'apL', 'ar1', 'ar10', 'ar100', 'arS', 'arM', 'arL', 'nGt', 'nDt'])
      assert.equal(typeof car[k], 'number', k);
  });

  test('missing --gt or --dt is a usage error (exit 2)', () => {
    const r = yolor('cocoeval', '--gt', GT);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^yolor cocoeval: missing --dt FILE \(see 'yolor cocoeval --help'\)\n$/);
    assert.equal(yolor('cocoeval').status, 2);
  });

  test('bad input files are one-line runtime errors (exit 1)', () => {
    const bad = file('bad.json', '[\n  {"image_id": 1 "category_id": 1}\n]');
    const r = yolor('cocoeval', '--gt', GT, '--dt', bad);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `yolor cocoeval: ${bad}:2:18: malformed JSON: expected ',' or '}' after a property value\n`);
    const unknown = file('unknown.json', [{ image_id: 42, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }]);
    const u = yolor('cocoeval', '--gt', GT, '--dt', unknown);
    assert.equal(u.status, 1);
    assert.match(
      u.stderr,
      /^yolor cocoeval: .*unknown\.json: 1 detection refers to image_id values that are not in the ground truth's images: 42\n$/,
    );
    const missing = yolor('cocoeval', '--gt', join(dir, 'none.json'), '--dt', DT);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /none\.json: no such file\n$/);
  });
});
