import { notAvailableYet } from '../args.js';
import type { Command } from '../command.js';

export const infoCommand: Command = {
  name: 'info',
  summary: 'describe model architectures: layers, parameters, FLOPs (planned)',
  usage: 'yolor info [--list | --model <NAME|FILE>] [options]',
  description: 'Prints the layer table, parameter count and GFLOPs of a model at a given image size.',
  options: [
    { name: 'list', type: 'boolean', default: false, description: 'list the built-in model configurations' },
    { name: 'model', type: 'string', valueName: 'NAME|FILE', description: 'built-in model name or model config file' },
    { name: 'imgsz', type: 'int', valueName: 'PX', default: 640, description: 'image size for the FLOPs count' },
    { name: 'json', type: 'boolean', default: false, description: 'print the result as one JSON object' },
  ],
  run: async () => notAvailableYet(),
};
