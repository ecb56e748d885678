#!/usr/bin/env bash
# Validate docker-compose.yml (or the file given) against the Compose specification,
# offline, with the schema bundled in check-jsonschema (pip install -e '.[test]').
# No Docker engine needed.   Usage: bash scripts/validate_compose.sh [FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
exec check-jsonschema --builtin-schema vendor.compose-spec "${1:-docker-compose.yml}"
