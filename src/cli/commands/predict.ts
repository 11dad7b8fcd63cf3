import { notAvailableYet } from '../args.js';
import type { Command } from '../command.js';

export const predictCommand: Command = {
  name: 'predict',
  summary: 'detect objects in images with trained weights (planned)',
  usage: 'yolor predict --weights <FILE> --source <PATH> [options]',
  description: 'Runs detection on an image, a directory of images or a glob, and writes annotated results.',
  options: [
    { name: 'weights', type: 'string', valueName: 'FILE', description: 'trained weights' },
    { name: 'source', type: 'string', valueName: 'PATH', description: 'image file, directory or glob' },
    { name: 'conf', type: 'number', valueName: 'P', default: 0.25, description: 'confidence threshold' },
    { name: 'iou', type: 'number', valueName: 'IOU', default: 0.45, description: 'NMS IoU threshold' },
    { name: 'max-det', type: 'int', valueName: 'N', default: 300, description: 'maximum detections per image' },
    { name: 'save-txt', type: 'boolean', default: false, description: 'save YOLO-format label files' },
    { name: 'save-json', type: 'boolean', default: false, description: 'save detections as COCO-format JSON' },
  ],
  run: async () => notAvailableYet(),
};
