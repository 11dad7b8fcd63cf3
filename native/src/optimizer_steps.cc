// No FMA contraction in this file: a·b + c must round twice, as the tfjs ops do.
#pragma GCC optimize("fp-contract=off")
#include "optimizer_steps.h"

#include <omp.h>

namespace yolor {

void sgd_step(const float* x, const float* m, const float* g, int64_t n, float lr, float mu, float wd, float* x_out,
              float* m_out) {
  const bool decay = wd > 0.0f;
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) {
    const float xi = x[i];
    const float xw = xi * wd;
    const float g1 = decay ? g[i] + xw : g[i];
    const float mm = m[i] * mu;
    const float v = mm + g1;
    const float vm = v * mu;
    const float step = g1 + vm;
    const float scaled = step * lr;
    m_out[i] = v;
    x_out[i] = xi - scaled;
  }
}

void ema_step(const float* s, const float* x, int64_t n, float d, float e, float* out) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; i++) {
    const float a = s[i] * d;
    const float b = x[i] * e;
    out[i] = a + b;
  }
}

}  // namespace yolor
