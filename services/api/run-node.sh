#!/bin/sh
# Runs node with the API's memory settings. Every way the API runs goes through here (the image's
# CMD, so Compose and Helm too; npm start; the benchmarks), so the settings live in this file only.
#   sh services/api/run-node.sh <node binary> [node options] <entry point>
# Why each setting: README, "API memory".
# - glibc malloc: by default every thread that allocates gets an arena of its own, and the mmap and
#   trim thresholds rise after each large free, so native memory that V8's compiler and GC threads
#   freed stayed resident (~45 MB after the intake benchmark). Two arenas and fixed 128 KiB
#   thresholds give it back (~18 MB kept).
# - --max-semi-space-size=4: V8's young generation stops at 2 × 4 MB instead of growing to
#   2 × 16 MB within seconds of load and keeping it; more scavenges, each cheaper.
# - --heap-growing-percent=50: a full GC comes when the old generation reaches 1.5 × its live size
#   (~40 MB), not up to 4 ×, V8's default on a machine with much memory, where garbage promoted
#   under load piled up to ~90 MB. Not 30: the task list, which allocates far more per request,
#   then spent ~50 % more CPU per request in full GCs (p99 27 ms against 16 at 100k tasks).
# A MALLOC_* variable already in the environment wins (an operator's override).
set -e
node="$1"
shift
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
export MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-131072}"
exec "$node" --max-semi-space-size=4 --heap-growing-percent=50 "$@"
