// The optimiser's and EMA's per-variable updates in one pass (engine/kernels/optimizer-steps.ts
// documents the arithmetic). Compiled without FMA contraction: every product and sum is
// rounded to float32 as in the composite tfjs ops, so results are bit-identical to them.
#pragma once
#include <cstdint>

namespace yolor {

// x' = x − (g₁ + m'·μ)·lr with g₁ = g + x·wd (wd > 0), m' = m·μ + g₁.
void sgd_step(const float* x, const float* m, const float* g, int64_t n, float lr, float mu, float wd, float* x_out,
              float* m_out);

// out = s·d + x·e (e = 1 − d, rounded to float32 by the caller).
void ema_step(const float* s, const float* x, int64_t n, float d, float e, float* out);

}  // namespace yolor
