import { notAvailableYet } from '../args.js';
import type { Command } from '../command.js';

export const exportCommand: Command = {
  name: 'export',
  summary: 'export trained weights to ONNX or a TensorFlow.js graph model (planned)',
  usage: 'yolor export --weights <FILE> [--format onnx|tfjs] [options]',
  description:
    'Converts trained weights for deployment. By default BatchNorm and the implicit-knowledge\n' +
    'terms are folded into the convolutions, which leaves the outputs unchanged.',
  options: [
    { name: 'weights', type: 'string', valueName: 'FILE', description: 'trained weights to export' },
    { name: 'format', type: 'enum', choices: ['onnx', 'tfjs'], default: 'tfjs', description: 'output format' },
    { name: 'imgsz', type: 'int', valueName: 'PX', default: 640, description: 'input image size' },
    { name: 'batch', type: 'int', valueName: 'N', default: 1, description: 'static batch size' },
    { name: 'dynamic', type: 'boolean', default: false, description: 'dynamic batch and image size axes' },
    { name: 'fuse', type: 'boolean', default: true, description: 'fold BatchNorm and implicit knowledge into convolutions' },
    { name: 'nms', type: 'boolean', default: false, description: 'include non-maximum suppression in the graph' },
    { name: 'output', type: 'string', valueName: 'PATH', description: 'output path (default: next to the weights)' },
  ],
  run: async () => notAvailableYet(),
};
