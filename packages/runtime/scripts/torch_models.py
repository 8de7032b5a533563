"""Exports a small CNN and a small transformer block with torch.onnx.export (PyTorch's own
exporter, outside Tessera), plus seeded inputs and PyTorch's outputs as TensorProto files.

Usage: /usr/bin/python3 torch_models.py OUT_DIR
Writes OUT_DIR/{cnn,transformer}.onnx and OUT_DIR/{name}_input_0.pb, {name}_output_0.pb.
"""
import sys
import os
import torch
import torch.nn as nn
from onnx import numpy_helper

out_dir = sys.argv[1]
torch.manual_seed(0)


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.pool(x)
        x = torch.relu(self.conv2(x))
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return torch.softmax(self.fc(x), dim=-1)


class TransformerBlock(nn.Module):
    """Pre-norm self-attention + GELU MLP, fixed (batch, seq) so shapes are static constants."""

    def __init__(self, batch=2, seq=8, dim=32, heads=4):
        super().__init__()
        self.b, self.t, self.d, self.h = batch, seq, dim, heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        self.register_buffer('mask', torch.triu(torch.full((seq, seq), float('-inf')), diagonal=1))

    def forward(self, x):
        b, t, d, h = self.b, self.t, self.d, self.h
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q = q.reshape(b, t, h, d // h).transpose(1, 2)
        k = k.reshape(b, t, h, d // h).transpose(1, 2)
        v = v.reshape(b, t, h, d // h).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-2, -1) / (d // h) ** 0.5 + self.mask, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))


def export(name, model, x, opset):
    model.eval()
    with torch.no_grad():
        if isinstance(model, SmallCnn):
            # Non-trivial batch-norm statistics, so that the exported graph carries them.
            model.bn1.running_mean.uniform_(-0.5, 0.5)
            model.bn1.running_var.uniform_(0.5, 1.5)
        y = model(x)
    path = os.path.join(out_dir, f'{name}.onnx')
    torch.onnx.export(model, (x,), path, opset_version=opset, input_names=['x'], output_names=['y'], do_constant_folding=True)
    for kind, t in (('input', x), ('output', y)):
        with open(os.path.join(out_dir, f'{name}_{kind}_0.pb'), 'wb') as f:
            f.write(numpy_helper.from_array(t.numpy(), kind).SerializeToString())


export('cnn', SmallCnn(), torch.randn(4, 3, 16, 16), 13)
export('transformer', TransformerBlock(), torch.randn(2, 8, 32), 17)
print('ok', torch.__version__)
