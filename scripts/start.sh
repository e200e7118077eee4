#!/bin/sh
# `npm start -- [host flags]`: starts a taglets host (default name 'alpha', port 8765).
. "$(dirname "$0")/node-env.sh"
case " $* " in *" --name "*|*" -n "*) exec node dist/cli/main.js host "$@" ;; esac
exec node dist/cli/main.js host --name alpha "$@"
