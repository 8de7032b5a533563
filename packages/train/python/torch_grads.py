"""Reference gradients from PyTorch autograd for a Tessera forward graph.

Usage: /usr/bin/python3 torch_grads.py MODEL.onnx CASE.json OUT.json

MODEL.onnx holds the forward graph with its weights (exported by @tessera/onnx). CASE.json holds
{"inputs": {name: {"dtype", "shape", "data"}}, "labels": {...}, "wrt": [param names]} and,
optionally, "hvp": {param: [v values]}. The graph is evaluated node by node with torch ops in
float64, the mean softmax cross-entropy of its first output against the labels is differentiated,
and the gradients of `wrt` are written as {name: [values]}; with "hvp", also the Hessian-vector
product {"hvp": {name: [values]}} by double backward.
"""
import json
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

torch.set_default_dtype(torch.float64)


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def as_ints(t):
    return [int(v) for v in t.reshape(-1).tolist()]



def conv(x, w, b, a):
    k = len(w.shape) - 2
    pads = a.get('pads', [0] * 2 * k)
    strides = a.get('strides', [1] * k)
    dil = a.get('dilations', [1] * k)
    groups = a.get('group', 1)
    if pads[:k] != pads[k:]:
        x = F.pad(x, sum([[pads[i + k], pads[i]] for i in reversed(range(k))], []))
        pads = [0] * 2 * k
    return F.conv2d(x, w, b, stride=strides, padding=pads[:k], dilation=dil, groups=groups)


def maxpool(x, a):
    k = a['kernel_shape']
    pads = a.get('pads', [0] * 4)
    return F.max_pool2d(x, k, stride=a.get('strides', [1] * len(k)), padding=pads[:2], ceil_mode=bool(a.get('ceil_mode', 0)))


def avgpool(x, a):
    k = a['kernel_shape']
    pads = a.get('pads', [0] * 4)
    return F.avg_pool2d(x, k, stride=a.get('strides', [1] * len(k)), padding=pads[:2], count_include_pad=bool(a.get('count_include_pad', 0)))


def reshape(x, shape):
    s = as_ints(shape)
    s = [x.shape[i] if v == 0 else v for i, v in enumerate(s)]
    return x.reshape(s)


def reduce_axes(ins, a, r):
    axes = a.get('axes')
    if axes is None and len(ins) > 1 and ins[1] is not None:
        axes = as_ints(ins[1])
    if axes is None:
        axes = list(range(r))
    return [v % r for v in axes]


def layernorm(x, g, b, a):
    axis = a.get('axis', -1) % x.dim()
    shape = x.shape[axis:]
    return F.layer_norm(x, shape, g.reshape(shape), None if b is None else b.reshape(shape), a.get('epsilon', 1e-5))


