import { UsageError } from '../args.js';
import type { Command } from '../command.js';

export const cocoevalCommand: Command = {
  name: 'cocoeval',
  summary: 'score COCO-format detections against ground truth, like pycocotools',
  usage: 'yolor cocoeval --gt <FILE> --dt <FILE> [--json]',
  description:
    'Computes the twelve standard COCO bbox metrics (AP@[.50:.95], AP50, AP75, AP small/medium/large,\n' +
    "AR@1/10/100, AR small/medium/large) with the same algorithm and numbers as pycocotools' COCOeval,\n" +
    'and prints them in its summarize() layout. --json prints {"stats": [12 numbers in that order],\n' +
    '"per_category": {name: {ap, ap50, ap75, apS, apM, apL, ar1, ar10, ar100, arS, arM, arL, ...}}};\n' +
    '-1 marks a number that is undefined (no ground truth in that area range).',
  options: [
    { name: 'gt', type: 'string', valueName: 'FILE', description: 'ground-truth annotations (COCO instances JSON)' },
    { name: 'dt', type: 'string', valueName: 'FILE', description: 'detections (COCO results JSON: [{image_id, category_id, bbox, score}])' },
    { name: 'json', type: 'boolean', default: false, description: 'print the metrics as one JSON object' },
  ],
  async run(args) {
    const gtPath = args.string('gt');
    const dtPath = args.string('dt');
    if (!gtPath && !dtPath) throw new UsageError('missing --gt FILE and --dt FILE');
    if (!gtPath) throw new UsageError('missing --gt FILE');
    if (!dtPath) throw new UsageError('missing --dt FILE');
    const { loadCocoGt, loadCocoDetections } = await import('../../eval/coco-json.js');
    const { evaluateCoco, formatCocoSummary } = await import('../../eval/coco.js');
    const gt = await loadCocoGt(gtPath);
    const dt = await loadCocoDetections(dtPath, gt);
    const result = evaluateCoco(gt, dt);
    if (args.boolean('json')) {
      process.stdout.write(`${JSON.stringify({ stats: result.stats, per_category: result.perCategory })}\n`);
      return 0;
    }
    process.stdout.write(`${formatCocoSummary(result.stats)}\n`);
    return 0;
  },
};
