#!/usr/bin/python3
"""Export a torchvision ResNet's weights for moexp's RetinaNet backbone (model.backbone_weights).

Writes the model's state dict as a plain dict of tensors with torch.save (zip format), which moexp reads with
LibTorch's pickle_load; moexp maps torchvision's names onto its own (conv1/bn1 -> stem, downsample -> shortcut) and
ignores the classifier (fc). Run it with Debian's python3-torchvision (/usr/bin/python3):

  scripts/export_torchvision_resnet.py --arch resnet18 --weights DEFAULT resnet18.pt   # ImageNet weights (downloads
                                                                                        # into the torch hub cache)
  scripts/export_torchvision_resnet.py --arch resnet18 resnet18-random.pt               # no download: random weights

--probe adds 'probe.input' (a fixed random batch) and 'probe.c5' (torchvision's layer4 output on it, eval mode), with
the batch norms' statistics and affine parameters randomised first, so that a loader can check that it computes
exactly what torchvision computes (moexp's tests do).
"""
import argparse

import torch
import torchvision


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="the .pt file to write")
    parser.add_argument("--arch", choices=["resnet18", "resnet34", "resnet50"], default="resnet18")
    parser.add_argument("--weights", default="none",
                        help="torchvision weights enum name (DEFAULT, IMAGENET1K_V1, ...); none: random initialisation")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random initialisation and the probe")
    parser.add_argument("--probe", action="store_true", help="add probe.input and probe.c5 (see above)")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = getattr(torchvision.models, args.arch)(weights=None if args.weights == "none" else args.weights)
    model.eval()
    if args.probe:
        generator = torch.Generator().manual_seed(args.seed)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    n = module.num_features
                    module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                    module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
                    module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                    module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
    state = {name: tensor.detach().clone().contiguous() for name, tensor in model.state_dict().items()}
    if args.probe:
        x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(args.seed + 1))
        with torch.no_grad():
            c = model.maxpool(model.relu(model.bn1(model.conv1(x))))
            c5 = model.layer4(model.layer3(model.layer2(model.layer1(c))))
        state["probe.input"] = x
        state["probe.c5"] = c5
    torch.save(state, args.out)
    print(f"wrote {args.out}: {args.arch}, weights {args.weights}, {len(model.state_dict())} tensors")


if __name__ == "__main__":
    main()
