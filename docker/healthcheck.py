"""Docker HEALTHCHECK: exit 0 when GET /health/ready answers 200 (stdlib only, no curl)."""

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("IKAR_PORT", "6666")
    url = f"http://127.0.0.1:{port}/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
