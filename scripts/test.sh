#!/bin/sh
# `npm test`: unit and integration suites with node:test (real hosts on 127.0.0.1).
. "$(dirname "$0")/node-env.sh"
if [ "$#" -gt 0 ]; then exec node --test --test-concurrency=2 "$@"; fi
exec node --test --test-concurrency=2 --test-timeout=120000 'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts'
