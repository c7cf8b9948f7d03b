#!/usr/bin/env bash
# ARM checks for hetal: installs the cross tools, lints and builds the
# Cortex-M firmware, runs hetal-nostd's test suite on 32-bit ARM Linux
# (armv7, under qemu-arm), and runs the firmware end to end under
# qemu-system-arm (tests/tests/firmware.rs).
#
# Usage: firmware-example/ci.sh   (from anywhere; needs root or sudo for apt)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fw="$root/firmware-example"

step() { printf '\n== %s\n' "$*"; }

step "install cross tools"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
need=()
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v qemu-arm >/dev/null || need+=(qemu-user)
command -v arm-linux-gnueabihf-gcc >/dev/null || need+=(gcc-arm-linux-gnueabihf)
if [ "${#need[@]}" -gt 0 ]; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
rustup target add thumbv7em-none-eabihf armv7-unknown-linux-gnueabihf
qemu-system-arm --version | head -n 1

step "firmware: fmt and clippy"
# Linting needs no real key: an empty stand-in frame (a firmware built with
# it refuses to run: the key fails to decode).
stand_in="$(mktemp)"
trap 'rm -f "$stand_in"' EXIT
(
    cd "$fw"
    cargo fmt --check
    HETAL_PK_FRAME="$stand_in" cargo clippy --release -- -D warnings
)

step "hetal-nostd test suite on armv7-unknown-linux-gnueabihf (qemu-arm)"
(
    cd "$root"
    export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
    export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER="qemu-arm -L /usr/arm-linux-gnueabihf"
    cargo test -p hetal-nostd --features std --target armv7-unknown-linux-gnueabihf
)

step "firmware end to end under qemu-system-arm (mps2-an500)"
(
    cd "$root"
    HETAL_FIRMWARE_REQUIRED=1 cargo test --release -p hetal-tests --test firmware -- --nocapture
)
