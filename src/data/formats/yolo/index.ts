/**
 * The Ultralytics (YOLO) format: a dataset .yaml, or a folder with data.yaml /
 * dataset.yaml. Read by ./read.ts (asynchronously only: labels are normalised,
 * so the image sizes are read from the images), written by ./write.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DatasetFormat, FormatMatch } from '../format.js';
import { checkDatasetYaml, readYamlFile, readYolo } from './read.js';
import { writeYolo } from './write.js';

/** `path`: the dataset YAML (also when `--data` named its folder). */
export type YoloMatch = FormatMatch<'yolo'>;

/** The dataset YAML of a folder: data.yaml, dataset.yaml (or .yml), the first that exists. */
export function datasetYamlIn(dir: string): string | undefined {
  return ['data.yaml', 'dataset.yaml', 'data.yml', 'dataset.yml'].map((f) => join(dir, f)).find((f) => existsSync(f));
}

export const yoloFormat = {
  name: 'yolo',
  describe: {
    entry: 'an Ultralytics dataset .yaml',
    folder: 'an Ultralytics dataset folder (data.yaml)',
    notFolder: 'a folder without data.yaml or dataset.yaml: pass the Ultralytics dataset YAML',
  },
  extensions: ['.yaml', '.yml'],
  partFiles: { '.txt': 'a list file; pass the dataset YAML that names it' },
  detect: (path, ctx) => {
    if (ctx.folder) {
      const yaml = datasetYamlIn(path);
      return yaml ? { format: 'yolo', path: yaml } : null;
    }
    checkDatasetYaml(readYamlFile(path, ctx.spec), ctx.spec);
    return { format: 'yolo', path };
  },
  read: (match, opts) => readYolo(match.path, { concurrency: opts.concurrency }),
  asyncOnly: 'YOLO datasets need image sizes read from the images',
  write: writeYolo,
} satisfies DatasetFormat<'yolo', YoloMatch>;
