import { type DatasetFormatRequest, FORMAT_REQUESTS, WRITABLE_FORMATS, type WritableFormat } from '../../data/formats/names.js';
import { UsageError } from '../args.js';
import type { Command } from '../command.js';
import { formatTable } from '../table.js';

const DATA_HELP =
  'a dataset: Pascal VOC root folder, COCO instances .json (or a folder of instances_<split>.json), ' +
  'Ultralytics dataset .yaml, or a built-in name (shapes, fashion)';

type Args = Parameters<Command['run']>[0];

async function loadData(args: Args, action: string) {
  const dataSpec = args.string('data');
  if (!dataSpec) throw new UsageError(`${action} needs --data (${DATA_HELP})`, true);
  const { loadDetectionDatasetAsync } = await import('../../data/resolve.js');
  const from = (args.string('from') ?? 'auto') as DatasetFormatRequest;
  return loadDetectionDatasetAsync(dataSpec, { format: from, imageDir: args.string('image-dir') });
}

/** `yolor data anchors`: anchor fit (best possible recall, anchors above threshold) before and after autoanchor. */
async function anchorsAction(args: Args): Promise<number> {
  const { datasetSplit } = await import('../../data/resolve.js');
  const { boxSizesAtImageSize } = await import('../../data/types.js');
  const { resolveModelConfig } = await import('../../models/zoo.js');
  const { autoAnchor } = await import('../../tasks/detect/anchors.js');
  const { Rng } = await import('../../util/rng.js');
  const ds = await loadData(args, 'anchors');
  const cfg = resolveModelConfig(args.string('model') ?? 'yolor-n');
  const imgsz = args.number('imgsz') ?? cfg.dims.imgsz;
  const images = datasetSplit(ds, args.string('split') ?? 'train');
  const wh = boxSizesAtImageSize(images, imgsz);
  const result = autoAnchor(wh, cfg.anchors, {
    rng: new Rng(args.number('seed') ?? 0),
    thr: args.number('thr') ?? 4,
    minBpr: args.boolean('force') ? 1.01 : 0.98,
    progress: !args.boolean('json'),
  });
  if (args.boolean('json')) {
    process.stdout.write(
      `${JSON.stringify({
        data: ds.source,
        split: args.string('split'),
        images: images.length,
        boxes: wh.length / 2,
        imgsz,
        model: cfg.name,
        ...result,
        dropped: ds.bad,
      })}\n`,
    );
    return 0;
  }
  const fmt = (m: { bpr: number; aat: number; fitness: number }) => [m.bpr.toFixed(4), m.aat.toFixed(3), m.fitness.toFixed(4)];
  process.stdout.write(`${ds.source} (${images.length} images, ${wh.length / 2} boxes at ${imgsz} px) vs ${cfg.name}'s anchors\n\n`);
  process.stdout.write(
    `${formatTable(
      [
        ['before', ...fmt(result.before)],
        ['after', ...fmt(result.after)],
      ],
      { header: ['anchors', 'best possible recall', 'anchors above thr', 'fitness'], align: ['left', 'right', 'right', 'right'] },
    )}\n\n`,
  );
  if (result.changed) {
    process.stdout.write('new anchors (paste into the model config):\nanchors:\n');
    for (const level of result.anchors) process.stdout.write(`  - [${level.map(([w, h]) => `${Math.round(w)},${Math.round(h)}`).join(', ')}]\n`);
  } else {
    process.stdout.write(
      result.recomputed ? 'current anchors kept: re-estimated ones were not better\n' : 'current anchors fit (best possible recall ≥ 0.98): kept\n',
    );
  }
  if (ds.bad.length > 0) process.stdout.write(`\n${ds.bad.length} bad annotations were not used (see 'yolor data stats')\n`);
  return 0;
}

const MAX_BAD_LINES = 50;

