#!/usr/bin/env python3
"""MPNet's relative-position buckets as transformers computes them (float32
logarithms), for relative positions -520..520 and 32 buckets, as JSON.

    python scripts/reference/mpnet_buckets.py OUT.json
"""
import json
import sys

import torch
import transformers
from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

rel = torch.arange(-520, 521)
buckets = MPNetEncoder.relative_position_bucket(rel, num_buckets=32, max_distance=128)
with open(sys.argv[1], "w") as f:
    json.dump(
        {
            "generator": f"scripts/reference/mpnet_buckets.py: transformers {transformers.__version__}, torch {torch.__version__}",
            "first_relative_position": -520,
            "buckets": buckets.tolist(),
        },
        f,
    )
    f.write("\n")
