#!/usr/bin/python3
"""The expected values of tests/test_detect_retina_targets.cpp, printed by torchvision 0.14 (Debian python3-torchvision,
run with /usr/bin/python3): anchors, Matcher, sigmoid_focal_loss, RetinaNetHead.compute_loss arithmetic and
RetinaNet.postprocess_detections."""
import torch, math
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection import _utils as det_utils
from torchvision.ops import sigmoid_focal_loss, box_iou
from torchvision.models.detection.image_list import ImageList
torch.set_printoptions(precision=10)
# 1. cell anchors for size 32
sizes = tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3))) for x in [32, 64, 128, 256, 512])
print("sizes", sizes)
ag = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * 5)
print("cell32", ag.cell_anchors[0].tolist())
# 2. image anchors: halved bases 16, 32 on a 40x36 padded image (not square), feature maps 5x5 and 3x3
ag2 = AnchorGenerator(tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3))) for x in [16, 32]), ((0.5,1.0,2.0),)*2)
images = ImageList(torch.zeros(1,3,40,36), [(40,36)])
feats = [torch.zeros(1,8,5,5), torch.zeros(1,8,3,3)]
a = ag2(images, feats)[0]
print("img_anchors_shape", list(a.shape), "sum", a.sum().item(), "row0", a[0].tolist(), "row100", a[100].tolist(), "last", a[-1].tolist())
# 3. matcher
iou = torch.tensor([[0.9, 0.45, 0.3, 0.2, 0.0, 0.35],
                    [0.1, 0.45, 0.0, 0.2, 0.0, 0.35],
                    [0.0, 0.0, 0.0, 0.0, 0.0, 0.39]])
m = det_utils.Matcher(0.5, 0.4, allow_low_quality_matches=True)
print("match", m(iou).tolist())
m2 = det_utils.Matcher(0.5, 0.4, allow_low_quality_matches=False)
print("match_nolq", m2(iou).tolist())
# 4. focal
x = torch.tensor([-3.0, -0.5, 0.0, 0.7, 4.0]); t = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
print("focal", sigmoid_focal_loss(x, t, reduction="none").tolist())
# 5. loss on a tiny batch
A = a.shape[0]; K = 3
i = torch.arange(2*A*K, dtype=torch.float32)
cls = torch.sin(i * 0.37).view(2, A, K) * 2
j = torch.arange(2*A*4, dtype=torch.float32)
reg = torch.cos(j * 0.11).view(2, A, 4) * 0.5
targets = [{"boxes": torch.tensor([[4.0, 6.0, 20.0, 18.0], [10.0, 2.0, 34.0, 38.0]]), "labels": torch.tensor([2, 0])},
           {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]
coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
for kind in ["l1", "smooth_l1"]:
    cls_losses, box_losses, fgs = [], [], 0
    for b, t in enumerate(targets):
        if t["boxes"].numel() == 0:
            mi = torch.full((A,), -1, dtype=torch.int64)
        else:
            mi = m(box_iou(t["boxes"], a))
        fg = mi >= 0; n = fg.sum(); fgs += int(n)
        tgt = torch.zeros_like(cls[b]); tgt[fg, t["labels"][mi[fg]]] = 1.0
        valid = mi != -2
        cls_losses.append(sigmoid_focal_loss(cls[b][valid], tgt[valid], reduction="sum") / max(1, n))
        box_losses.append(det_utils._box_loss(kind, coder, a[fg], t["boxes"][mi[fg]], reg[b][fg]) / max(1, n))
    print(kind, "cls", (sum(cls_losses)/2).item(), "box", (sum(box_losses)/2).item(), "fg", fgs)
# 6. post-processing of image 0's outputs (levels of 225 and 81 anchors), K = 3, torchvision's defaults
from torchvision.models.detection.retinanet import RetinaNet
import torchvision
logits0 = (torch.sin(torch.arange(A * K, dtype=torch.float32) * 0.37) * 3 - 2).view(A, K)
deltas0 = (torch.cos(torch.arange(A * 4, dtype=torch.float32) * 0.11) * 0.3).view(A, 4)
class P:  # the bound method needs only these attributes
    score_thresh, topk_candidates, nms_thresh, detections_per_img = 0.05, 1000, 0.5, 300
    box_coder = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
split = [225, 81]
out = RetinaNet.postprocess_detections(P(), {"cls_logits": [t.unsqueeze(0) for t in logits0.split(split)],
                                            "bbox_regression": [t.unsqueeze(0) for t in deltas0.split(split)]},
                                       [list(a.split(split))], [(40, 36)])[0]
print("post n", out["boxes"].shape[0], "score_sum", out["scores"].sum().item(), "box_sum", out["boxes"].sum().item(),
      "label_sum", out["labels"].sum().item())
print("post first", out["boxes"][0].tolist(), out["scores"][0].item(), out["labels"][0].item())
