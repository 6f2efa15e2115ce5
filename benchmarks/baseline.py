"""The client a user writes by hand: one session, page after page, one log type at a time.

    python -m benchmarks.baseline BASE_URL API_KEY > logs.jsonl

Writes every item as a JSON line to stdout. Its only resilience: on HTTP 429 it sleeps
a second and asks again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import requests

LOG_TYPES = (2, 1, 6, 5)
PAGE_SIZE = 100


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.baseline", description=__doc__)
    parser.add_argument("base_url")
    parser.add_argument("api_key")
    parser.add_argument("--types", default=",".join(map(str, LOG_TYPES)), help="e.g. 2,1")
    args = parser.parse_args(argv)

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {args.api_key}"
    url = args.base_url.rstrip("/") + "/api/log/self"
    end = int(time.time())
    out = sys.stdout
    for log_type in map(int, args.types.split(",")):
        page = 1
        while True:
            params = {
                "p": page,
                "page_size": PAGE_SIZE,
                "type": log_type,
                "start_timestamp": 1,
                "end_timestamp": end,
            }
            response = session.get(url, params=params, timeout=60)
            if response.status_code == 429:
                time.sleep(1)
                continue
            response.raise_for_status()
            items = response.json()["data"]["items"]
            for item in items:
                out.write(json.dumps(item) + "\n")
            if len(items) < PAGE_SIZE:
                break
            page += 1
    out.flush()


if __name__ == "__main__":
    main()
