import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { readVoc } from '../../src/data/formats/voc/read.js';
import { loadDetectionDatasetAsync } from '../../src/data/resolve.js';
import type { DetectionDataset } from '../../src/data/types.js';
import { bccdWithBadImages } from '../helpers/bad-images.js';
import { BCCD, HAS_BCCD } from '../helpers/shared-data.js';
import { tmp } from '../helpers/tmp.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI's environment: no debug output; the image-check cache in a temporary folder, not the user's. */
const cacheDir = tmp('cli-cache');
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, YOLOR_CACHE_DIR: cacheDir };
  delete env.YOLOR_DEBUG;
  return env;
}

function yolor(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [main, ...args], { env: cliEnv() });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A VOC root with two images (one zero-size box) and train/val splits. */
async function tinyVoc(): Promise<string> {
  const root = tmp('cli-voc');
  for (const d of ['Annotations', 'JPEGImages', join('ImageSets', 'Main')]) mkdirSync(join(root, d), { recursive: true });
  const obj = (n: string, b: number[], d = 0) =>
    `<object><name>${n}</name><difficult>${d}</difficult><bndbox><xmin>${b[0]}</xmin><ymin>${b[1]}</ymin><xmax>${b[2]}</xmax><ymax>${b[3]}</ymax></bndbox></object>`;
  const files: [string, string][] = [
    ['p', obj('cell', [1, 2, 30, 40]) + obj('cell', [5, 5, 5, 9]) + obj('blob', [10, 10, 20, 20], 1)],
    ['q', obj('cell', [0, 0, 64, 48])],
  ];
  for (const [stem, objects] of files) {
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#446688' } })
      .jpeg()
      .toFile(join(root, 'JPEGImages', `${stem}.jpg`));
    writeFileSync(
      join(root, 'Annotations', `${stem}.xml`),
      `<annotation><filename>${stem}.jpg</filename><size><width>64</width><height>48</height><depth>3</depth></size>${objects}</annotation>`,
    );
  }
  writeFileSync(join(root, 'ImageSets', 'Main', 'train.txt'), 'p\n');
  writeFileSync(join(root, 'ImageSets', 'Main', 'val.txt'), 'q\n');
  return root;
}

function summary(ds: DetectionDataset): Record<string, unknown> {
  return {
    names: ds.names,
    splits: Object.fromEntries(
      Object.entries(ds.splits).map(([k, l]) => [
        k,
        l.map((r) => [
          basename(realpathSync(r.file)),
          r.width,
          r.height,
          r.annotations.map((a) => [ds.names[a.cls], a.box.map((v) => Math.round(v * 1000) / 1000), !!a.difficult]),
        ]),
      ]),
    ),
  };
}

test('data stats --json on BCCD reports its two zero-size boxes and writes the plot', {
  skip: !HAS_BCCD && 'shared BCCD data not present',
}, async () => {
  const plot = join(tmp('cli-plot'), 'bccd.png');
  const r = await yolor('data', 'stats', '--data', BCCD, '--split', 'all', '--json', '--plot', plot);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    images: number;
    instances: Record<string, number>;
    bad: { file: string; problem: string; action: string }[];
    plot: string;
    imbalance: { class: string }[];
  };
  assert.equal(out.images, 364);
  assert.deepEqual(Object.keys(out.instances), ['Platelets', 'RBC', 'WBC']);
  assert.equal(out.instances.RBC! + out.instances.WBC! + out.instances.Platelets!, 4886);
  assert.equal(out.bad.length, 2);
  assert.deepEqual(
    out.bad.map((b) => basename(b.file)),
    ['BloodImage_00338.xml', 'BloodImage_00343.xml'],
  );
  for (const b of out.bad) {
    assert.match(b.problem, /non-positive width or height/);
    assert.equal(b.action, 'dropped');
  }
  assert.deepEqual(
    out.imbalance.map((w) => w.class),
    ['Platelets', 'WBC'],
  );
  assert.equal(out.plot, plot);
  assert.ok(existsSync(plot));
});

