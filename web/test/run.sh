#!/usr/bin/env bash
# The teaching page's browser test: installs Debian's Chromium and the test's one npm package when missing, then
# drives web/dist/index.html in headless Chromium (web/test/browser.mjs). Needs web/build.sh and
# `cargo build --release` to have run. Screenshots go to web/test/artifacts/.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium (once)"
    as_root=""
    [ "$(id -u)" = 0 ] || as_root="sudo"
    $as_root apt-get install -y -qq chromium >/dev/null 2>&1 ||
        { $as_root apt-get update -qq && $as_root apt-get install -y -qq chromium >/dev/null; }
fi
if [ ! -d node_modules/playwright-core ]; then
    npm ci --silent --no-audit --no-fund
fi
node browser.mjs
