// N-API bindings: every function takes typed-array views (normally of the wasm heap)
// and works in place on them; shapes are passed as numbers and checked against the
// views' lengths, so a wrong call throws a JavaScript error instead of reading past a buffer.
#include <node_api.h>
#include <omp.h>

#include <cstdint>
#include <exception>
#include <string>

#include "conv.h"
#include "norm_act.h"
#include "optimizer_steps.h"
#include "tensor_ops.h"
#ifdef YOLOR_ONEDNN
#include "oneapi/dnnl/dnnl.hpp"
#endif

namespace {

struct JsError {
  std::string message;
};

#define NAPI_OK(call)                                   \
  do {                                                  \
    if ((call) != napi_ok) throw JsError{"N-API call failed: " #call}; \
  } while (0)

struct Args {
  napi_env env;
  size_t argc = 16;
  napi_value argv[16];
  Args(napi_env e, napi_callback_info info, size_t want) : env(e) {
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
    if (argc < want) throw JsError{"expected " + std::to_string(want) + " arguments, got " + std::to_string(argc)};
  }
  int64_t i64(size_t k) {
    int64_t v;
    if (napi_get_value_int64(env, argv[k], &v) != napi_ok) throw JsError{"argument " + std::to_string(k) + " must be a number"};
    return v;
  }
  bool is_null(size_t k) {
    napi_valuetype t;
    NAPI_OK(napi_typeof(env, argv[k], &t));
    return t == napi_null || t == napi_undefined;
  }
  template <typename T>
  T* typed(size_t k, napi_typedarray_type want, int64_t need, const char* what) {
    bool is = false;
    NAPI_OK(napi_is_typedarray(env, argv[k], &is));
    if (!is) throw JsError{std::string(what) + " must be a typed array"};
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value ab;
    size_t offset;
    NAPI_OK(napi_get_typedarray_info(env, argv[k], &type, &length, &data, &ab, &offset));
    if (type != want) throw JsError{std::string(what) + " has the wrong element type"};
    if (static_cast<int64_t>(length) < need)
      throw JsError{std::string(what) + " holds " + std::to_string(length) + " elements, needs " + std::to_string(need)};
    return static_cast<T*>(data);
  }
  float* f32(size_t k, int64_t need, const char* what) { return typed<float>(k, napi_float32_array, need, what); }
  double* f64(size_t k, int64_t need, const char* what) { return typed<double>(k, napi_float64_array, need, what); }
};

yolor::ConvDesc conv_desc(Args& a, size_t k) {
  int32_t* v = a.typed<int32_t>(k, napi_int32_array, 16, "convolution geometry");
  yolor::ConvDesc d{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]};
  if (d.groups < 1 || d.ic % d.groups != 0 || d.oc % d.groups != 0) throw JsError{"bad convolution groups"};
  return d;
}

int64_t src_size(const yolor::ConvDesc& d) { return d.n * d.h * d.w * d.ic; }
int64_t dst_size(const yolor::ConvDesc& d) { return d.n * d.oh * d.ow * d.oc; }
int64_t wei_size(const yolor::ConvDesc& d) { return d.kh * d.kw * (d.ic / d.groups) * d.oc; }

yolor::Act act_of(Args& a, size_t k) {
  const int64_t v = a.i64(k);
  if (v < 0 || v > 3) throw JsError{"unknown activation code " + std::to_string(v)};
  return static_cast<yolor::Act>(v);
}

template <typename F>
napi_value guarded(napi_env env, F f) {
  try {
    return f();
  } catch (const JsError& e) {
    napi_throw_error(env, nullptr, e.message.c_str());
#ifdef YOLOR_ONEDNN
  } catch (const dnnl::error& e) {
    napi_throw_error(env, nullptr, (std::string("oneDNN: ") + e.what()).c_str());
#endif
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value str(napi_env env, const std::string& s) {
  napi_value v;
  NAPI_OK(napi_create_string_utf8(env, s.c_str(), s.size(), &v));
  return v;
}

#ifdef YOLOR_ONEDNN
const char* isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    default: return "other";
  }
}

const char* isa() { return isa_name(dnnl::get_effective_cpu_isa()); }
#else
// The ISA this build was compiled for (-march=native): the built-in kernels' vector width.
const char* isa() {
#if defined(__AVX512F__)
  return "avx512 (built-in kernels)";
#elif defined(__AVX2__)
  return "avx2 (built-in kernels)";
#elif defined(__AVX__)
  return "avx (built-in kernels)";
#else
  return "sse (built-in kernels)";
#endif
}
#endif

napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    napi_value o, n;
    NAPI_OK(napi_create_object(env, &o));
    NAPI_OK(napi_set_named_property(env, o, "library", str(env, yolor::library_version())));
    NAPI_OK(napi_set_named_property(env, o, "isa", str(env, isa())));
    NAPI_OK(napi_create_int32(env, omp_get_max_threads(), &n));
    NAPI_OK(napi_set_named_property(env, o, "threads", n));
    return o;
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 1);
    const int64_t n = a.i64(0);
    if (n < 1) throw JsError{"threads must be at least 1"};
    omp_set_num_threads(static_cast<int>(n));
    return undefined(env);
  });
}