def slice_(ins):
    x, starts, ends = ins[0], as_ints(ins[1]), as_ints(ins[2])
    axes = as_ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
    steps = as_ints(ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    idx = [slice(None)] * x.dim()
    for s, e, ax, st in zip(starts, ends, axes, steps):
        n = x.shape[ax]
        s = max(-n, min(s, n))
        e = max(-n - 1, min(e, n))
        idx[ax] = slice(s, e, st)
    return x[tuple(idx)]


def split(ins, a, n):
    x = ins[0]
    axis = a.get('axis', 0)
    sizes = as_ints(ins[1]) if len(ins) > 1 and ins[1] is not None else a.get('split', [x.shape[axis] // n] * n)
    return list(torch.split(x, sizes, dim=axis))


def pad(ins, a):
    x = ins[0]
    p = as_ints(ins[1]) if len(ins) > 1 and ins[1] is not None else a['pads']
    value = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
    r = x.dim()
    flat = []
    for d in reversed(range(r)):
        flat += [p[d], p[d + r]]
    return F.pad(x, flat, mode='constant', value=value)


def gather(ins, a):
    x, idx = ins
    axis = a.get('axis', 0) % x.dim()
    if idx.dim() == 0:
        return x.select(axis, int(idx))
    flat = torch.index_select(x, axis, idx.reshape(-1).long())
    return flat.reshape(list(x.shape[:axis]) + list(idx.shape) + list(x.shape[axis + 1:]))


def unsqueeze(ins, a):
    x = ins[0]
    axes = a.get('axes') or as_ints(ins[1])
    r = x.dim() + len(axes)
    for ax in sorted(v % r for v in axes):
        x = x.unsqueeze(ax)
    return x


def squeeze(ins, a):
    x = ins[0]
    axes = a.get('axes') or (as_ints(ins[1]) if len(ins) > 1 and ins[1] is not None else None)
    if axes is None:
        return x.squeeze()
    for ax in sorted((v % x.dim() for v in axes), reverse=True):
        x = x.squeeze(ax)
    return x


OPS = {
    'Add': lambda i, a: i[0] + i[1],
    'Sub': lambda i, a: i[0] - i[1],
    'Mul': lambda i, a: i[0] * i[1],
    'Div': lambda i, a: i[0] / i[1],
    'Pow': lambda i, a: torch.pow(i[0], i[1]),
    'Neg': lambda i, a: -i[0],
    'Relu': lambda i, a: F.relu(i[0]),
    'LeakyRelu': lambda i, a: F.leaky_relu(i[0], a.get('alpha', 0.01)),
    'Tanh': lambda i, a: torch.tanh(i[0]),
    'Sigmoid': lambda i, a: torch.sigmoid(i[0]),
    'Erf': lambda i, a: torch.erf(i[0]),
    'Exp': lambda i, a: torch.exp(i[0]),
    'Log': lambda i, a: torch.log(i[0]),
    'Sqrt': lambda i, a: torch.sqrt(i[0]),
    'Reciprocal': lambda i, a: 1 / i[0],
    'Identity': lambda i, a: i[0],
    'MatMul': lambda i, a: torch.matmul(i[0], i[1]),
    'Gemm': lambda i, a: a.get('alpha', 1.0) * torch.matmul(i[0].T if a.get('transA', 0) else i[0], i[1].T if a.get('transB', 0) else i[1])
    + (a.get('beta', 1.0) * i[2] if len(i) > 2 and i[2] is not None else 0),
    'Conv': lambda i, a: conv(i[0], i[1], i[2] if len(i) > 2 else None, a),
    'MaxPool': lambda i, a: maxpool(i[0], a),
    'AveragePool': lambda i, a: avgpool(i[0], a),
    'GlobalAveragePool': lambda i, a: i[0].mean(dim=tuple(range(2, i[0].dim())), keepdim=True),
    'Flatten': lambda i, a: i[0].reshape(int(np.prod(i[0].shape[:a.get('axis', 1)])), -1),
    'Reshape': lambda i, a: reshape(i[0], i[1]),
    'Transpose': lambda i, a: i[0].permute(a.get('perm', list(reversed(range(i[0].dim()))))),
    'Softmax': lambda i, a: torch.softmax(i[0], dim=a.get('axis', -1)),
    'LogSoftmax': lambda i, a: torch.log_softmax(i[0], dim=a.get('axis', -1)),
    'LayerNormalization': lambda i, a: layernorm(i[0], i[1], i[2] if len(i) > 2 else None, a),
    'ReduceMean': lambda i, a: i[0].mean(dim=reduce_axes(i, a, i[0].dim()), keepdim=bool(a.get('keepdims', 1))),
    'ReduceSum': lambda i, a: i[0].sum(dim=reduce_axes(i, a, i[0].dim()), keepdim=bool(a.get('keepdims', 1))),
    'Concat': lambda i, a: torch.cat(i, dim=a['axis']),
    'Slice': lambda i, a: slice_(i),
    'Gather': lambda i, a: gather(i, a),
    'Unsqueeze': lambda i, a: unsqueeze(i, a),
    'Squeeze': lambda i, a: squeeze(i, a),
    'Where': lambda i, a: torch.where(i[0].bool(), i[1], i[2]),
    'Pad': lambda i, a: pad(i, a),
    'Expand': lambda i, a: i[0] * torch.ones(as_ints(i[1]), dtype=i[0].dtype),
}


def tensor_of(spec):
    arr = np.array(spec['data'], dtype=np.int64 if spec['dtype'] == 'int64' else np.float64).reshape(spec['shape'])
    return torch.tensor(arr)


def main():
    model = onnx.load(sys.argv[1])
    case = json.load(open(sys.argv[2]))
    g = model.graph
    env = {}
    params = {}
    for init in g.initializer:
        a = numpy_helper.to_array(init)
        t = torch.tensor(a.astype(np.float64) if a.dtype.kind == 'f' else a)
        if init.name in case['wrt']:
            t.requires_grad_(True)
            params[init.name] = t
        env[init.name] = t
    for name, spec in case['inputs'].items():
        env[name] = tensor_of(spec)
    for node in g.node:
        if node.op_type == 'Constant':
            env[node.output[0]] = torch.tensor(numpy_helper.to_array(attrs(node)['value']).astype(np.float64))
            continue
        if node.op_type not in OPS and node.op_type != 'Split':
            raise SystemExit(f'torch_grads.py: op {node.op_type} (node "{node.name}") has no torch mapping; add it to OPS')
        ins = [env[n] if n else None for n in node.input]
        a = attrs(node)
        if node.op_type == 'Split':
            outs = split(ins, a, len(node.output))
        else:
            outs = [OPS[node.op_type](ins, a)]
        for n, o in zip(node.output, outs):
            if n:
                env[n] = o
    logits = env[g.output[0].name]
    labels = tensor_of(case['labels']).long()
    if logits.dim() == 3:
        logits = logits.permute(0, 2, 1)
    loss = F.cross_entropy(logits, labels)
    names = list(params)
    grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph='hvp' in case, allow_unused=True)
    out = {'loss': float(loss)}
    for name, g in zip(names, grads):
        out[name] = g.reshape(-1).tolist() if g is not None else None
    if 'hvp' in case:
        # Hessian-vector product by double backward: d/dθ (∇L · v).
        dot = sum((g * torch.tensor(case['hvp'][n]).reshape(g.shape)).sum() for n, g in zip(names, grads) if g is not None)
        hv = torch.autograd.grad(dot, [params[n] for n in names], allow_unused=True)
        out['hvp'] = {n: (h.reshape(-1).tolist() if h is not None else None) for n, h in zip(names, hv)}
    json.dump(out, open(sys.argv[3], 'w'))


if __name__ == '__main__':
    main()
