/**
 * The error every exporter throws for a graph it cannot export exactly: it names
 * the kernel, the model layer that ran it and the format, so the user knows
 * which part of the architecture to change (or which format to use instead).
 */
import type { TraceNode } from './trace.js';

export class UnsupportedExportError extends Error {
  constructor(
    readonly format: string,
    readonly node: Pick<TraceNode, 'kernel' | 'layer' | 'layerType'>,
    detail = 'has no exact equivalent',
  ) {
    super(`cannot export to ${format}: op ${node.kernel} in layer ${node.layer} (${node.layerType}) ${detail}`);
    this.name = 'UnsupportedExportError';
  }
}
