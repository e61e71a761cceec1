#!/bin/sh
# Container entry. The token: AVIN_TOKEN_FILE names a Docker/Kubernetes secret file, which avin
# reads itself (engine/security/token_source.py), so the token never sits in the image, the
# command line, `docker inspect` or the process environment.
set -eu
exec avin "$@"
