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
        y = F.relu(self.bn1(self.conv1(x)), inplace=True)  # in place, as torchvision and moexp do
        y = self.bn2(self.conv2(y))
        y += self.shortcut(x) if self.shortcut is not None else x
        return F.relu(y, inplace=True)


def block_params(cin, cout, stride, planes=0):
    planes = planes or cout
    n = 9 * cin * planes + 2 * planes + 9 * planes * cout + 2 * cout
    return n + (cin * cout + 2 * cout if stride != 1 or cin != cout else 0)


def narrow_planes(cin, width, stride):
    # moexp's rule for a one-block stage: the inner width whose expert has about half the stage's parameters.
    target = 0.5 * block_params(cin, width, stride)
    return min(range(1, width + 1), key=lambda p: abs(block_params(cin, width, stride, p) - target))


ARCHS = {  # stem width, stages (width, blocks, stride): moexp's arch_spec
    "resnet8": (16, [(16, 1, 1), (32, 1, 2), (64, 1, 2)]),
    "resnet18": (64, [(64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2)]),
}


def stage(cin, width, blocks, stride):
    return nn.Sequential(*[BasicBlock(cin if b == 0 else width, width, stride if b == 0 else 1) for b in range(blocks)])


def narrow_expert(arch, position, cin, width, blocks, stride):
    if blocks == 1:
        return nn.Sequential(BasicBlock(cin, width, stride, narrow_planes(cin, width, stride)))
    planes = [25, 50, 90, 180][position - 1] if arch == "resnet18" else width // 2
    return nn.Sequential(BasicBlock(cin, planes, stride), *[BasicBlock(planes, planes, 1) for _ in range(blocks - 2)],
                         BasicBlock(planes, width, 1))


class MoE(nn.Module):
    """Residual MoE layer: noisy GAP-FC gate, top-k softmax over the chosen logits, per-expert sub-batches
    (the same sorted dispatch as moexp's lib/moe/layer.cpp)."""

    def __init__(self, make_expert, cin, cout, stride, experts, k, weight):
        super().__init__()
        self.experts = nn.ModuleList(make_expert() for _ in range(experts))
        self.fc, self.noise = nn.Linear(cin, experts), nn.Linear(cin, experts, bias=False)
        self.shortcut = nn.Identity() if cin == cout and stride == 1 else Projection(cin, cout, stride)
        self.k, self.weight = k, weight

    def forward(self, x):
        pooled = x.mean((2, 3))
        logits = self.fc(pooled).float()  # routing in fp32, as moexp
        if self.training:
            logits = logits + torch.randn_like(logits) * F.softplus(self.noise(pooled).float() + 0.01)
        top, idx = logits.topk(self.k, dim=1)
        w_bk = torch.softmax(top, dim=1)
        weights = torch.zeros_like(logits).scatter(1, idx, w_bk)
        aux = torch.zeros((), device=x.device)
        if self.training:
            imp = weights.sum(0)
            aux = self.weight * imp.var() / (imp.mean() ** 2 + 1e-10)
        # moexp's dispatch: (sample, expert) pairs sorted by expert, one gather, a contiguous slice per expert.
        order = idx.reshape(-1).sort(stable=True)[1]
        rows = order.div(self.k, rounding_mode="floor")
        sizes = torch.bincount(idx.reshape(-1), minlength=len(self.experts)).tolist()
        x_slices = x.index_select(0, rows).split(sizes)
        row_slices, w_slices = rows.split(sizes), w_bk.reshape(-1).index_select(0, order).split(sizes)
        y = None
        for e, expert in enumerate(self.experts):
            if sizes[e] == 0:
                continue
            out = expert(x_slices[e])
            if y is None:
                y = torch.zeros((x.shape[0],) + out.shape[1:], dtype=out.dtype, device=out.device)
            y.index_add_(0, row_slices[e], out * w_slices[e].view(-1, 1, 1, 1).to(out.dtype))
        return y + self.shortcut(x), aux


