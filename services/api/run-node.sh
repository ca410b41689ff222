#!/bin/sh
# Runs node with the API's memory settings. Every way the API runs goes through here (the image's
# CMD, so Compose and Helm too; npm start; the benchmarks), so the settings live in this file only.
#   sh services/api/run-node.sh <node binary> [node options] <entry point>
# Why each setting: README, "API memory".
# - glibc malloc: by default every thread that allocates gets an arena of its own, and the mmap and
#   trim thresholds rise after each large free, so native memory that V8's compiler and GC threads
#   freed stayed resident (~45 MB after the intake benchmark). Two arenas and fixed 128 KiB
#   thresholds give it back (~18 MB kept).
# A MALLOC_* variable already in the environment wins (an operator's override).
set -e
node="$1"
shift
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-131072}"
exec "$node" "$@"
