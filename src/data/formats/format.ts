/**
 * What a dataset format is to the rest of the package: how to recognise it on
 * disk, how to read it (asynchronously, and synchronously where it can), what
 * to say when a path is not one, and optionally how to write a dataset in it.
 * The formats are listed in ./registry.ts; `--data` resolution (../resolve.ts)
 * and `yolor data convert` go through that list only.
 */
import type { DetectionDataset } from '../types.js';
import type { WriteOptions, WriteResult } from './writing.js';

/** What a detector found: the format and the path to read (plus, per format, what it learnt on the way). */
export interface FormatMatch<N extends string = string> {
  format: N;
  /** Absolute path of what to read: the dataset folder or the format's entry file. */
  path: string;
}

export interface DetectContext {
  /** The `--data` value as given: error messages name it. */
  spec: string;
  /** Whether the path is a folder (else a file). */
  folder: boolean;
}

/** Reader options; a format ignores those it has no use for. */
export interface FormatReadOptions {
  /** COCO: the folder image file_names are relative to. */
  imageDir?: string;
  /** Concurrency of image-header reads (YOLO, COCO without sizes). */
  concurrency?: number;
}

/** A kind of dataset that `--data` can name: how to recognise one and how to read it. */
export interface DatasetReader<N extends string = string, M extends FormatMatch<N> = FormatMatch<N>> {
  readonly name: N;
  /**
   * The dataset at `path` (absolute, existing) in this format, or null when it
   * is not one. A file is only handed to the formats that claim its extension
   * (or to the one asked for): one with the wrong content throws, naming the
   * file and what is wrong with it.
   */
  detect(path: string, ctx: DetectContext): M | null;
  read(match: M, opts: FormatReadOptions): Promise<DetectionDataset>;
  /** The synchronous read (`loadDetectionDataset`), where the format can do without awaiting. */
  readSync?(match: M, opts: FormatReadOptions): DetectionDataset;
  /** Without `readSync`: why (e.g. 'YOLO datasets need image sizes read from the images'). */
  readonly asyncOnly?: string;
}

/** A dataset format of the registry: `--from` can ask for it, and where it has a writer, `--to`. */
export interface DatasetFormat<N extends string = string, M extends FormatMatch<N> = FormatMatch<N>> extends DatasetReader<N, M> {
  /** What the detector looks for, in the words of the error messages. */
  readonly describe: {
    /** The dataset as `--data` names it, in "expected ..." lists: 'a COCO instances .json'. */
    entry: string;
    /** Its folder, in "a folder, but not ..." lists: 'a COCO folder (instances_*.json)'. */
    folder: string;
    /** Said of a folder read as this format (`--from`) that is not one. */
    notFolder: string;
    /** Said of a file read as this format that is not one (formats whose entry is a file check its content instead). */
    notFile?: string;
  };
  /** File extensions (lower case, with the dot) that detection hands to this format. */
  readonly extensions: readonly string[];
  /** Files that belong to such a dataset but do not name it, by extension: what to pass instead. */
  readonly partFiles?: Readonly<Record<string, string>>;
  /** Writes `ds` as a self-contained folder `dir` in this format (see ./writing.ts). */
  write?(ds: DetectionDataset, dir: string, opts?: WriteOptions): WriteResult;
}
