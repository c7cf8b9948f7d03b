#!/usr/bin/env python3
"""Reference sentence embeddings for hetal's text-extraction tests.

Runs the sentence-transformers library (PyTorch, CPU) on a handful of texts
and writes a JSON fixture: the texts, the token ids the model saw and the
embeddings. hetal's Rust extractor is tested against it (max |delta| <= 1e-4).

    python scripts/reference/text_features.py MODEL_DIR OUT.json

Needs torch and sentence-transformers (not hetal's build or tests: the
fixture is committed). Generated once; see the fixture's "generator" field.
"""
import json
import sys

import numpy as np
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "  Leading and trailing spaces are stripped.  ",
    "I just don't trust my life in google's hands #driverless cars... no thank you",
    "Café naïve façade: ACCENTS and MiXeD case, 3.14159 and 42%!",
    "Emoji 🙂 and CJK 自然言語処理 and Ελληνικά in one sentence.",
    "ok",
    # Long enough to be truncated at the model's max_seq_length.
    " ".join(f"word{i} is followed by more words" for i in range(120)),
    "Self-driving cars just seem lazy and a waste of money",
]


def main():
    model_dir, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    model = SentenceTransformer(model_dir, device="cpu")
    model.eval()
    tokens = model.tokenize(TEXTS)
    ids = [
        row[mask.bool()].tolist()
        for row, mask in zip(tokens["input_ids"], tokens["attention_mask"])
    ]
    with torch.no_grad():
        emb = model.encode(TEXTS, batch_size=len(TEXTS), convert_to_numpy=True)
    emb = np.asarray(emb, dtype=np.float32)
    fixture = {
        "generator": (
            f"scripts/reference/text_features.py: sentence-transformers "
            f"{sentence_transformers.__version__}, torch {torch.__version__}, CPU, float32"
        ),
        "model": model_dir.rstrip("/").split("/")[-1],
        "max_seq_length": model.max_seq_length,
        "texts": TEXTS,
        "token_ids": ids,
        "features": [[float(v) for v in row] for row in emb],
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {out}: {emb.shape[0]} x {emb.shape[1]}, token lengths {[len(i) for i in ids]}")


if __name__ == "__main__":
    main()
