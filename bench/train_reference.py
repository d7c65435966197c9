#!/usr/bin/python3
"""PyTorch-Python reference of `moexp train` for bench/train_throughput.sh.

The same model, data and loop as moexp's defaults, written as a careful PyTorch user would: ResNet-8 on real
Fashion-MNIST (Debian's dataset-fashion-mnist), optionally with stage 1 replaced by a residual MoE layer of narrow
experts (GAP-FC noisy top-k gate, importance CV^2 loss), Adam with a cosine schedule, batch 128, batched
augmentation (flip, crop after zero padding 4) on in-memory uint8 tensors, and a test evaluation under
torch.inference_mode() after every epoch. Prints one line per epoch and a final "images/s" summary line.

Run with Debian's interpreter (/usr/bin/python3 with python3-torch, the same LibTorch 1.13 as moexp).
"""
import argparse
import gzip
import math
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

FMNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(images, labels, limit):
    with gzip.open(images, "rb") as f:
        _, n, h, w = struct.unpack(">IIII", f.read(16))
        x = torch.frombuffer(bytearray(f.read(n * h * w)), dtype=torch.uint8).view(n, 1, h, w)
    with gzip.open(labels, "rb") as f:
        f.read(8)
        y = torch.frombuffer(bytearray(f.read(n)), dtype=torch.uint8).long()
    if limit:
        x, y = x[:limit], y[:limit]
    return x.contiguous(), y.contiguous()


def conv(cin, cout, k, stride):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)


