#!/usr/bin/env python3
"""Checks the Grafana dashboards in observability/grafana/dashboards and lists the metrics they query.

  python3 observability/grafana/check-dashboards.py            checks, a summary, then every metric name queried
  python3 observability/grafana/check-dashboards.py --metrics  only the metric names, one per line (for a test that
                                                               compares them with what the services expose)

Checks: every file parses as JSON, has a non-empty uid and title that no other dashboard uses, and every panel
(panels nested in rows included; a row itself is only a container) uses the datasource with uid "prometheus" and has
at least one target, each with a non-empty expr. Problems go to stderr; the exit code is 0 if all checks pass, 1
otherwise. Standard library only.
"""

import argparse
import json
import re
import sys
from pathlib import Path

DATASOURCE_UID = "prometheus"
DEFAULT_DIR = Path(__file__).resolve().parent / "dashboards"

METRIC = re.compile(
    r"\b(chat_[a-z_]+|messaging_masstransit_[a-z_]+|rabbitmq_[a-z_]+|http_server_[a-z_]+|dotnet_[a-z_]+"
    r"|process_[a-z_]+|pg_[a-z_]+|up)\b"
)
# Parts of an expression that hold label names or values, not metric names: string literals, label matchers
# ({job="relay"}) and grouping/matching clauses (by (le, messaging_masstransit_message_type), on (...), ...).
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
MATCHERS = re.compile(r"\{[^{}]*\}")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")


def metric_names(expr):
    """The metric names an expression queries (label names and values excluded)."""
    stripped = GROUPING.sub(" ", MATCHERS.sub(" ", STRING.sub('""', expr)))
    return set(METRIC.findall(stripped))


def panels_of(container):
    """Every panel of a dashboard, with the panels of (collapsed) rows; rows themselves are left out."""
    for panel in container.get("panels") or []:
        if panel.get("type") == "row":
            yield from panels_of(panel)
        else:
            yield panel


def datasource_uid(datasource):
    return datasource.get("uid") if isinstance(datasource, dict) else datasource


def check_dashboard(path, dashboard, errors):
    """Appends problems to errors; returns (panel count, metric names queried)."""
    metrics, count = set(), 0
    for panel in panels_of(dashboard):
        count += 1
        where = f"{path.name}: panel {panel.get('id')} \"{panel.get('title', '')}\""
        if datasource_uid(panel.get("datasource")) != DATASOURCE_UID:
            errors.append(f"{where}: datasource is {panel.get('datasource')!r}, not uid \"{DATASOURCE_UID}\"")
        targets = panel.get("targets") or []
        if not targets:
            errors.append(f"{where}: no targets")
        for target in targets:
            ref = target.get("refId", "?")
            if "datasource" in target and datasource_uid(target["datasource"]) != DATASOURCE_UID:
                errors.append(f"{where}: target {ref} datasource is {target['datasource']!r}")
            expr = target.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                errors.append(f"{where}: target {ref} has no expr")
                continue
            found = metric_names(expr)
            if not found:
                errors.append(f"{where}: target {ref} queries no known metric: {expr}")
            metrics |= found
    if count == 0:
        errors.append(f"{path.name}: no panels")
    return count, metrics


def dashboard_files(paths):
    for path in paths:
        if path.is_dir():
            yield from sorted(path.glob("*.json"))
        else:
            yield path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", action="store_true", help="print only the metric names, one per line")
    parser.add_argument("paths", nargs="*", type=Path, default=[DEFAULT_DIR],
                        help=f"dashboard files or folders (default: {DEFAULT_DIR})")
    args = parser.parse_args()

    errors, metrics, summary = [], set(), []
    uids, titles = {}, {}
    files = list(dashboard_files(args.paths))
    if not files:
        errors.append(f"no dashboard JSON found in {', '.join(map(str, args.paths))}")
    for path in files:
        try:
            dashboard = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            errors.append(f"{path.name}: does not parse: {error}")
            continue
        if not isinstance(dashboard, dict):
            errors.append(f"{path.name}: not a JSON object")
            continue
        for key, seen in (("uid", uids), ("title", titles)):
            value = dashboard.get(key)
            if not isinstance(value, str) or not value.strip():
                errors.append(f"{path.name}: no {key}")
            elif value in seen:
                errors.append(f"{path.name}: {key} \"{value}\" is also used by {seen[value]}")
            else:
                seen[value] = path.name
        count, queried = check_dashboard(path, dashboard, errors)
        metrics |= queried
        summary.append(f"{path.name}: uid {dashboard.get('uid')}, {count} panels, {len(queried)} metrics")

    if not args.metrics:
        print("\n".join(summary))
        print(f"metrics queried ({len(metrics)}):")
    if metrics:
        print("\n".join(sorted(metrics)))
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if not args.metrics:
        print(f"{len(errors)} problem(s)" if errors else "all checks passed", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
