#include "conv.h"

#include <memory>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include "oneapi/dnnl/dnnl.hpp"

namespace yolor {
namespace {

using dnnl::memory;
using dt = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream s(cpu_engine());
  return s;
}

int64_t pad_after(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t before) {
  return (out - 1) * s + (k - 1) * d + 1 - in - before;
}

memory::desc act_md(int64_t n, int64_t c, int64_t h, int64_t w) {
  return memory::desc({n, c, h, w}, dt::f32, memory::format_tag::nhwc);
}

// The user's filter layout as explicit strides (TensorFlow stores [kh, kw, ic, oc]).
memory::desc user_weights_md(const ConvDesc& d) {
  if (d.groups == 1) {
    // dims (oc, ic, kh, kw)
    return memory::desc({d.oc, d.ic, d.kh, d.kw}, dt::f32, memory::dims{1, d.oc, d.kw * d.ic * d.oc, d.ic * d.oc});
  }
  const int64_t g = d.groups, m = d.oc / d.groups, i = d.ic / d.groups;
  // dims (g, oc/g, ic/g, kh, kw); element ((h·kw + w)·g + gi)·m + o  (i == 1 for depthwise)
  return memory::desc({g, m, i, d.kh, d.kw}, dt::f32, memory::dims{m, 1, g * m, d.kw * g * m, g * m});
}

memory::desc any_weights_md(const ConvDesc& d) {
  if (d.groups == 1) return memory::desc({d.oc, d.ic, d.kh, d.kw}, dt::f32, memory::format_tag::any);
  return memory::desc({d.groups, d.oc / d.groups, d.ic / d.groups, d.kh, d.kw}, dt::f32, memory::format_tag::any);
}

struct Geometry {
  memory::desc src, dst, wei_user, wei_any;
  memory::dims strides, dilates, pad_l, pad_r;
};

Geometry geometry(const ConvDesc& d) {
  const int64_t pb = pad_after(d.h, d.oh, d.kh, d.sh, d.dh, d.pad_t);
  const int64_t pr = pad_after(d.w, d.ow, d.kw, d.sw, d.dw, d.pad_l);
  if (pb < 0 || pr < 0) throw std::runtime_error("negative bottom/right padding is not supported");
  return {act_md(d.n, d.ic, d.h, d.w), act_md(d.n, d.oc, d.oh, d.ow), user_weights_md(d), any_weights_md(d),
          {d.sh, d.sw}, {d.dh - 1, d.dw - 1}, {d.pad_t, d.pad_l}, {pb, pr}};
}

dnnl::convolution_forward::primitive_desc forward_pd(const Geometry& g) {
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, g.src,
                                       g.wei_any, g.dst, g.strides, g.dilates, g.pad_l, g.pad_r);
  return dnnl::convolution_forward::primitive_desc(desc, cpu_engine());
}

struct Entry {
  dnnl::primitive prim;
  std::string impl;
  memory::desc user_w, prim_w;
  bool reorder_w = false;
  dnnl::reorder to_prim, to_user;
  memory w_scratch;  // the filter (or its gradient) in the primitive's layout, when it differs
};

std::string key_of(const ConvDesc& d, ConvPass p) {
  std::ostringstream k;
  k << static_cast<int>(p);
  for (int64_t v : {d.n, d.h, d.w, d.ic, d.oh, d.ow, d.oc, d.kh, d.kw, d.groups, d.sh, d.sw, d.dh, d.dw, d.pad_t, d.pad_l})
    k << ',' << v;
  return k.str();
}

template <typename PD>
void finish(Entry& e, const PD& pd, const memory::desc& prim_w, const memory::desc& user_w, bool to_user) {
  e.impl = pd.impl_info_str();
  e.user_w = user_w;
  e.prim_w = prim_w;
  e.reorder_w = prim_w != user_w;
  if (e.reorder_w) {
    e.w_scratch = memory(prim_w, cpu_engine());
    if (to_user)
      e.to_user = dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), prim_w, cpu_engine(), user_w));
    else
      e.to_prim = dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), user_w, cpu_engine(), prim_w));
  }
}