class ResNet(nn.Module):
    def __init__(self, arch, channels, classes, position, experts, k, weight=0.5):
        super().__init__()
        stem, stages = ARCHS[arch]
        self.stem = nn.Sequential(conv(channels, stem, 3, 1), nn.BatchNorm2d(stem), nn.ReLU())
        layers, cin = [], stem
        for p, (width, blocks, stride) in enumerate(stages, start=1):
            if experts and p == position:
                layers.append(MoE(lambda c=cin, w=width, b=blocks, s=stride, pos=p: narrow_expert(arch, pos, c, w, b, s),
                                  cin, width, stride, experts, k, weight))
            else:
                layers.append(stage(cin, width, blocks, stride))
            cin = width
        self.layers = nn.ModuleList(layers)
        self.fc = nn.Linear(cin, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        h = self.stem(x)
        aux = torch.zeros((), device=x.device)
        for layer in self.layers:
            if isinstance(layer, MoE):
                h, a = layer(h)
                aux = aux + a
            else:
                h = layer(h)
        return self.fc(h.mean((2, 3))), aux


def make_batch(x_u8, gen, augment, mean, std):
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
    ap.add_argument("--arch", default="resnet8", choices=sorted(ARCHS))
    ap.add_argument("--position", type=int, default=1, help="stage the MoE layer replaces")
    ap.add_argument("--experts", type=int, default=4, help="0: the dense network")
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit-train", type=int, default=10000)
    ap.add_argument("--limit-test", type=int, default=2000)
    ap.add_argument("--synthetic", type=int, default=0, help="N random 3x32x32 images of 100 classes instead of FMNIST")
    ap.add_argument("--steps", type=int, default=0, help="stop after this many training steps (no evaluation)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast (as moexp's train.precision=auto on CUDA)")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    start = time.perf_counter()
    if args.synthetic:
        g = torch.Generator().manual_seed(1)
        xtr = torch.randint(0, 256, (args.synthetic, 3, 32, 32), dtype=torch.uint8, generator=g)
        ytr = torch.randint(0, 100, (args.synthetic,), generator=g)
        xte, yte = xtr[:args.limit_test], ytr[:args.limit_test]
        channels, classes, mean, std = 3, 100, 0.5, 0.25
    else:
        xtr, ytr = read_idx(f"{FMNIST}/train-images-idx3-ubyte.gz", f"{FMNIST}/train-labels-idx1-ubyte.gz",
                            args.limit_train)
        xte, yte = read_idx(f"{FMNIST}/t10k-images-idx3-ubyte.gz", f"{FMNIST}/t10k-labels-idx1-ubyte.gz",
                            args.limit_test)
        channels, classes, mean, std = 1, 10, 0.2860, 0.3530
    model = ResNet(args.arch, channels, classes, args.position, args.experts, args.k).to(dev)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    n, bs = xtr.shape[0], args.batch_size
    autocast = torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=args.bf16)
    train_seconds, images, steps = 0.0, 0, 0
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + math.cos(math.pi * epoch / max(1, args.epochs)))
        model.train()
        gen = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        order = torch.randperm(n, generator=gen)
        loss_sum, correct = torch.zeros((), device=dev), torch.zeros((), device=dev, dtype=torch.long)
        for b in range(0, n, bs):
            idx = order[b:b + bs]
            x = make_batch(xtr.index_select(0, idx), gen, True, mean, std).to(dev).contiguous(memory_format=fmt)
            y = ytr.index_select(0, idx).to(dev)
            with autocast:
                logits, aux = model(x)
                ce = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            (ce + aux).backward()
            opt.step()
            loss_sum += ce.detach() * idx.numel()
            correct += (logits.argmax(1) == y).sum()
            images += idx.numel()
            steps += 1
            if args.steps and steps >= args.steps:
                break
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        train_seconds += t1 - t0
        if args.steps and steps >= args.steps:
            print(f"{steps} steps: train loss {loss_sum.item() / images:.4f} {images / (t1 - t0):.1f} images/s", flush=True)
            break
        model.eval()
        right = 0
        with torch.inference_mode(), autocast:
            for b in range(0, xte.shape[0], 500):
                logits, _ = model(make_batch(xte[b:b + 500], None, False, mean, std).to(dev).contiguous(memory_format=fmt))
                right += (logits.argmax(1) == yte[b:b + 500].to(dev)).sum().item()
        t2 = time.perf_counter()
        print(f"epoch {epoch + 1} train loss {loss_sum.item() / n:.4f} acc {100 * correct.item() / n:.2f}% "
              f"test acc {100 * right / xte.shape[0]:.2f}% train {t1 - t0:.2f}s eval {t2 - t1:.2f}s", flush=True)
    total = time.perf_counter() - start
    print(f"images/s {images / total:.1f} (whole run {total:.2f}s incl. data loading and evaluation; "
          f"training only {images / train_seconds:.1f})")


if __name__ == "__main__":
    main()
