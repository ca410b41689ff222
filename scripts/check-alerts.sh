#!/usr/bin/env bash
# Validates the Prometheus alerting rules in deploy/monitoring with promtool (Debian's `prometheus`
# package, installed here when missing) and that the Grafana dashboard is JSON over Optio series.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null; then
  echo "installing promtool (Debian package prometheus)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null
fi
promtool check rules deploy/monitoring/alerts.yml
node -e '
  const d = JSON.parse(require("node:fs").readFileSync("deploy/monitoring/grafana-dashboard.json", "utf8"));
  const exprs = d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const bad = exprs.filter((e) => !/optio_/.test(e));
  if (!exprs.length || bad.length) { console.error("dashboard: panels without optio_ series:", bad); process.exit(1); }
  console.log(`dashboard: ${d.panels.length} panels, ${exprs.length} queries`);
'
