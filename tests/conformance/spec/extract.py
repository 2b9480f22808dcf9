"""Cut the deployment fragment out of Azure's authoring swagger: how ``swagger/*.deployments.json`` are made.

Usage, with a checkout of Azure/azure-rest-api-specs (at the commit named in SOURCE.md)::

    python tests/conformance/spec/extract.py <checkout>/specification/.../analyzetext-authoring.json \\
        --commit <sha> --out tests/conformance/spec/swagger/<api-version>.deployments.json
    python tests/conformance/spec/extract.py <same swagger> --check tests/conformance/spec/swagger/<file>

The rule: keep the paths that are about deployments (``/deployments``, ``/resources``,
``global/deployments/resources``) and of each operation only its ``operationId``, its responses (the
schema ``$ref`` and the ``Operation-Location`` header) and its ``x-ms-examples`` file names; keep the
definitions those responses reach through ``$ref`` (transitively); drop what does not validate anything
(``description``, ``title``, ``x-ms-*`` extensions). Request parameters are left out: the test sends the
examples' own requests. ``--check`` reports any difference between a vendored fragment and a fresh cut.
Not used by the tests (CI has no network); it documents and re-checks the vendoring.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = "Azure/azure-rest-api-specs"
KEEP_PATH_PARTS = ("/deployments", "/resources")
DROP_KEYS = frozenset({"description", "title"})


def _minimise(node: Any) -> Any:
    if isinstance(node, list):
        return [_minimise(item) for item in node]
    if not isinstance(node, dict):
        return node
    kept: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROP_KEYS or key.startswith("x-ms-"):
            continue
        if key == "properties" and isinstance(value, dict):
            # Property names are data (a model may well have a "description" property): keep them all.
            kept[key] = {name: _minimise(schema) for name, schema in value.items()}
        else:
            kept[key] = _minimise(value)
    return kept


def _refs(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["$ref"].rsplit("/", 1)[1]} if isinstance(node.get("$ref"), str) else set()
    return found.union(*(_refs(value) for value in node.values()))


def _operation(operation: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, response in operation["responses"].items():
        kept: dict[str, Any] = {}
        if "schema" in response:
            kept["schema"] = _minimise(response["schema"])
        headers = response.get("headers", {})
        if "Operation-Location" in headers:
            kept["headers"] = {"Operation-Location": _minimise(headers["Operation-Location"])}
        responses[status] = kept
    examples = {name: ref["$ref"] for name, ref in operation.get("x-ms-examples", {}).items()}
    return {"operationId": operation["operationId"], "responses": responses, "x-ms-examples": examples}


def cut(swagger: dict[str, Any], source: dict[str, str]) -> dict[str, Any]:
    """The fragment of ``swagger`` (a parsed authoring swagger) the conformance test needs."""
    paths = {
        path: {method: _operation(operation) for method, operation in methods.items()}
        for path, methods in swagger["paths"].items()
        if any(part in path for part in KEEP_PATH_PARTS)
    }
    wanted, definitions = _refs(paths), {}
    while wanted:
        name = wanted.pop()
        if name in definitions:
            continue
        definitions[name] = _minimise(swagger["definitions"][name])
        wanted |= _refs(definitions[name]) - set(definitions)
    return {"source": source, "paths": paths, "definitions": dict(sorted(definitions.items()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("swagger", type=Path, help="analyzetext-authoring.json of one api-version")
    parser.add_argument("--commit", default="", help="commit of the checkout (recorded as the source)")
    parser.add_argument("--out", type=Path, help="write the fragment here")
    parser.add_argument("--check", type=Path, help="compare this vendored fragment with a fresh cut")
    args = parser.parse_args(argv)
    swagger = json.loads(args.swagger.read_text(encoding="utf-8"))
    path = args.swagger.as_posix()
    relative = path[path.index("specification/") :] if "specification/" in path else args.swagger.name
    if args.check:
        vendored = json.loads(args.check.read_text(encoding="utf-8"))
        fresh = cut(swagger, vendored["source"])
        if fresh == vendored:
            print(f"{args.check}: same as a fresh cut")
            return 0
        for key in ("paths", "definitions"):
            for name in sorted(set(fresh[key]) | set(vendored[key])):
                if fresh[key].get(name) != vendored[key].get(name):
                    print(f"{key} {name}: differs")
        return 1
    fragment = cut(swagger, {"repo": REPO, "path": relative, "commit": args.commit})
    text = json.dumps(fragment, indent=2) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
