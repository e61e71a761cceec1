#!/bin/sh
# Container entry: the token from a secret file when AVIN_TOKEN_FILE names one (Docker/Kubernetes
# secrets), so it never sits in the image, the command line or `docker inspect`.
set -eu
if [ -n "${AVIN_TOKEN_FILE:-}" ]; then
  if [ ! -r "$AVIN_TOKEN_FILE" ]; then
    echo "avin: AVIN_TOKEN_FILE=$AVIN_TOKEN_FILE cannot be read" >&2
    exit 2
  fi
  AVIN_TOKEN=$(cat "$AVIN_TOKEN_FILE")
  export AVIN_TOKEN
  unset AVIN_TOKEN_FILE
fi
exec avin "$@"