napi_value ConvForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 4);
    const auto d = conv_desc(a, 0);
    yolor::conv_forward(d, a.f32(1, src_size(d), "x"), a.f32(2, wei_size(d), "filter"), a.f32(3, dst_size(d), "y"));
    return undefined(env);
  });
}

napi_value ConvBackwardData(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 4);
    const auto d = conv_desc(a, 0);
    yolor::conv_backward_data(d, a.f32(1, dst_size(d), "dy"), a.f32(2, wei_size(d), "filter"), a.f32(3, src_size(d), "dx"));
    return undefined(env);
  });
}

napi_value ConvBackwardWeights(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 4);
    const auto d = conv_desc(a, 0);
    yolor::conv_backward_weights(d, a.f32(1, src_size(d), "x"), a.f32(2, dst_size(d), "dy"), a.f32(3, wei_size(d), "dfilter"));
    return undefined(env);
  });
}

napi_value ConvImpl(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 2);
    const auto d = conv_desc(a, 0);
    const int64_t p = a.i64(1);
    if (p < 0 || p > 2) throw JsError{"pass must be 0 (forward), 1 (backward data) or 2 (backward weights)"};
    return str(env, yolor::conv_impl(d, static_cast<yolor::ConvPass>(p)));
  });
}

// channelSums(x, batch, pixels, channels, center | null, out: Float64Array)
napi_value ChannelSums(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 6);
    const int64_t b = a.i64(1), p = a.i64(2), c = a.i64(3);
    const float* center = a.is_null(4) ? nullptr : a.f32(4, c, "center");
    yolor::channel_sums(a.f32(0, b * p * c, "x"), b, p, c, center, a.f64(5, c, "out"));
    return undefined(env);
  });
}

// bnActForward(x, rows, channels, mean, rstd, gamma, beta, act, y)
napi_value BnActForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 9);
    const int64_t r = a.i64(1), c = a.i64(2);
    yolor::bn_act_forward(a.f32(0, r * c, "x"), r, c, a.f32(3, c, "mean"), a.f32(4, c, "rstd"), a.f32(5, c, "gamma"),
                          a.f32(6, c, "beta"), act_of(a, 7), a.f32(8, r * c, "y"));
    return undefined(env);
  });
}

// bnActBackwardSums(x, dy, batch, pixels, channels, mean, rstd, gamma, beta, act, sumDp, sumDpXhat)
napi_value BnActBackwardSums(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 12);
    const int64_t b = a.i64(2), p = a.i64(3), c = a.i64(4);
    yolor::bn_act_backward_sums(a.f32(0, b * p * c, "x"), a.f32(1, b * p * c, "dy"), b, p, c, a.f32(5, c, "mean"),
                                a.f32(6, c, "rstd"), a.f32(7, c, "gamma"), a.f32(8, c, "beta"), act_of(a, 9),
                                a.f64(10, c, "sumDp"), a.f64(11, c, "sumDpXhat"));
    return undefined(env);
  });
}

// bnActBackwardDx(x, dy, rows, channels, mean, rstd, gamma, beta, act, meanDp, meanDpXhat, dx)
napi_value BnActBackwardDx(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 12);
    const int64_t r = a.i64(2), c = a.i64(3);
    yolor::bn_act_backward_dx(a.f32(0, r * c, "x"), a.f32(1, r * c, "dy"), r, c, a.f32(4, c, "mean"), a.f32(5, c, "rstd"),
                              a.f32(6, c, "gamma"), a.f32(7, c, "beta"), act_of(a, 8), a.f32(9, c, "meanDp"),
                              a.f32(10, c, "meanDpXhat"), a.f32(11, r * c, "dx"));
    return undefined(env);
  });
}

// actForward(x, n, act, y); actBackward(x, dy, n, act, dx)
napi_value ActForward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 4);
    const int64_t n = a.i64(1);
    yolor::act_forward(a.f32(0, n, "x"), n, act_of(a, 2), a.f32(3, n, "y"));
    return undefined(env);
  });
}

napi_value ActBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 5);
    const int64_t n = a.i64(2);
    yolor::act_backward(a.f32(0, n, "x"), a.f32(1, n, "dy"), n, act_of(a, 3), a.f32(4, n, "dx"));
    return undefined(env);
  });
}

