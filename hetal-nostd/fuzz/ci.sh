#!/usr/bin/env bash
# Runs every fuzz target briefly on its committed seed corpus and fails on
# the first crash (a panic, a failed property, a timeout or running out of
# memory). FUZZ_SECONDS sets the time per target (default 30).
#
# New inputs the fuzzer finds go to a scratch directory, not to the
# committed corpus. Targets build without a sanitizer: the decoders are
# safe Rust, so bounds and overflow checks (debug assertions are on)
# already turn memory errors into crashes, and the build is much faster.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-30}"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build -s none
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo +nightly fuzz list); do
    mkdir -p "$scratch/$target"
    echo "fuzz: $target for ${seconds}s" >&2
    cargo +nightly fuzz run -s none "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
done
