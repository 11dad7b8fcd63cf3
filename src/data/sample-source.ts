/**
 * Turns a dataset record into a decoded Sample (labels in the image's pixel coordinates).
 *
 * Records reach the loader's worker threads structured-cloned (plain data, no
 * methods or classes), so the kind of record is recognised by its fields: a
 * generated-dataset record (`InstanceImageRecord`: `rle`, `colors`,
 * `numClasses`, `numAttributes`) can also give masks, identities, colour
 * attributes and image-level labels.
 */
import { type InstanceImageRecord, loadInstanceSample } from './datasets/instances.js';
import { decodeImage } from './image-io.js';
import type { ImageRecord, Sample } from './types.js';

export interface RecordToSampleOptions {
  /**
   * Also read the per-instance labels of the other tasks: masks (decoded RLE),
   * identities, attributes and image-level labels for a generated-dataset
   * record; identities (−1 when unknown) for any other record. Default true;
   * detection-only loading passes false and gets boxes and classes only.
   */
  instances?: boolean;
}

/** Whether a (possibly structured-cloned) record is a generated dataset's `InstanceImageRecord`. */
export function isInstanceRecord(record: ImageRecord): record is InstanceImageRecord {
  const r = record as Partial<InstanceImageRecord>;
  return Array.isArray(r.rle) && Array.isArray(r.colors) && typeof r.numClasses === 'number' && typeof r.numAttributes === 'number';
}

export async function recordToSample(record: ImageRecord, opts: RecordToSampleOptions = {}): Promise<Sample> {
  const instances = opts.instances ?? true;
  if (instances && isInstanceRecord(record)) {
    const n = record.annotations.length;
    if (record.rle.length !== n || record.colors.length !== n) {
      throw new Error(`${record.file}: ${n} annotations but ${record.rle.length} masks and ${record.colors.length} colours`);
    }
    return loadInstanceSample(record);
  }
  const image = await decodeImage(record.file);
  if (image.width !== record.width || image.height !== record.height) {
    // Annotations are in the annotated size; a differently sized file would misplace every box.
    const sx = image.width / record.width;
    const sy = image.height / record.height;
    if (Math.abs(sx - 1) > 1e-6 || Math.abs(sy - 1) > 1e-6) {
      throw new Error(`${record.file}: image is ${image.width}x${image.height} but its annotation says ${record.width}x${record.height}`);
    }
  }
  const n = record.annotations.length;
  const boxes = new Float32Array(n * 4);
  const cls = new Int32Array(n);
  record.annotations.forEach((a, i) => {
    boxes.set(a.box, i * 4);
    cls[i] = a.cls;
  });
  const sample: Sample = { image, boxes, cls, file: record.file };
  if (instances) sample.identity = Int32Array.from(record.annotations, (a) => a.identity ?? -1);
  return sample;
}
