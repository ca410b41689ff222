#!/bin/sh
# Prisma's native schema engine cannot be downloaded here; `prisma generate` only needs the path
# to exist. Exiting 1 makes any migrate command fail loudly instead of silently doing nothing.
echo "prisma schema engine is not available offline (see tools/prisma6)" >&2
exit 1
