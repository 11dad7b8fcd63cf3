"""The PyTorch reference of `npm run bench:train` (see bench/torch-reference.ts).

Reads a yolor-ts model traced to a kernel graph (JSON: nodes with kernel, inputs,
attributes and output shapes; constants by shape, small ones with values), rebuilds it
as a torch.nn.Module in NCHW, checks its output shapes against the trace and its
trainable parameter count against the model's, then times training steps (forward,
loss, backward, SGD with Nesterov momentum and weight decay, EMA) on synthetic images
with torch.set_num_threads(--threads). Prints one JSON line.

A benchmark reference only: yolor-ts never imports or needs PyTorch.
"""

import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# NHWC axis -> NCHW axis for rank-4 activations.
NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def fail(msg):
    print(f"torch-reference: {msg}", file=sys.stderr)
    sys.exit(2)


def pair(v):
    if isinstance(v, (list, tuple)):
        return (int(v[0]), int(v[1])) if len(v) >= 2 else (int(v[0]), int(v[0]))
    return (int(v), int(v))


def same_pads(size, k, s, d=1):
    """TensorFlow 'same' padding of one spatial axis: (before, after)."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def spatial_pads(pad, in_hw, k, s, d):
    """(top, bottom, left, right) from a tfjs pad attribute."""
    if pad == "valid":
        return (0, 0, 0, 0)
    if pad == "same":
        t, b = same_pads(in_hw[0], k[0], s[0], d[0])
        l, r = same_pads(in_hw[1], k[1], s[1], d[1])
        return (t, b, l, r)
    if isinstance(pad, (int, float)):
        p = int(pad)
        return (p, p, p, p)
    if isinstance(pad, list) and len(pad) == 4:  # [[0,0],[t,b],[l,r],[0,0]]
        return (int(pad[1][0]), int(pad[1][1]), int(pad[2][0]), int(pad[2][1]))
    fail(f"unsupported pad attribute {pad!r}")


class PaddedConv(nn.Module):
    """nn.Conv2d with TensorFlow's (possibly asymmetric) padding."""

    def __init__(self, cin, cout, k, s, d, pads, groups):
        super().__init__()
        t, b, l, r = pads
        self.extra = None
        if t == b and l == r:
            padding = (t, l)
        else:
            padding = (0, 0)
            self.extra = (l, r, t, b)
        self.conv = nn.Conv2d(cin, cout, k, s, padding, d, groups=groups, bias=False)

    def forward(self, x):
        if self.extra is not None:
            x = F.pad(x, self.extra)
        return self.conv(x)


