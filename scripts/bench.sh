#!/bin/sh
# `npm run bench`: benchmarks; prints a table and writes JSON to bench/results/.
. "$(dirname "$0")/node-env.sh"
exec node bench/run.ts "$@"