Entry& entry(const ConvDesc& d, ConvPass p) {
  thread_local std::unordered_map<std::string, std::unique_ptr<Entry>> cache;
  const std::string key = key_of(d, p);
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  auto e = std::make_unique<Entry>();
  const Geometry g = geometry(d);
  auto fwd = forward_pd(g);
  if (p == ConvPass::kForward) {
    e->prim = dnnl::convolution_forward(fwd);
    finish(*e, fwd, fwd.weights_desc(), g.wei_user, false);
  } else if (p == ConvPass::kBackwardData) {
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, g.src, g.wei_any, g.dst, g.strides,
                                               g.dilates, g.pad_l, g.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(desc, cpu_engine(), fwd);
    e->prim = dnnl::convolution_backward_data(pd);
    finish(*e, pd, pd.weights_desc(), g.wei_user, false);
  } else {
    dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, g.src, g.wei_any, g.dst,
                                                  g.strides, g.dilates, g.pad_l, g.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(desc, cpu_engine(), fwd);
    e->prim = dnnl::convolution_backward_weights(pd);
    finish(*e, pd, pd.diff_weights_desc(), g.wei_user, true);
  }
  return *cache.emplace(key, std::move(e)).first->second;
}

memory view(const memory::desc& md, const float* p) { return memory(md, cpu_engine(), const_cast<float*>(p)); }

// The user's filter as the primitive reads it: reordered into the entry's scratch when the
// primitive chose another layout, else the user's memory itself.
memory input_weights(Entry& e, dnnl::stream& s, const float* w) {
  memory wu = view(e.user_w, w);
  if (!e.reorder_w) return wu;
  e.to_prim.execute(s, wu, e.w_scratch);
  return e.w_scratch;
}

}  // namespace

void conv_forward(const ConvDesc& d, const float* x, const float* w, float* y) {
  Entry& e = entry(d, ConvPass::kForward);
  dnnl::stream& s = thread_stream();
  const Geometry g = geometry(d);
  const memory wp = input_weights(e, s, w);
  e.prim.execute(s, {{DNNL_ARG_SRC, view(g.src, x)}, {DNNL_ARG_WEIGHTS, wp}, {DNNL_ARG_DST, view(g.dst, y)}});
  s.wait();
}

void conv_backward_data(const ConvDesc& d, const float* dy, const float* w, float* dx) {
  Entry& e = entry(d, ConvPass::kBackwardData);
  dnnl::stream& s = thread_stream();
  const Geometry g = geometry(d);
  const memory wp = input_weights(e, s, w);
  e.prim.execute(s, {{DNNL_ARG_DIFF_DST, view(g.dst, dy)}, {DNNL_ARG_WEIGHTS, wp}, {DNNL_ARG_DIFF_SRC, view(g.src, dx)}});
  s.wait();
}

void conv_backward_weights(const ConvDesc& d, const float* x, const float* dy, float* dw) {
  Entry& e = entry(d, ConvPass::kBackwardWeights);
  dnnl::stream& s = thread_stream();
  const Geometry g = geometry(d);
  memory wu = view(e.user_w, dw);
  memory wp = e.reorder_w ? e.w_scratch : wu;
  e.prim.execute(s, {{DNNL_ARG_SRC, view(g.src, x)}, {DNNL_ARG_DIFF_DST, view(g.dst, dy)}, {DNNL_ARG_DIFF_WEIGHTS, wp}});
  if (e.reorder_w) e.to_user.execute(s, e.w_scratch, wu);
  s.wait();
}

std::string conv_impl(const ConvDesc& d, ConvPass pass) { return entry(d, pass).impl; }

std::string library_version() {
  const dnnl_version_t* v = dnnl_version();
  std::ostringstream o;
  o << "oneDNN " << v->major << '.' << v->minor << '.' << v->patch;
  return o.str();
}

}  // namespace yolor
