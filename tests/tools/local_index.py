"""Print, as JSON, what the local host (devhost) indexes and serves for an app: every function's raw
bindings and, for HTTP triggers, the route template (prefix included) and methods it answers.

``python local_index.py APP_DIR``; used by tests/unit/test_worker_indexing.py beside worker_index.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from devhost.http_server import build_route_table
from devhost.indexer import load_app


def main(app_dir: str) -> int:
    app = load_app(Path(app_dir), apply_settings=False)
    _, routes = build_route_table(app)
    served = {route.function.name: route for route in routes}
    out = {}
    for name, function in app.functions.items():
        entry = {"bindings": [binding.get_dict_repr() for binding in function.bindings]}
        if name in served:
            entry["route"] = served[name].template.template
            entry["methods"] = sorted(served[name].methods or [])
        out[name] = entry
    print("RESULT " + json.dumps(out, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
