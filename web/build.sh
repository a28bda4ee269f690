#!/usr/bin/env bash
# Builds the teaching page into web/dist: a folder to open from disk (index.html) or publish on any static host.
#
# Installs what it needs when missing: the wasm32-unknown-unknown target (rustup) and the wasm-bindgen CLI of
# exactly the version web/Cargo.toml pins (cargo install; a few minutes the first time).
set -euo pipefail
cd "$(dirname "$0")"

version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' Cargo.toml)
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
    echo "installing wasm-bindgen-cli $version (once)"
    cargo install wasm-bindgen-cli --version "$version" --force --quiet
fi

cargo build --release --target wasm32-unknown-unknown --quiet
rm -rf dist.tmp
mkdir -p dist.tmp
# `no-modules` gives a classic script (a global `wasm_bindgen`): it runs from file://, where ES modules cannot.
wasm-bindgen --target no-modules --no-typescript --out-dir dist.tmp \
    target/wasm32-unknown-unknown/release/lymphosim_web.wasm
# A browser will not fetch a .wasm file from file://, so the module also travels inside a script, in base64.
{
    printf 'var LYMPHOSIM_WASM_BASE64 = "'
    base64 -w0 dist.tmp/lymphosim_web_bg.wasm
    printf '";\n'
} > dist.tmp/lymphosim_web_wasm.js
rm dist.tmp/lymphosim_web_bg.wasm
cp -r static/. dist.tmp/
rm -rf dist
mv dist.tmp dist
echo "built $(pwd)/dist (open dist/index.html)"
