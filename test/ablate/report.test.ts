import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { formatCount, formatMeanStd, meanStd, type SuiteReport, suiteMarkdown, writeSuiteReport } from '../../src/ablate/report.js';
import { tmp } from '../helpers/tmp.js';

function report(): SuiteReport {
  return {
    suite: 'implicit',
    title: 'Implicit knowledge on the neck',
    data: 'configs/data/shapes.yaml',
    epochs: 10,
    imgsz: 160,
    command: 'yolor ablate implicit --data configs/data/shapes.yaml --epochs 10 --seeds 0,1,2',
    metricOrder: ['mAP50', 'mAP50-95', 'val/box_loss', 'seg_mIoU'],
    variants: [
      {
        variant: 'none',
        description: 'no implicit knowledge',
        params: 1_234_567,
        deployParams: 1_234_567,
        gflops: 2.345,
        seeds: [0, 1, 2],
        metrics: { mAP50: [0.4, 0.41, 0.42], 'mAP50-95': [0.2, 0.21, 0.22], 'val/box_loss': [0.05, 0.052, 0.054], seg_mIoU: [NaN, NaN, NaN] },
        seconds: [60.2, 61.4, 59.9],
      },
      {
        variant: 'add',
        description: 'ImplicitAdd on neck outputs',
        params: 1_240_000,
        deployParams: 1_234_567,
        gflops: 2.345,
        seeds: [0, 1, 2],
        metrics: { mAP50: [0.44, 0.45, 0.46], 'mAP50-95': [0.19, 0.2, 0.21], 'val/box_loss': [0.06, 0.061, 0.062], seg_mIoU: [0.5, 0.6, NaN] },
        seconds: [62.0, 63.1, 61.8],
      },
      {
        variant: 'mul',
        description: 'ImplicitMul | on heads',
        params: 1_240_000,
        deployParams: 1_234_567,
        gflops: 2.345,
        seeds: [0, 1, 2],
        metrics: { mAP50: [0.42, 0.43, 0.41], 'mAP50-95': [0.23, 0.24, 0.22], 'val/box_loss': [0.045, 0.046, 0.047], seg_mIoU: [0.4, 0.45, 0.5] },
        seconds: [62.5, 63.0, 62.2],
      },
    ],
  };
}

/** The markdown table row of `variant`, split into trimmed cells (escaped pipes kept). */
function row(md: string, variant: string): string[] {
  const line = md.split('\n').find((l) => l.startsWith(`| ${variant} |`));
  assert.ok(line, `row for ${variant}`);
  return line
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim());
}

describe('meanStd', () => {
  test('sample std, NaN ignored', () => {
    const s = meanStd([1, 2, NaN, 3]);
    assert.equal(s.n, 3);
    assert.equal(s.mean, 2);
    assert.equal(s.std, 1);
    const t = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
    assert.equal(t.mean, 5);
    assert.ok(Math.abs(t.std - Math.sqrt(32 / 7)) < 1e-12);
  });

  test('one value: std 0', () => {
    assert.deepEqual(meanStd([0.5]), { mean: 0.5, std: 0, n: 1 });
    assert.deepEqual(meanStd([NaN, 0.5, NaN]), { mean: 0.5, std: 0, n: 1 });
  });

  test('no finite values: mean NaN, n 0', () => {
    for (const xs of [[], [NaN], [NaN, NaN]]) {
      const s = meanStd(xs);
      assert.ok(Number.isNaN(s.mean));
      assert.equal(s.n, 0);
    }
  });
});

test('formatMeanStd', () => {
  assert.equal(formatMeanStd([0.4, 0.41, 0.42]), '0.410 ± 0.010');
  assert.equal(formatMeanStd([0.412]), '0.412');
  assert.equal(formatMeanStd([0.412, NaN]), '0.412');
  assert.equal(formatMeanStd([]), '—');
  assert.equal(formatMeanStd([NaN, NaN]), '—');
  assert.equal(formatMeanStd([10, 12], 1), '11.0 ± 1.4');
  assert.equal(formatMeanStd([1, 2], 0), '2 ± 1');
});

test('formatCount', () => {
  assert.equal(formatCount(1_234_567), '1.23M');
  assert.equal(formatCount(12_345), '12.3k');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(1000), '1k');
  assert.equal(formatCount(999_999), '1M');
  assert.equal(formatCount(123_456), '123k');
  assert.equal(formatCount(2_500_000_000), '2.5B');
  assert.equal(formatCount(-12_345), '-12.3k');
  assert.equal(formatCount(NaN), '—');
});

