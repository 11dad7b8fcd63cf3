// Memory-bound tensor kernels of a training step that tfjs-wasm runs single-threaded
// (or in JavaScript): max-pool backward, channel-axis concat and split, leading-axes sums.
#pragma once
#include <cstdint>

namespace yolor {

// NHWC max-pool backward: each output gradient goes to the first maximum of its window
// (row-major order; padding never wins), as src/engine/kernels/max-pool-grad.ts.
// g = [n, h, w, c, oh, ow, fh, fw, sh, sw, dh, dw, pad_top, pad_left] (fh, fw: effective,
// dilated sizes). dx is overwritten.
void max_pool_backward(const int64_t* g, const float* x, const float* dy, float* dx);

// Copies `rows` rows of `width` floats from src (row stride src_stride) to dst (row stride
// dst_stride): one input of a last-axis concat, or one output of a last-axis split.
void copy_columns(const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows, int64_t width);

// Nearest-neighbour resize backward, NHWC: dx[b, rows[y], cols[x], :] += dy[b, y, x, :]
// (rows, cols: the source index the forward resize read for each output row and column).
// dx [b, h, w, c] is overwritten.
void resize_nearest_backward(const float* dy, int64_t b, int64_t oh, int64_t ow, int64_t c, int64_t h, int64_t w,
                             const int32_t* rows, const int32_t* cols, float* dx);

}  // namespace yolor