/** `yolor data stats`: class counts, boxes per image, box sizes, imbalance, bad input; a PNG of the distributions. */
async function statsAction(args: Args): Promise<number> {
  const { join, resolve } = await import('node:path');
  const { datasetSplit } = await import('../../data/resolve.js');
  const { computeDatasetStats, statsSummaryLines, badInputLines, IMBALANCE_FRACTION } = await import('../../data/stats.js');
  const { plotDatasetStats } = await import('../../plot/data-stats.js');
  const { verifyImages, describeImageReport } = await import('../../data/verify.js');
  const { availableParallelism } = await import('node:os');
  const ds = await loadData(args, 'stats');
  const split = args.string('split') ?? 'train';
  const images = datasetSplit(ds, split);
  // Every image of the split decoded (verdicts cached): unreadable or mis-sized ones join the bad-input report.
  const check = await verifyImages(images, {
    workers: args.number('workers') ?? availableParallelism(),
    progress: !args.boolean('json'),
    label: `check ${split}`,
    log: (line) => void process.stderr.write(`${line}\n`),
  });
  const stats = computeDatasetStats({ ...ds, bad: [...ds.bad, ...check.bad] }, images, split);
  const imageCheck = { files: check.files, cached: check.cached, decoded: check.decoded, bad: check.bad.length };
  const plotArg = args.string('plot');
  const plotPath = plotArg === 'none' ? null : resolve(plotArg ?? join('runs', 'data', `${ds.name}-${split}-stats.png`));
  if (plotPath) await plotDatasetStats(stats, plotPath);
  if (args.boolean('json')) {
    process.stdout.write(`${JSON.stringify({ ...stats, imageCheck, plot: plotPath })}\n`);
    return 0;
  }
  const out: string[] = [];
  out.push(`${ds.source} (${ds.format}), split ${split}: ${stats.images} images, ${stats.totalInstances} boxes, ${ds.names.length} classes`, '');
  const rows = ds.names.map((n) => {
    const c = stats.instances[n]!;
    const flag = stats.imbalance.some((w) => w.class === n) ? `< ${100 * IMBALANCE_FRACTION}% of the largest` : '';
    return [n, String(c), stats.totalInstances ? `${((100 * c) / stats.totalInstances).toFixed(1)}%` : '-', String(stats.imagesPerClass[n]), flag];
  });
  out.push(formatTable(rows, { header: ['class', 'instances', 'share', 'images', 'note'], align: ['left', 'right', 'right', 'right', 'left'] }), '');
  out.push(...statsSummaryLines(stats));
  out.push(`image check: ${describeImageReport(check)}`);
  if (stats.warnings.length > 0) out.push('', 'warnings:', ...stats.warnings.map((w) => `  ${w}`));
  if (stats.bad.length > 0) {
    out.push('', `bad input (${stats.bad.length}; action  file: problem):`);
    out.push(...badInputLines(stats.bad.slice(0, MAX_BAD_LINES)).map((l) => `  ${l}`));
    if (stats.bad.length > MAX_BAD_LINES) out.push(`  ... ${stats.bad.length - MAX_BAD_LINES} more (--json lists them all)`);
    if (check.bad.length > 0) out.push(`  (fatal: train and val abort on these ${check.bad.length} image(s); --skip-bad skips them)`);
  }
  if (plotPath) out.push('', `plot: ${plotPath}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/** `yolor data convert`: writes the dataset in a writable format (see each format's writer, src/data/formats/<format>/write.ts, for what it keeps). */
async function convertAction(args: Args): Promise<number> {
  const to = args.string('to') as WritableFormat | undefined;
  const output = args.string('output');
  if (!args.string('data')) throw new UsageError(`convert needs --data (${DATA_HELP})`, true);
  if (!to) throw new UsageError(`convert needs --to ${WRITABLE_FORMATS.join('|')}`, true);
  if (!output) throw new UsageError('convert needs --output DIR (the folder to write)', true);
  const { writeDataset } = await import('../../data/formats/registry.js');
  const ds = await loadData(args, 'convert');
  const r = writeDataset(ds, to, output, { images: args.boolean('copy-images') ? 'copy' : 'link', overwrite: args.boolean('force') });
  if (args.boolean('json')) {
    process.stdout.write(`${JSON.stringify({ from: ds.source, fromFormat: ds.format, ...r, bad: ds.bad })}\n`);
    return 0;
  }
  const splits = Object.entries(r.splits)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const lines = [`${ds.source} (${ds.format}) → ${r.dir} (${r.format}): ${r.images} images, ${r.annotations} boxes; splits: ${splits}`];
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (ds.bad.length > 0)
    lines.push(`${ds.bad.length} bad input entries in the source were not converted (see 'yolor data stats --data ${args.string('data')}')`);
  lines.push(`read it with: --data ${r.entry}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `yolor data preview`: a PNG grid of augmented training samples with their boxes. */
async function previewAction(args: Parameters<Command['run']>[0]): Promise<number> {
  const dataSpec = args.string('data');
  if (!dataSpec) throw new UsageError('preview needs --data', true);
  const { loadDetectionDatasetAsync, datasetSplit } = await import('../../data/resolve.js');
  const { DataLoader, batchItem } = await import('../../data/loader.js');
  const { drawSamplesGrid } = await import('../../plot/draw-boxes.js');
  const { writeFileAtomic } = await import('../../io/atomic-write.js');
  const { join } = await import('node:path');
  const ds = await loadDetectionDatasetAsync(dataSpec);
  const records = datasetSplit(ds, args.string('split') ?? 'train');
  const n = Math.min(args.number('n') ?? 16, records.length);
  const imgsz = args.number('imgsz') ?? 416;
  const loader = new DataLoader({ records, imgsz, batchSize: n, train: true, seed: args.number('seed') ?? 0, workers: 0 });
  try {
    for await (const batch of loader.epoch(0)) {
      const b = batch.shape[0];
      const items = Array.from({ length: b }, (_, i) => batchItem(batch, i));
      const out = args.string('output') ?? join('runs', 'data', `${ds.name}-preview.png`);
      await writeFileAtomic(out, drawSamplesGrid(items, ds.names, 4));
      process.stdout.write(
        `${out}: ${b} augmented ${args.string('split') ?? 'train'} samples at ${imgsz} px (${batch.dropped} boxes cropped away by mosaic/affine)\n`,
      );
      break;
    }
  } finally {
    await loader.close();
  }
  return 0;
}

export const dataCommand: Command = {
  name: 'data',
  summary: 'inspect, convert and analyse datasets: stats, convert, preview, anchors',
  usage: 'yolor data <stats|convert|preview|anchors> --data <PATH> [options]',
  description:
    'stats: images, instances per class, boxes per image, box sizes, class imbalance, images without\n' +
    'labels and every bad-input entry (file, problem, action); writes a PNG of the distributions\n' +
    '(--plot, default runs/data/<name>-<split>-stats.png; --plot none: no PNG). Every image of the split\n' +
    'is decoded (--workers threads; verdicts cached by path, size and mtime): missing, truncated, corrupt\n' +
    'or mis-sized images are listed as bad input with action fatal (train/val abort on them unless --skip-bad).\n' +
    `convert: writes --data as --to ${WRITABLE_FORMATS.join('|')} into --output, a self-contained folder that can be moved or\n` +
    'shared: images are hard-linked from the source (copied across file systems, or with --copy-images) and\n' +
    'every path in it is relative. COCO: images/<split>/ and annotations/instances_<split>.json, keeping a\n' +
    "COCO source's image and category ids (else 1..n and 1..nc); YOLO: data.yaml, images/, labels/, <split>.txt;\n" +
    'VOC: JPEGImages/, Annotations/, ImageSets/Main/, classes.txt. VOC boxes are rounded to\n' +
    'integer pixels (at most 0.5 px off); difficult/iscrowd are kept (COCO "difficult": 1 and YOLO\n' +
    'flags.json are extensions; VOC writes crowd regions as difficult).\n' +
    "anchors: best possible recall and anchors-above-threshold of a model's anchors on the dataset's\n" +
    'boxes (scaled to --imgsz), re-estimated by k-means (1 - IoU) and a genetic refinement when recall\n' +
    'is below 0.98 (--force: always). preview: a PNG grid of augmented training samples with boxes.\n' +
    '--data: a Pascal VOC root, a COCO instances .json (or folder of instances_<split>.json), an\n' +
    'Ultralytics dataset .yaml, or a built-in name (shapes, fashion); the format is detected (--from forces it).',
  positionals: [{ name: 'action', description: 'what to do', required: true, choices: ['stats', 'convert', 'preview', 'anchors'] }],
  options: [
    { name: 'data', type: 'string', valueName: 'PATH', description: 'dataset (VOC root, COCO .json, dataset .yaml or built-in name)' },
    { name: 'from', type: 'enum', choices: FORMAT_REQUESTS, default: 'auto', description: 'format of --data (auto: detect)' },
    { name: 'image-dir', type: 'string', valueName: 'DIR', description: "COCO: folder the images' file_name entries are relative to" },
    {
      name: 'split',
      type: 'string',
      valueName: 'NAME',
      default: 'train',
      description: 'dataset split (train, val, test, all, or another split of the dataset)',
    },
    { name: 'to', type: 'enum', choices: WRITABLE_FORMATS, description: 'convert: output format' },
    { name: 'output', type: 'string', valueName: 'DIR', description: 'convert: output folder' },
    { name: 'copy-images', type: 'boolean', default: false, description: 'convert: copy images instead of hard-linking them' },
    { name: 'plot', type: 'string', valueName: 'PNG', description: 'stats: where to write the plot (none: no plot)' },
    { name: 'model', type: 'string', valueName: 'NAME|FILE', description: 'model whose anchors to check (default yolor-n)' },
    { name: 'imgsz', type: 'int', valueName: 'PX', description: "training image size (default: the model's)" },
    { name: 'thr', type: 'number', valueName: 'X', default: 4, description: 'anchor-box width/height ratio threshold' },
    {
      name: 'force',
      type: 'boolean',
      default: false,
      description: 'anchors: re-estimate even when recall ≥ 0.98; convert: replace a non-empty --output',
    },
    { name: 'seed', type: 'int', valueName: 'N', default: 0, description: 'seed for k-means, evolution and preview augmentation' },
    { name: 'n', type: 'int', valueName: 'N', default: 16, description: 'preview: number of samples' },
    {
      name: 'workers',
      type: 'int',
      valueName: 'N',
      description: 'stats: threads decoding the images (default: the number of cores; 0: main thread)',
    },
    { name: 'json', type: 'boolean', default: false, description: 'print the result as one JSON object' },
  ],
  async run(args) {
    const action = args.positionals[0];
    if (action === 'anchors') return anchorsAction(args);
    if (action === 'stats') return statsAction(args);
    if (action === 'convert') return convertAction(args);
    return previewAction(args);
  },
};
