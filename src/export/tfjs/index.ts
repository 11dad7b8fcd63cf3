/**
 * TF.js graph-model export of a detector: trace (../trace-detector.ts) →
 * GraphDef JSON + weights (convert.ts, one rule per kernel in ops.ts) →
 * model.json + group1-shard1of1.bin written atomically (export.ts), loadable
 * with `tf.loadGraphModel` in Node (load.ts) and in browsers.
 */
export { graphToTfjs, TFJS_INPUT, TFJS_MODEL_JSON, TFJS_OUTPUT, TFJS_SHARD, type TfjsGraphOptions, type TfjsModelJson } from './convert.js';
export { type ExportTfjsOptions, type ExportTfjsResult, exportTfjs, readTfjsMetadata } from './export.js';
export { loadTfjsDetector, type TfjsDetector } from './load.js';
export { RULES as TFJS_RULES } from './ops.js';