test('data stats prints the table, warnings and every bad entry; the default plot path is runs/data/<name>-<split>-stats.png', async () => {
  const voc = await tinyVoc();
  const cwd = tmp('cli-cwd');
  const r = await new Promise<Run>((resolve) => {
    const p = spawn(process.execPath, [main, 'data', 'stats', '--data', voc], { cwd, env: cliEnv() });
    let stdout = '',
      stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /split train: 1 images, 2 boxes, 2 classes/);
  assert.match(r.stdout, /^cell +1 +50\.0% +1/m);
  assert.match(r.stdout, /^bad input \(1; action {2}file: problem\):$/m);
  assert.match(r.stdout, /dropped +\S+p\.xml: object 1 \(cell\): box \[5, 5, 5, 9\] has non-positive width or height/);
  const png = join(cwd, 'runs', 'data', `${basename(voc)}-train-stats.png`);
  assert.ok(existsSync(png), png);
  assert.match(r.stdout, new RegExp(`plot: ${png.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

test('data stats decodes every image: a truncated JPEG and random bytes named .jpg are in its bad-input report (text and --json)', {
  skip: !HAS_BCCD && 'shared BCCD data not present',
}, async () => {
  const data = bccdWithBadImages(tmp('cli-bad'));
  const r = await yolor('data', 'stats', '--data', data.root, '--plot', 'none', '--workers', '2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^image check: 5 images checked \(0 cached, 5 decoded\), 2 unreadable$/m);
  assert.match(r.stdout, /^ {2}2 bad input entries \(2 fatal\)$/m);
  assert.match(r.stdout, /^bad input \(2; action {2}file: problem\):$/m);
  const lines = r.stdout.split('\n');
  for (const file of [data.truncated, data.random]) {
    assert.ok(
      lines.some((l) => l.startsWith(`  fatal    ${file}: cannot decode image (`)),
      `${file} in:\n${r.stdout}`,
    );
  }
  assert.ok(
    lines.includes(
      `  fatal    ${data.truncated}: cannot decode image (truncated: the file ends inside the image data, after ${statSync(data.truncated).size} bytes)`,
    ),
    r.stdout,
  );
  const j = await yolor('data', 'stats', '--data', data.root, '--plot', 'none', '--json', '--workers', '0');
  assert.equal(j.status, 0, j.stderr);
  const out = JSON.parse(j.stdout) as {
    images: number;
    bad: { file: string; problem: string; action: string }[];
    imageCheck: Record<string, number>;
  };
  assert.equal(out.images, 5);
  assert.deepEqual(out.imageCheck, { files: 5, cached: 5, decoded: 0, bad: 2 }); // the first run's verdicts
  assert.deepEqual(
    out.bad.map((b) => [b.file, b.action]),
    [
      [data.truncated, 'fatal'],
      [data.random, 'fatal'],
    ],
  );
  assert.match(out.bad[0]!.problem, /^cannot decode image \(truncated: /);
  assert.match(out.bad[1]!.problem, /^cannot decode image \(/);
});

test('data convert writes files that read back equal, for every output format', async () => {
  const voc = await tinyVoc();
  const src = summary(readVoc(voc));
  for (const to of ['coco', 'yolo', 'voc']) {
    const out = join(tmp('cli-conv'), to);
    const r = await yolor('data', 'convert', '--data', voc, '--to', to, '--output', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { entry: string; images: number; annotations: number; bad: unknown[] };
    assert.equal(res.images, 2);
    assert.equal(res.annotations, 3);
    assert.equal(res.bad.length, 1); // the zero-size box is reported, not converted
    assert.deepEqual(summary(await loadDetectionDatasetAsync(res.entry)), src, to);
    // and back through the CLI, with the format forced
    const back = join(tmp('cli-back'), 'voc');
    const r2 = await yolor('data', 'convert', '--data', res.entry, '--from', to, '--to', 'voc', '--output', back);
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stdout, /→ .* \(voc\): 2 images, 3 boxes; splits: /);
    assert.match(r2.stdout, /read it with: --data /);
    assert.deepEqual(summary(readVoc(back, { names: readFileSync(join(back, 'classes.txt'), 'utf8').trim().split('\n') })), src);
  }
});

test('data convert --to coco writes a self-contained folder: moved, with its source deleted, it still reads', async () => {
  const voc = await tinyVoc();
  const out = join(tmp('cli-self'), 'coco');
  const r = await yolor('data', 'convert', '--data', voc, '--to', 'coco', '--output', out);
  assert.equal(r.status, 0, r.stderr);
  const moved = join(tmp('cli-moved'), 'elsewhere');
  renameSync(out, moved);
  rmSync(voc, { recursive: true });
  const s = await yolor('data', 'stats', '--data', join(moved, 'annotations', 'instances_val.json'), '--split', 'val', '--plot', 'none', '--json');
  assert.equal(s.status, 0, s.stderr);
  const stats = JSON.parse(s.stdout) as { images: number; totalInstances: number; bad: unknown[] };
  assert.deepEqual([stats.images, stats.totalInstances, stats.bad], [1, 1, []]);
  const val = JSON.parse(readFileSync(join(moved, 'annotations', 'instances_val.json'), 'utf8')) as { images: { file_name: string }[] };
  assert.deepEqual(
    val.images.map((im) => im.file_name),
    ['q.jpg'],
  );
  assert.ok(existsSync(join(moved, 'images', 'val', 'q.jpg')));
});

test('data convert/stats usage and input errors are one line', async () => {
  const voc = await tinyVoc();
  let r = await yolor('data', 'stats');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^yolor data: stats needs --data \(a dataset: Pascal VOC root folder, COCO instances \.json/);
  r = await yolor('data', 'convert', '--data', voc, '--output', tmp('x'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /convert needs --to coco\|yolo\|voc/);
  r = await yolor('data', 'convert', '--data', voc, '--to', 'coco');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /convert needs --output DIR/);
  const full = tmp('full');
  writeFileSync(join(full, 'x'), '');
  r = await yolor('data', 'convert', '--data', voc, '--to', 'coco', '--output', full);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /exists and is not empty \(use --force to replace it\)/);
  r = await yolor('data', 'convert', '--data', voc, '--to', 'coco', '--output', full, '--force');
  assert.equal(r.status, 0, r.stderr);
  const notCoco = join(tmp('j'), 'x.json');
  writeFileSync(notCoco, '{"a": 1}');
  r = await yolor('data', 'stats', '--data', notCoco);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /x\.json: JSON without 'images'\/'annotations'\/'categories': not a COCO instances file/);
  r = await yolor('data', 'stats', '--data', voc, '--split', 'trainval');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no 'trainval' split \(has: train, val, all\)/);
  r = await yolor('data', 'preview');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^yolor data: preview needs --data/);
});

test('data preview writes a PNG grid of augmented BCCD samples', { skip: !HAS_BCCD && 'shared BCCD data not present' }, async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'preview-')), 'grid.png');
  const r = await yolor('data', 'preview', '--data', BCCD, '--n', '4', '--imgsz', '256', '--output', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /4 augmented train samples at 256 px/);
  const png = readFileSync(out);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
});