describe('suiteMarkdown', () => {
  const r = report();
  const md = suiteMarkdown(r);

  test('heading, run line and reproduce command', () => {
    assert.ok(md.startsWith(`# ${r.title}\n`));
    assert.ok(md.includes(`\`${r.command}\``), 'command in a code span');
    assert.match(md, /10 epochs/);
    assert.match(md, /imgsz 160/);
    assert.match(md, /seeds 0, 1, 2/);
    assert.ok(md.includes('`configs/data/shapes.yaml`'));
  });

  test('table lists every variant and metric', () => {
    const header = md.split('\n').find((l) => l.startsWith('| variant |'));
    assert.ok(header);
    for (const m of r.metricOrder) assert.ok(header.includes(`| ${m} |`), m);
    assert.ok(header.includes('| params | deploy params | GFLOPs |'));
    assert.ok(header.endsWith('| time (s) |'));
    const cols = header.split('|').length - 2;
    for (const v of r.variants) {
      const cells = row(md, v.variant);
      assert.equal(cells.length, cols, `${v.variant}: one cell per column`);
    }
    assert.ok(md.includes('ImplicitMul \\| on heads'), 'pipes in descriptions are escaped');
    const none = row(md, 'none');
    assert.deepEqual(none.slice(2, 5), ['1.23M', '1.23M', '2.35']);
    assert.equal(none[5], '0.410 ± 0.010');
    assert.equal(none[8], '—', 'all-NaN metric shows a dash');
    assert.equal(none[9], '60.5 ± 0.8');
  });

  test('bolds the best mean per metric; *loss is lower-better', () => {
    const none = row(md, 'none');
    const add = row(md, 'add');
    const mul = row(md, 'mul');
    // mAP50: add best (higher is better)
    assert.equal(add[5], '**0.450 ± 0.010**');
    assert.ok(!none[5]!.includes('**') && !mul[5]!.includes('**'));
    // mAP50-95: mul best
    assert.equal(mul[6], '**0.230 ± 0.010**');
    assert.ok(!none[6]!.includes('**') && !add[6]!.includes('**'));
    // val/box_loss: lowest (mul) is best, not the highest (add)
    assert.equal(mul[7], '**0.046 ± 0.001**');
    assert.ok(!add[7]!.includes('**') && !none[7]!.includes('**'));
    // seg_mIoU: add (0.55 over 2 seeds) beats mul (0.45); baseline has none
    assert.equal(add[8], '**0.550 ± 0.071**');
    // exactly one bold cell per metric column
    const table = md
      .split('\n')
      .filter((l) => l.startsWith('| '))
      .join('\n');
    assert.equal((table.match(/\*\*\d/g) ?? []).length, r.metricOrder.length);
  });

  test('verdict: best on the first metric vs the baseline, in pooled std', () => {
    const last = md.trim().split('\n').at(-1)!;
    assert.match(last, /Best on `mAP50`/);
    assert.match(last, /\*\*add\*\*/);
    assert.match(last, /\*\*none\*\*/);
    assert.match(last, /\+0\.040/);
    assert.match(last, /\+4\.00 pooled std/);
  });

  test('verdict for a lower-is-better first metric and a winning baseline', () => {
    const lossFirst = { ...r, metricOrder: ['val/box_loss', 'mAP50'] };
    const last = suiteMarkdown(lossFirst).trim().split('\n').at(-1)!;
    assert.match(last, /\*\*mul\*\*/);
    assert.match(last, /lower is better/);
    assert.match(last, /-0\.006/);
    const baseWins = { ...r, metricOrder: ['mAP50-95'], variants: [r.variants[2]!, r.variants[0]!] };
    assert.match(suiteMarkdown(baseWins).trim().split('\n').at(-1)!, /baseline \*\*mul\*\*.*no variant improves/);
    const single = { ...r, variants: r.variants.map((v) => ({ ...v, seeds: [0], metrics: { mAP50: [v.metrics.mAP50![0]!] }, seconds: [1] })) };
    const s = suiteMarkdown(single).trim().split('\n').at(-1)!;
    assert.match(s, /\*\*add\*\*/);
    assert.doesNotMatch(s, /pooled/, 'no std with one seed');
  });
});

describe('writeSuiteReport', () => {
  test('writes markdown, JSON and a valid PNG into a new folder', async () => {
    const r = report();
    const dir = join(tmp('ablate-report'), 'nested', 'implicit');
    const out = await writeSuiteReport(dir, r);
    assert.deepEqual(out, { markdown: join(dir, 'results.md'), json: join(dir, 'results.json'), png: join(dir, 'chart.png') });
    assert.deepEqual(readdirSync(dir).sort(), ['chart.png', 'results.json', 'results.md'], 'no temp files left');

    assert.equal(readFileSync(out.markdown, 'utf8'), suiteMarkdown(r));

    const json = JSON.parse(readFileSync(out.json, 'utf8'));
    assert.equal(json.suite, r.suite);
    assert.deepEqual(json.metricOrder, r.metricOrder);
    assert.deepEqual(
      json.variants.map((v: { variant: string }) => v.variant),
      ['none', 'add', 'mul'],
    );
    assert.deepEqual(json.variants[1].metrics.mAP50, r.variants[1]!.metrics.mAP50);
    assert.ok(Math.abs(json.variants[1].stats.mAP50.mean - 0.45) < 1e-12);
    assert.ok(Math.abs(json.variants[1].stats.mAP50.std - 0.01) < 1e-12);
    assert.equal(json.variants[1].stats.mAP50.n, 3);
    assert.equal(json.variants[0].stats.seg_mIoU.mean, null, 'NaN is written as null');
    assert.equal(json.variants[0].stats.seg_mIoU.n, 0);
    assert.equal(json.variants[2].time.n, 3);

    const png = readFileSync(out.png);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    assert.ok(width >= 600 && width <= 4000, `width ${width}`);
    assert.ok(height >= 300 && height <= 2000, `height ${height}`);
    assert.ok(png.length > 5000, 'not a blank image');
  });

  test('edge cases: more than 6 metrics, no metrics, no variants; overwrites', async () => {
    const dir = tmp('ablate-edge');
    const many = report();
    many.metricOrder = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h_loss'];
    for (const v of many.variants) for (const m of many.metricOrder) v.metrics[m] = [1, 2, 3];
    await writeSuiteReport(dir, many);
    await writeSuiteReport(dir, { ...report(), metricOrder: [] });
    assert.match(readFileSync(join(dir, 'results.md'), 'utf8'), /No metrics to compare/);
    await writeSuiteReport(dir, { ...report(), variants: [] });
    assert.match(readFileSync(join(dir, 'results.md'), 'utf8'), /No variants/);
    assert.ok(existsSync(join(dir, 'chart.png')));
    assert.deepEqual(readdirSync(dir).sort(), ['chart.png', 'results.json', 'results.md']);
  });
});
