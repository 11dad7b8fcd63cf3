/** Turns a dataset record into a decoded Sample (labels in the image's pixel coordinates). */
import { decodeImage } from './image-io.js';
import type { ImageRecord, Sample } from './types.js';

export async function recordToSample(record: ImageRecord): Promise<Sample> {
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
  return { image, boxes, cls, file: record.file };
}
