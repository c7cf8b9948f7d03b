#!/usr/bin/env python3
"""Reference EfficientNet-Lite0 features for hetal's image-extraction tests.

Writes small synthetic test images (PNG, in class folders, and a uint8 .npy
stack) and their 1280-d pooled features computed with PyTorch and the
`efficientnet_lite_pytorch` package (the EfficientNet port the weights were
published for), after hetal's documented preprocessing (centre crop of
224/256 of the shorter side, bilinear resize to 224 with
torch.nn.functional.interpolate(align_corners=False), (x - 127) / 128).

    python scripts/reference/image_features.py WEIGHTS.pth OUT_DIR

Needs torch, numpy, pillow and efficientnet_lite_pytorch (not hetal's build
or tests: the outputs are committed).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from efficientnet_lite_pytorch import EfficientNet

SIZE = 224


def preprocess(pixels):
    """pixels: H x W x C float32 in [0, 255] (C = 1 or 3) -> 1 x 3 x 224 x 224."""
    h, w, c = pixels.shape
    crop = (SIZE * min(h, w)) // (SIZE + 32)
    top, left = (h - crop + 1) // 2, (w - crop + 1) // 2
    x = pixels[top:top + crop, left:left + crop, :]
    if c == 1:
        x = np.repeat(x, 3, axis=2)
    x = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1).unsqueeze(0)
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return (x - 127.0) / 128.0


def synthetic_images(rng):
    yy, xx = np.mgrid[0:48, 0:64]
    gradient = np.stack([xx * 4, yy * 5, (xx + yy) * 2], axis=2).clip(0, 255).astype(np.uint8)
    noise = rng.integers(0, 256, size=(40, 40), dtype=np.uint8)
    board = np.zeros((200, 300, 3), dtype=np.uint8)
    board[((np.arange(200)[:, None] // 25 + np.arange(300)[None, :] // 25) % 2) == 1] = (200, 30, 90)
    board[60:140, 100:220] = (20, 220, 240)
    return [
        ("shapes/board.png", Image.fromarray(board)),
        ("shapes/gradient.png", Image.fromarray(gradient)),
        ("texture/noise.png", Image.fromarray(noise, mode="L")),
    ]


def main():
    weights, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    rng = np.random.default_rng(14)
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    model.eval()

    def features(batch):
        with torch.no_grad():
            f = model.extract_features(batch)
            return F.adaptive_avg_pool2d(f, 1).flatten(1).numpy().astype(np.float32)

    files, labels, feats = [], [], []
    for rel, image in synthetic_images(rng):
        path = os.path.join(out, "images", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        image.save(path)
        pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
        files.append(rel)
        labels.append(rel.split("/")[0])
        feats.append(features(preprocess(pixels))[0])

    # A uint8 stack of grey 28 x 28 digits-like images, with labels.
    stack = np.zeros((2, 28, 28), dtype=np.uint8)
    stack[0, 6:22, 12:16] = 255
    stack[1] = rng.integers(0, 256, size=(28, 28), dtype=np.uint8)
    np.save(os.path.join(out, "stack.npy"), stack)
    np.save(os.path.join(out, "stack_labels.npy"), np.array([7, 3], dtype=np.int64))
    stack_feats = [
        features(preprocess(stack[i].astype(np.float32)[:, :, None]))[0] for i in range(2)
    ]

    state = torch.load(weights, map_location="cpu")
    probes = {}
    for name in ["_conv_stem.weight", "_blocks.15._depthwise_conv.weight", "_fc.weight"]:
        t = state[name]
        probes[name] = {
            "contiguous_in_file": bool(t.is_contiguous()),
            "first": [float(v) for v in t.flatten()[:8]],
            "abs_sum": float(t.double().abs().sum()),
        }
    fixture = {
        "generator": (
            f"scripts/reference/image_features.py: efficientnet_lite_pytorch, "
            f"torch {torch.__version__}, CPU, float32"
        ),
        "files": files,
        "labels": labels,
        "features": [[float(v) for v in f] for f in feats],
        "stack_labels": [7, 3],
        "stack_features": [[float(v) for v in f] for f in stack_feats],
        "weight_probes": probes,
    }
    with open(os.path.join(out, "efficientnet_reference.json"), "w") as f:
        json.dump(fixture, f)
        f.write("\n")
    print("wrote", out, [float(np.abs(f).max()) for f in feats])


if __name__ == "__main__":
    main()
