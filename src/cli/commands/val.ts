import { notAvailableYet } from '../args.js';
import type { Command } from '../command.js';

export const valCommand: Command = {
  name: 'val',
  summary: 'measure mAP of trained weights on a dataset split (planned)',
  usage: 'yolor val --weights <FILE> --data <FILE> [options]',
  description: 'Runs the model over a dataset split and reports precision, recall, mAP@0.5 and mAP@0.5:0.95.',
  options: [
    { name: 'weights', type: 'string', valueName: 'FILE', description: 'trained weights to evaluate' },
    { name: 'data', type: 'string', valueName: 'FILE', description: 'dataset config (YAML)' },
    { name: 'split', type: 'enum', choices: ['val', 'test'], default: 'val', description: 'dataset split to evaluate' },
    { name: 'imgsz', type: 'int', valueName: 'PX', default: 640, description: 'inference image size' },
    { name: 'conf', type: 'number', valueName: 'P', default: 0.001, description: 'confidence threshold' },
    { name: 'iou', type: 'number', valueName: 'IOU', default: 0.65, description: 'NMS IoU threshold' },
    { name: 'json', type: 'boolean', default: false, description: 'print the metrics as one JSON object' },
  ],
  run: async () => notAvailableYet(),
};
