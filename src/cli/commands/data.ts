import { notAvailableYet, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { formatTable } from '../table.js';

/** `yolor data anchors`: anchor fit (best possible recall, anchors above threshold) before and after autoanchor. */
async function anchorsAction(args: Parameters<Command['run']>[0]): Promise<number> {
  const dataSpec = args.string('data');
  if (!dataSpec) throw new UsageError('anchors needs --data (a dataset: VOC root folder)', true);
  const { loadDetectionDataset, datasetSplit } = await import('../../data/resolve.js');
  const { boxSizesAtImageSize } = await import('../../data/types.js');
  const { resolveModelConfig } = await import('../../models/zoo.js');
  const { autoAnchor } = await import('../../tasks/detect/anchors.js');
  const { Rng } = await import('../../util/rng.js');
  const cfg = resolveModelConfig(args.string('model') ?? 'yolor-n');
  const imgsz = args.number('imgsz') ?? cfg.dims.imgsz;
  const ds = loadDetectionDataset(dataSpec);
  const images = datasetSplit(ds, args.string('split') ?? 'train');
  const wh = boxSizesAtImageSize(images, imgsz);
  const result = autoAnchor(wh, cfg.anchors, {
    rng: new Rng(args.number('seed') ?? 0), thr: args.number('thr') ?? 4, minBpr: args.boolean('force') ? 1.01 : 0.98,
    progress: !args.boolean('json'),
  });
  if (args.boolean('json')) {
    process.stdout.write(`${JSON.stringify({ data: ds.source, split: args.string('split'), images: images.length, boxes: wh.length / 2,
      imgsz, model: cfg.name, ...result, dropped: ds.bad })}\n`);
    return 0;
  }
  const fmt = (m: { bpr: number; aat: number; fitness: number }) => [m.bpr.toFixed(4), m.aat.toFixed(3), m.fitness.toFixed(4)];
  process.stdout.write(`${ds.source} (${images.length} images, ${wh.length / 2} boxes at ${imgsz} px) vs ${cfg.name}'s anchors\n\n`);
  process.stdout.write(`${formatTable([['before', ...fmt(result.before)], ['after', ...fmt(result.after)]],
    { header: ['anchors', 'best possible recall', 'anchors above thr', 'fitness'], align: ['left', 'right', 'right', 'right'] })}\n\n`);
  if (result.changed) {
    process.stdout.write('new anchors (paste into the model config):\nanchors:\n');
    for (const level of result.anchors) process.stdout.write(`  - [${level.map(([w, h]) => `${Math.round(w)},${Math.round(h)}`).join(', ')}]\n`);
  } else {
    process.stdout.write(result.recomputed ? 'current anchors kept: re-estimated ones were not better\n'
      : 'current anchors fit (best possible recall ≥ 0.98): kept\n');
  }
  if (ds.bad.length > 0) process.stdout.write(`\n${ds.bad.length} bad annotations were not used (see 'yolor data stats')\n`);
  return 0;
}

export const dataCommand: Command = {
  name: 'data',
  summary: 'inspect, convert and analyse datasets (anchors available; stats, convert, preview planned)',
  usage: 'yolor data <stats|convert|preview|anchors> --data <PATH> [options]',
  description:
    'anchors: best possible recall and anchors-above-threshold of a model\'s anchors on the dataset\'s\n' +
    'boxes (scaled to --imgsz), re-estimated by k-means (1 - IoU) and a genetic refinement when recall\n' +
    'is below 0.98 (--force: always). stats, convert, preview: planned.',
  positionals: [
    { name: 'action', description: 'what to do', required: true, choices: ['stats', 'convert', 'preview', 'anchors'] },
  ],
  options: [
    { name: 'data', type: 'string', valueName: 'PATH', description: 'dataset (Pascal VOC root folder)' },
    { name: 'split', type: 'enum', choices: ['train', 'val', 'test', 'all'], default: 'train', description: 'dataset split' },
    { name: 'model', type: 'string', valueName: 'NAME|FILE', description: 'model whose anchors to check (default yolor-n)' },
    { name: 'imgsz', type: 'int', valueName: 'PX', description: 'training image size (default: the model\'s)' },
    { name: 'thr', type: 'number', valueName: 'X', default: 4, description: 'anchor-box width/height ratio threshold' },
    { name: 'force', type: 'boolean', default: false, description: 're-estimate anchors even when recall ≥ 0.98' },
    { name: 'seed', type: 'int', valueName: 'N', default: 0, description: 'seed for k-means and evolution' },
    { name: 'json', type: 'boolean', default: false, description: 'print the result as one JSON object' },
  ],
  async run(args) {
    const action = args.positionals[0];
    if (action === 'anchors') return anchorsAction(args);
    return notAvailableYet();
  },
};