// maxPoolBackward(geometry: Int32Array [n, h, w, c, oh, ow, fh, fw, sh, sw, dh, dw, padTop, padLeft], x, dy, dx)
napi_value MaxPoolBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 4);
    int32_t* v = a.typed<int32_t>(0, napi_int32_array, 14, "pooling geometry");
    int64_t g[14];
    for (int i = 0; i < 14; i++) g[i] = v[i];
    for (int i = 0; i < 12; i++)
      if (g[i] < (i < 4 ? 0 : 1)) throw JsError{"pooling geometry entry " + std::to_string(i) + " is " + std::to_string(g[i])};
    const int64_t in = g[0] * g[1] * g[2] * g[3], out = g[0] * g[4] * g[5] * g[3];
    yolor::max_pool_backward(g, a.f32(1, in, "x"), a.f32(2, out, "dy"), a.f32(3, in, "dx"));
    return undefined(env);
  });
}

// copyColumns(src, srcStride, dst, dstStride, rows, width): rows of `width` floats between strided views
napi_value CopyColumns(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 6);
    const int64_t ss = a.i64(1), ds = a.i64(3), rows = a.i64(4), width = a.i64(5);
    if (rows < 0 || width < 0 || ss < width || ds < width) throw JsError{"copyColumns: bad rows, width or strides"};
    if (rows == 0 || width == 0) return undefined(env);
    const float* src = a.f32(0, (rows - 1) * ss + width, "src");
    float* dst = a.f32(2, (rows - 1) * ds + width, "dst");
    yolor::copy_columns(src, ss, dst, ds, rows, width);
    return undefined(env);
  });
}

// resizeNearestBackward(dy, [b, oh, ow, c, h, w], rows: Int32Array(oh), cols: Int32Array(ow), dx)
napi_value ResizeNearestBackward(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 5);
    int32_t* g = a.typed<int32_t>(1, napi_int32_array, 6, "resize geometry");
    const int64_t b = g[0], oh = g[1], ow = g[2], c = g[3], h = g[4], w = g[5];
    if (b < 0 || oh < 0 || ow < 0 || c < 0 || h < 1 || w < 1) throw JsError{"bad resize geometry"};
    const int32_t* rows = a.typed<int32_t>(2, napi_int32_array, oh, "rows");
    const int32_t* cols = a.typed<int32_t>(3, napi_int32_array, ow, "cols");
    for (int64_t i = 0; i < oh; i++)
      if (rows[i] < 0 || rows[i] >= h) throw JsError{"rows[" + std::to_string(i) + "] is out of range"};
    for (int64_t i = 0; i < ow; i++)
      if (cols[i] < 0 || cols[i] >= w) throw JsError{"cols[" + std::to_string(i) + "] is out of range"};
    yolor::resize_nearest_backward(a.f32(0, b * oh * ow * c, "dy"), b, oh, ow, c, h, w, rows, cols, a.f32(4, b * h * w * c, "dx"));
    return undefined(env);
  });
}

double num(Args& a, size_t k) {
  double v;
  if (napi_get_value_double(a.env, a.argv[k], &v) != napi_ok) throw JsError{"argument " + std::to_string(k) + " must be a number"};
  return v;
}

// sgdStep(x, m, g, n, lr, momentum, weightDecay, xOut, mOut): scalars rounded to float32 as tfjs's scalar tensors are
napi_value SgdStep(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 9);
    const int64_t n = a.i64(3);
    yolor::sgd_step(a.f32(0, n, "x"), a.f32(1, n, "m"), a.f32(2, n, "g"), n, static_cast<float>(num(a, 4)),
                    static_cast<float>(num(a, 5)), static_cast<float>(num(a, 6)), a.f32(7, n, "xOut"), a.f32(8, n, "mOut"));
    return undefined(env);
  });
}

// emaStep(shadow, x, n, decay, oneMinusDecay, out)
napi_value EmaStep(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    Args a(env, info, 6);
    const int64_t n = a.i64(2);
    yolor::ema_step(a.f32(0, n, "shadow"), a.f32(1, n, "x"), n, static_cast<float>(num(a, 3)), static_cast<float>(num(a, 4)),
                    a.f32(5, n, "out"));
    return undefined(env);
  });
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convForward", nullptr, ConvForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardData", nullptr, ConvBackwardData, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convBackwardWeights", nullptr, ConvBackwardWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convImpl", nullptr, ConvImpl, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"channelSums", nullptr, ChannelSums, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnActForward", nullptr, BnActForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnActBackwardSums", nullptr, BnActBackwardSums, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnActBackwardDx", nullptr, BnActBackwardDx, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"actForward", nullptr, ActForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"actBackward", nullptr, ActBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolBackward", nullptr, MaxPoolBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"resizeNearestBackward", nullptr, ResizeNearestBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgdStep", nullptr, SgdStep, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"emaStep", nullptr, EmaStep, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyColumns", nullptr, CopyColumns, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE_INIT() { return Init(env, exports); }
