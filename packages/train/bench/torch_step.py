"""PyTorch 1.13 training-step time on one thread, for packages/train/bench/bench.ts.

Usage: /usr/bin/python3 torch_step.py BATCH STEPS WARMUP  -> JSON {model: median ms/step}
Same models and shapes as the Tessera bench: MLP 784-256-10 and LeNet-5 (28x28), softmax
cross-entropy, plain SGD (lr 0.01), random inputs and labels.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.manual_seed(0)
batch, steps, warmup = (int(v) for v in sys.argv[1:4])


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


out = {}
for name, build in [('mlp', mlp), ('lenet', lenet)]:
    model = build()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        float(loss)
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000)
    out[name] = statistics.median(times)
print(json.dumps(out))
