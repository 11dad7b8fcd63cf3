import { notAvailableYet } from '../args.js';
import type { Command } from '../command.js';

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a YOLOR detector on a dataset (planned)',
  usage: 'yolor train --data <FILE> --model <NAME|FILE> [options]',
  description:
    'Trains a YOLOR model (explicit + implicit knowledge) with mosaic augmentation, EMA weights and\n' +
    'periodic validation; checkpoints go to <project>/<name>/weights.',
  options: [
    { name: 'data', type: 'string', valueName: 'FILE', description: 'dataset config (YAML: train/val paths, class names)' },
    { name: 'model', type: 'string', valueName: 'NAME|FILE', description: 'built-in model name or model config file' },
    { name: 'epochs', type: 'int', valueName: 'N', default: 300, description: 'number of training epochs' },
    { name: 'batch', type: 'int', valueName: 'N', default: 16, description: 'images per batch' },
    { name: 'imgsz', type: 'int', valueName: 'PX', default: 640, description: 'training image size (multiple of the max stride)' },
    { name: 'weights', type: 'string', valueName: 'FILE', description: 'initial weights (default: random initialisation)' },
    { name: 'resume', type: 'boolean', default: false, description: 'resume the interrupted run in <project>/<name>' },
    { name: 'project', type: 'string', valueName: 'DIR', default: 'runs/train', description: 'parent directory of runs' },
    { name: 'name', type: 'string', valueName: 'NAME', default: 'exp', description: 'run directory name under --project' },
    { name: 'seed', type: 'int', valueName: 'N', default: 0, description: 'random seed for initialisation and augmentation' },
    { name: 'workers', type: 'int', valueName: 'N', default: 4, description: 'data loading worker threads' },
    { name: 'optimizer', type: 'enum', choices: ['sgd', 'adamw'], default: 'sgd', description: 'optimizer' },
    { name: 'lr0', type: 'number', valueName: 'LR', default: 0.01, description: 'initial learning rate' },
    { name: 'patience', type: 'int', valueName: 'N', default: 100, description: 'stop after N epochs without mAP improvement' },
    { name: 'cache', type: 'boolean', default: false, description: 'cache decoded images in memory' },
  ],
  run: async () => notAvailableYet(),
};
