import { notAvailableYet } from '../args.js';
import type { Command } from '../command.js';

export const cocoevalCommand: Command = {
  name: 'cocoeval',
  summary: 'score COCO-format detections against ground truth (planned)',
  usage: 'yolor cocoeval --gt <FILE> --dt <FILE> [--json]',
  description: 'Computes the twelve standard COCO bbox metrics (AP, AP50, AP75, APs/m/l, AR...) like pycocotools.',
  options: [
    { name: 'gt', type: 'string', valueName: 'FILE', description: 'ground-truth annotations (COCO JSON)' },
    { name: 'dt', type: 'string', valueName: 'FILE', description: 'detections (COCO results JSON)' },
    { name: 'json', type: 'boolean', default: false, description: 'print the metrics as one JSON object' },
  ],
  run: async () => notAvailableYet(),
};
