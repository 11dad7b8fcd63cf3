/**
 * The COCO format: an instances .json file, or a folder of
 * `instances_<split>.json` files (in it or in its annotations/), one split
 * each. Read by ./read.ts (synchronously too: images without width/height in
 * the JSON are then reported and left out), written by ./write.ts;
 * segmentations are in ./segmentation.ts.
 */
import type { DatasetFormat, FormatMatch } from '../format.js';
import { checkCocoInstances, cocoDirFiles, readCoco, readCocoSync, readJsonFile } from './read.js';
import { writeCoco } from './write.js';

/** `json`: the parsed file when `path` is a JSON file (read once, not twice). */
export interface CocoMatch extends FormatMatch<'coco'> {
  json?: unknown;
}

export const cocoFormat = {
  name: 'coco',
  describe: {
    entry: 'a COCO instances .json',
    folder: 'a COCO folder (instances_*.json)',
    notFolder: 'a folder without instances_*.json (in it or in annotations/): not a COCO dataset folder',
  },
  extensions: ['.json'],
  detect: (path, ctx) => {
    if (ctx.folder) return cocoDirFiles(path).length > 0 ? { format: 'coco', path } : null;
    const json = readJsonFile(path);
    checkCocoInstances(json, ctx.spec);
    return { format: 'coco', path, json };
  },
  read: (match, opts) => readCoco(match.path, { imageDir: opts.imageDir, concurrency: opts.concurrency, json: match.json }),
  readSync: (match, opts) => readCocoSync(match.path, { imageDir: opts.imageDir, json: match.json }),
  write: writeCoco,
} satisfies DatasetFormat<'coco', CocoMatch>;