class Projection(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv, self.bn = conv(cin, cout, 1, stride), nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, planes=0):
        super().__init__()
        planes = planes or cout
        self.conv1, self.bn1 = conv(cin, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv(planes, cout, 3, 1), nn.BatchNorm2d(cout)
        self.shortcut = Projection(cin, cout, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


def block_params(cin, cout, stride, planes=0):
    planes = planes or cout
    n = 9 * cin * planes + 2 * planes + 9 * planes * cout + 2 * cout
    return n + (cin * cout + 2 * cout if stride != 1 or cin != cout else 0)


def narrow_planes(cin, width, stride):
    # moexp's rule for a one-block stage: the inner width whose expert has about half the stage's parameters.
    target = 0.5 * block_params(cin, width, stride)
    return min(range(1, width + 1), key=lambda p: abs(block_params(cin, width, stride, p) - target))


class MoE(nn.Module):
    """Residual MoE layer: noisy GAP-FC gate, top-k softmax over the chosen logits, per-expert sub-batches."""

    def __init__(self, cin, cout, stride, experts, k, weight):
        super().__init__()
        planes = narrow_planes(cin, cout, stride)
        self.experts = nn.ModuleList(nn.Sequential(BasicBlock(cin, cout, stride, planes)) for _ in range(experts))
        self.fc, self.noise = nn.Linear(cin, experts), nn.Linear(cin, experts, bias=False)
        self.shortcut = nn.Identity() if cin == cout and stride == 1 else Projection(cin, cout, stride)
        self.k, self.weight = k, weight

    def forward(self, x):
        pooled = x.mean((2, 3))
        logits = self.fc(pooled)
        if self.training:
            logits = logits + torch.randn_like(logits) * F.softplus(self.noise(pooled) + 0.01)
        top, idx = logits.topk(self.k, dim=1)
        w_bk = torch.softmax(top, dim=1)
        weights = torch.zeros_like(logits).scatter(1, idx, w_bk)
        aux = torch.zeros((), device=x.device)
        if self.training:
            imp = weights.sum(0)
            aux = self.weight * imp.var() / (imp.mean() ** 2 + 1e-10)
        y = None
        for e, expert in enumerate(self.experts):
            chosen = idx == e
            rows = chosen.any(1).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            out = expert(x.index_select(0, rows))
            wr = (w_bk * chosen).sum(1).index_select(0, rows)
            if y is None:
                y = torch.zeros((x.shape[0],) + out.shape[1:], dtype=out.dtype, device=out.device)
            y.index_add_(0, rows, out * wr.view(-1, 1, 1, 1))
        return y + self.shortcut(x), aux


class ResNet8(nn.Module):
    def __init__(self, experts, k, weight):
        super().__init__()
        self.stem = nn.Sequential(conv(1, 16, 3, 1), nn.BatchNorm2d(16), nn.ReLU())
        self.layer1 = MoE(16, 16, 1, experts, k, weight) if experts else nn.Sequential(BasicBlock(16, 16, 1))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2))
        self.layer3 = nn.Sequential(BasicBlock(32, 64, 2))
        self.fc = nn.Linear(64, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        h = self.stem(x)
        aux = torch.zeros((), device=x.device)
        if isinstance(self.layer1, MoE):
            h, aux = self.layer1(h)
        else:
            h = self.layer1(h)
        h = self.layer3(self.layer2(h))
        return self.fc(h.mean((2, 3))), aux


def make_batch(x_u8, gen, augment, mean=0.2860, std=0.3530):
    x = x_u8.float().div_(255.0)
    b, _, h, w = x.shape
    if augment:
        flip = (torch.rand(b, generator=gen) < 0.5).view(b, 1, 1, 1)
        x = torch.where(flip, x.flip(3), x)
        padded = F.pad(x, (4, 4, 4, 4))
        off = torch.randint(0, 9, (b, 2), generator=gen)
        rows = (off[:, 0:1] + torch.arange(h)).view(b, h, 1)
        cols = (off[:, 1:2] + torch.arange(w)).view(b, 1, w)
        x = padded[torch.arange(b).view(b, 1, 1), :, rows, cols].permute(0, 3, 1, 2).contiguous()
    return (x - mean) / std


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--experts", type=int, default=4, help="0: the dense ResNet-8")
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit-train", type=int, default=10000)
    ap.add_argument("--limit-test", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    start = time.perf_counter()
    xtr, ytr = read_idx(f"{FMNIST}/train-images-idx3-ubyte.gz", f"{FMNIST}/train-labels-idx1-ubyte.gz", args.limit_train)
    xte, yte = read_idx(f"{FMNIST}/t10k-images-idx3-ubyte.gz", f"{FMNIST}/t10k-labels-idx1-ubyte.gz", args.limit_test)
    model = ResNet8(args.experts, args.k, 0.5)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    n, bs = xtr.shape[0], 128
    train_seconds = 0.0
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + math.cos(math.pi * epoch / max(1, args.epochs)))
        model.train()
        gen = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        order = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for b in range(0, n, bs):
            idx = order[b:b + bs]
            x, y = make_batch(xtr.index_select(0, idx), gen, True), ytr.index_select(0, idx)
            logits, aux = model(x)
            ce = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            (ce + aux).backward()
            opt.step()
            loss_sum += ce.item() * idx.numel()
            correct += (logits.argmax(1) == y).sum().item()
        t1 = time.perf_counter()
        train_seconds += t1 - t0
        model.eval()
        right = 0
        with torch.inference_mode():
            for b in range(0, xte.shape[0], 500):
                logits, _ = model(make_batch(xte[b:b + 500], None, False))
                right += (logits.argmax(1) == yte[b:b + 500]).sum().item()
        t2 = time.perf_counter()
        print(f"epoch {epoch + 1} train loss {loss_sum / n:.4f} acc {100 * correct / n:.2f}% "
              f"test acc {100 * right / xte.shape[0]:.2f}% train {t1 - t0:.2f}s eval {t2 - t1:.2f}s", flush=True)
    total = time.perf_counter() - start
    print(f"images/s {n * args.epochs / total:.1f} (whole run {total:.2f}s incl. data loading and evaluation; "
          f"training only {n * args.epochs / train_seconds:.1f})")


if __name__ == "__main__":
    main()