class TracedNet(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.layers = nn.ModuleList()
        self.weights = nn.ParameterList()
        consts = spec["constants"]
        shapes = {i["name"]: i["shape"] for i in spec["inputs"]}
        self.program = []  # (kernel, input refs, callable, output names)

        def const_ref(name, role):
            """A constant operand: a python scalar, or a trainable parameter in NCHW broadcast form."""
            c = consts[name]
            numel = math.prod(c["shape"]) if c["shape"] else 1
            if numel == 1:
                return ("scalar", float(c["values"][0]))
            if c["dtype"] != "float32":
                fail(f"unsupported {c['dtype']} constant operand {name} {c['shape']}")
            shape = [1] * (4 - len(c["shape"])) + list(c["shape"])
            if "values" in c:
                init = torch.tensor(c["values"], dtype=torch.float32).reshape(shape)
            else:
                init = torch.full(shape, 1.0 if role == "mul" else 0.0)
            init = init.permute(0, 3, 1, 2).contiguous()
            self.weights.append(nn.Parameter(init))
            return ("param", len(self.weights) - 1)

        # Sigmoid outputs by their input, to recognise x * sigmoid(x) (SiLU).
        sigmoid_of = {n["outputs"][0]["name"]: n["inputs"]["x"] for n in spec["nodes"] if n["kernel"] == "Sigmoid"}
        uses = {}
        for n in spec["nodes"]:
            for v in n["inputs"].values():
                uses[v] = uses.get(v, 0) + 1
        for o in spec["outputs"]:
            uses[o] = uses.get(o, 0) + 1
        # A sigmoid used only by its SiLU product is not computed on its own.
        silu_only = {
            s_name
            for n in spec["nodes"]
            if n["kernel"] == "Multiply"
            for s_name, other in ((n["inputs"]["b"], n["inputs"]["a"]), (n["inputs"]["a"], n["inputs"]["b"]))
            if sigmoid_of.get(s_name) == other and uses.get(s_name) == 1
        }
        for node in spec["nodes"]:
            k, ins, a = node["kernel"], node["inputs"], node["attrs"]
            outs = [o["name"] for o in node["outputs"]]
            out_shapes = [o["shape"] for o in node["outputs"]]
            for o, s in zip(outs, out_shapes):
                if len(s) != 4:
                    fail(f"{node['layer']}: {k} outputs rank {len(s)}; only rank-4 activations are supported")
                shapes[o] = s

            def act(name):
                if name in consts:
                    fail(f"{node['layer']}: {k} takes constant {name} where an activation was expected")
                return ("t", name)

            if k in ("Conv2D", "DepthwiseConv2dNative"):
                x_shape = shapes[ins["x"]]
                kh, kw, cin, m = consts[ins["filter"]]["shape"]
                s, d = pair(a.get("strides", 1)), pair(a.get("dilations", 1))
                pads = spatial_pads(a.get("pad", "valid"), x_shape[1:3], (kh, kw), s, d)
                if k == "Conv2D":
                    mod = PaddedConv(cin, m, (kh, kw), s, d, pads, 1)
                else:
                    mod = PaddedConv(cin, cin * m, (kh, kw), s, d, pads, cin)
                self.layers.append(mod)
                self.program.append((k, [act(ins["x"])], ("layer", len(self.layers) - 1), outs))
            elif k == "FusedBatchNorm":
                c = shapes[ins["x"]][3]
                affine = "scale" in ins and "offset" in ins
                mod = nn.BatchNorm2d(c, eps=float(a.get("varianceEpsilon", 1e-3)), momentum=0.03, affine=affine)
                self.layers.append(mod)
                self.program.append((k, [act(ins["x"])], ("layer", len(self.layers) - 1), outs))
            elif k == "Multiply" and (ins["b"] in silu_only or ins["a"] in silu_only):
                # x * sigmoid(x): SiLU, as torch.nn.SiLU (one fused kernel each way, as PyTorch models write it).
                x_name = ins["a"] if ins["b"] in silu_only else ins["b"]
                self.program.append(("SiLU", [act(x_name)], ("fn", F.silu), outs))
            elif k in ("Add", "Multiply", "Sub"):
                role = "mul" if k == "Multiply" else "add"
                refs = [const_ref(ins[key], role) if ins[key] in consts else act(ins[key]) for key in ("a", "b")]
                fn = {"Add": torch.add, "Multiply": torch.mul, "Sub": torch.sub}[k]
                self.program.append((k, refs, ("fn", fn), outs))
            elif k == "Sigmoid" and outs[0] in silu_only:
                continue
            elif k in ("Sigmoid", "Relu", "Tanh", "Relu6", "LeakyRelu", "Elu"):
                alpha = float(a.get("alpha", 0.2))
                fn = {
                    "Sigmoid": torch.sigmoid,
                    "Relu": F.relu,
                    "Tanh": torch.tanh,
                    "Relu6": F.relu6,
                    "Elu": F.elu,
                    "LeakyRelu": lambda x, alpha=alpha: F.leaky_relu(x, alpha),
                }[k]
                self.program.append((k, [act(ins["x"])], ("fn", fn), outs))
            elif k == "YolorActivation":
                # yolor-ts's native activation kernel (src/engine/native): codes as NATIVE_ACT.
                fn = {0: lambda x: x, 1: F.silu, 2: F.relu, 3: lambda x: F.leaky_relu(x, 0.1)}.get(int(a["act"]))
                if fn is None:
                    fail(f"{node['layer']}: unknown YolorActivation code {a['act']}")
                self.program.append(("SiLU", [act(ins["x"])], ("fn", fn), outs))
            elif k == "Reshape":
                if shapes[ins["x"]] != out_shapes[0]:
                    fail(f"{node['layer']}: a reshape that changes the shape ({shapes[ins['x']]} -> {out_shapes[0]}) is not supported")
                self.program.append((k, [act(ins["x"])], ("fn", lambda x: x), outs))
            elif k == "Concat":
                keys = sorted(ins.keys(), key=lambda s: int(s.split(".")[-1]))
                dim = NCHW_AXIS[int(a["axis"]) % 4]
                self.program.append((k, [act(ins[key]) for key in keys], ("cat", dim), outs))
            elif k == "SplitV":
                sizes = a["numOrSizeSplits"]
                dim = NCHW_AXIS[int(a["axis"]) % 4]
                if isinstance(sizes, int):
                    sizes = [shapes[ins["x"]][int(a["axis"]) % 4] // sizes] * sizes
                self.program.append((k, [act(ins["x"])], ("split", (sizes, dim)), outs))
            elif k in ("MaxPool", "AvgPool"):
                x_shape = shapes[ins["x"]]
                kk, s = pair(a["filterSize"]), pair(a["strides"])
                t, b, l, r = spatial_pads(a.get("pad", "valid"), x_shape[1:3], kk, s, (1, 1))
                if t != b or l != r:
                    fail(f"{node['layer']}: asymmetric pooling pads are not supported")
                pool = F.max_pool2d if k == "MaxPool" else F.avg_pool2d
                self.program.append((k, [act(ins["x"])], ("fn", lambda x, p=pool, kk=kk, s=s, pd=(t, l): p(x, kk, s, pd)), outs))
            elif k == "ResizeNearestNeighbor":
                size = tuple(int(v) for v in a["size"])
                self.program.append((k, [act(ins["images"])], ("fn", lambda x, size=size: F.interpolate(x, size=size, mode="nearest")), outs))
            else:
                fail(f"{node['layer']}: kernel {k} has no PyTorch rule in bench/torch-reference.py")
        self.out_names = spec["outputs"]
        self.shapes = shapes

    def forward(self, x):
        env = {self.spec["inputs"][0]["name"]: x}
        for k, refs, op, outs in self.program:
            args = []
            for kind, v in refs:
                args.append(env[v] if kind == "t" else v if kind == "scalar" else self.weights[v])
            how, what = op
            if how == "layer":
                y = self.layers[what](args[0])
            elif how == "fn":
                y = what(*args)
            elif how == "cat":
                y = torch.cat(args, dim=what)
            else:
                y = list(torch.split(args[0], what[0], dim=what[1]))
            ys = y if isinstance(y, list) else [y]
            for name, t in zip(outs, ys):
                env[name] = t
        return [env[n] for n in self.out_names]

    def check_shapes(self, x):
        """Every traced activation's shape, NHWC -> NCHW with the batch replaced, must match."""
        b = x.shape[0]
        with torch.no_grad():
            outs = self.forward(x)
        for name, t in zip(self.out_names, outs):
            n, h, w, c = self.shapes[name]
            if list(t.shape) != [b, c, h, w]:
                fail(f"output {name}: PyTorch {list(t.shape)}, traced NHWC {self.shapes[name]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--graph", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--params", type=int, default=-1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.graph) as f:
        spec = json.load(f)
    net = TracedNet(spec)
    n_params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    if args.params >= 0 and n_params != args.params:
        fail(f"the rebuilt network has {n_params} trainable parameters, the yolor-ts model {args.params}")
    x = torch.randn(args.batch, 3, args.imgsz, args.imgsz) * 0.5
    net.eval()
    net.check_shapes(x[:1])
    net.train()

    decay, no_decay = [], []
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            decay.append(m.weight)
    decay_ids = {id(p) for p in decay}
    no_decay = [p for p in net.parameters() if id(p) not in decay_ids]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}], lr=0.01, momentum=0.937, nesterov=True)
    ema = [v.detach().clone() for v in net.state_dict().values() if v.dtype.is_floating_point]

    def step():
        outs = net(x)
        loss = sum(F.binary_cross_entropy_with_logits(o, torch.zeros_like(o)) for o in outs)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            live = [v for v in net.state_dict().values() if v.dtype.is_floating_point]
            for e, v in zip(ema, live):
                e.mul_(0.9999).add_(v, alpha=1 - 0.9999)
        return float(loss)

    step()  # warm-up: allocator and oneDNN primitive caches
    times = []
    for _ in range(max(1, args.steps)):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    print(
        json.dumps(
            {
                "imagesPerSecond": args.batch / min(times),
                "medianImagesPerSecond": args.batch / statistics.median(times),
                "params": n_params,
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
