import { notAvailableYet } from '../args.js';
import type { Command } from '../command.js';

export const dataCommand: Command = {
  name: 'data',
  summary: 'inspect, convert and analyse datasets (planned)',
  usage: 'yolor data <stats|convert|preview|anchors> --data <FILE> [options]',
  description:
    'stats: label counts and box size distribution; convert: COCO JSON <-> YOLO text labels;\n' +
    'preview: render augmented samples; anchors: fit anchors to the dataset with k-means.',
  positionals: [
    { name: 'action', description: 'what to do', required: true, choices: ['stats', 'convert', 'preview', 'anchors'] },
  ],
  options: [
    { name: 'data', type: 'string', valueName: 'FILE', description: 'dataset config (YAML)' },
    { name: 'split', type: 'enum', choices: ['train', 'val', 'test'], default: 'train', description: 'dataset split' },
    { name: 'json', type: 'boolean', default: false, description: 'print the result as one JSON object' },
  ],
  run: async () => notAvailableYet(),
};
