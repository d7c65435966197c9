#!/usr/bin/python3
"""Detections from a COCO ground-truth file by perturbing it, for sample runs of `moexp data eval-coco`.

Each non-crowd box is kept with probability 0.9, its corners jittered by a Gaussian of `jitter` x its size, and
scored in [0.3, 1); 10 % as many false positives as boxes are added at random places. Deterministic for a seed.
Usage: bench/coco_perturb.py GT.json OUT.json [--jitter 0.1] [--seed 0]
"""
import argparse
import json
import random

parser = argparse.ArgumentParser()
parser.add_argument("gt")
parser.add_argument("out")
parser.add_argument("--jitter", type=float, default=0.1)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
rng = random.Random(args.seed)
gt = json.load(open(args.gt))
sizes = {im["id"]: (im["width"], im["height"]) for im in gt["images"]}
cats = [c["id"] for c in gt["categories"]]
dets = []
for a in gt["annotations"]:
    if a.get("iscrowd"):
        continue
    if rng.random() < 0.1:
        continue
    x, y, w, h = a["bbox"]
    x0 = x + rng.gauss(0, args.jitter * w)
    y0 = y + rng.gauss(0, args.jitter * h)
    x1 = x + w + rng.gauss(0, args.jitter * w)
    y1 = y + h + rng.gauss(0, args.jitter * h)
    dets.append({"image_id": a["image_id"], "category_id": a["category_id"],
                 "bbox": [round(min(x0, x1), 2), round(min(y0, y1), 2), round(abs(x1 - x0), 2), round(abs(y1 - y0), 2)],
                 "score": round(rng.uniform(0.3, 1.0), 4)})
for _ in range(len(gt["annotations"]) // 10):
    image = rng.choice(gt["images"])
    w, h = rng.uniform(8, 80), rng.uniform(8, 80)
    dets.append({"image_id": image["id"], "category_id": rng.choice(cats),
                 "bbox": [round(rng.uniform(0, image["width"] - w), 2), round(rng.uniform(0, image["height"] - h), 2),
                          round(w, 2), round(h, 2)], "score": round(rng.uniform(0.0, 0.8), 4)})
json.dump(dets, open(args.out, "w"))
print(f"{len(dets)} detections from {len(gt['annotations'])} annotations (jitter {args.jitter}, seed {args.seed})")
