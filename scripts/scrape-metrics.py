#!/usr/bin/env python3
"""Scrape a Prometheus endpoint once and print what Prometheus' own Python
parser (prometheus_client) reads from it, as JSON: the HTTP status and
content type, the time the scrape took, every family's type and samples.
Used by the metrics tests and bench/metrics.py."""
import json
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def scrape(url, timeout=30):
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = response.read().decode("utf-8")
        status, ctype = response.status, response.headers.get("Content-Type", "")
    seconds = time.monotonic() - start
    families = {}
    for family in text_string_to_metric_families(body):
        families[family.name] = {
            "type": family.type,
            "help": family.documentation,
            "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples],
        }
    return {"status": status, "contentType": ctype, "seconds": seconds, "bytes": len(body), "families": families}


if __name__ == "__main__":
    print(json.dumps(scrape(sys.argv[1])))
