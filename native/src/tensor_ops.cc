#include "tensor_ops.h"

#include <omp.h>

#include <cstring>
#include <limits>

namespace yolor {

void max_pool_backward(const int64_t* g, const float* x, const float* dy, float* dx) {
  const int64_t n = g[0], h = g[1], w = g[2], c = g[3], oh = g[4], ow = g[5], fh = g[6], fw = g[7];
  const int64_t sh = g[8], sw = g[9], dh = g[10], dw = g[11], pt = g[12], pl = g[13];
  std::memset(dx, 0, sizeof(float) * static_cast<size_t>(n * h * w * c));
  // Windows overlap across output pixels but never across images or channels: one task per
  // (image, block of channels), each scanning every output pixel for its channels.
  constexpr int64_t kChannelBlock = 16;
  const int64_t blocks = (c + kChannelBlock - 1) / kChannelBlock;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < n * blocks; t++) {
    const int64_t b = t / blocks;
    const int64_t c0 = (t % blocks) * kChannelBlock;
    const int64_t c1 = c0 + kChannelBlock < c ? c0 + kChannelBlock : c;
    const float* xb = x + b * h * w * c;
    float* dxb = dx + b * h * w * c;
    for (int64_t y = 0; y < oh; y++) {
      const int64_t r0 = y * sh - pt;
      for (int64_t xo = 0; xo < ow; xo++) {
        const int64_t q0 = xo * sw - pl;
        const float* g_row = dy + ((b * oh + y) * ow + xo) * c;
        for (int64_t ch = c0; ch < c1; ch++) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t at = -1;
          for (int64_t i = 0; i < fh; i += dh) {
            const int64_t r = r0 + i;
            if (r < 0 || r >= h) continue;
            for (int64_t j = 0; j < fw; j += dw) {
              const int64_t q = q0 + j;
              if (q < 0 || q >= w) continue;
              const int64_t idx = (r * w + q) * c + ch;
              if (xb[idx] > best || at < 0) {
                best = xb[idx];
                at = idx;
              }
            }
          }
          if (at >= 0) dxb[at] += g_row[ch];
        }
      }
    }
  }
}

void copy_columns(const float* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows, int64_t width) {
  const size_t bytes = sizeof(float) * static_cast<size_t>(width);
#pragma omp parallel for schedule(static) if (rows * width > 32768)
  for (int64_t r = 0; r < rows; r++) std::memcpy(dst + r * dst_stride, src + r * src_stride, bytes);
}

void resize_nearest_backward(const float* dy, int64_t b, int64_t oh, int64_t ow, int64_t c, int64_t h, int64_t w,
                             const int32_t* rows, const int32_t* cols, float* dx) {
  std::memset(dx, 0, sizeof(float) * static_cast<size_t>(b * h * w * c));
  // Each input row receives from its own output rows only: one task per (image, input row)
  // would need the inverse map; per image keeps the summation order fixed and is enough.
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < b; n++) {
    for (int64_t y = 0; y < oh; y++) {
      float* row_in = dx + (n * h + rows[y]) * w * c;
      const float* row_out = dy + (n * oh + y) * ow * c;
      for (int64_t x = 0; x < ow; x++) {
        float* to = row_in + static_cast<int64_t>(cols[x]) * c;
        const float* from = row_out + x * c;
#pragma omp simd
        for (int64_t k = 0; k < c; k++) to[k] += from[k];
      }
    }
  }
}

}  // namespace yolor
