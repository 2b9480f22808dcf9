"""Index a function app with Microsoft's Python worker code (``azure-functions-runtime``) and print JSON.

Run by tests/unit/test_worker_indexing.py with a Python 3.13 interpreter in a venv holding
``azure-functions-runtime`` and the app's requirements: ``python worker_index.py APP_DIR``.

The worker's own start-up runs as it does in Azure: ``handle_event.worker_init_request`` loads the
binding registry and indexes the app (``load_function_metadata`` → ``loader.index_function_app`` →
``Registry.add_indexed_function`` with its binding checks → ``get_raw_bindings``). The one stand-in is
``protos``: the gRPC message classes that the host-side proxy worker passes in with the init request
(that proxy is not on PyPI for 3.13). Only their enum values (FunctionRpc.proto's
``BindingInfo.Direction``/``DataType`` and ``StatusResult.Status`` numbers) and plain records are used.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from types import SimpleNamespace
from typing import Any


class _BindingInfo(SimpleNamespace):
    # FunctionRpc.proto: enum Direction { in = 0; out = 1; inout = 2; }
    # enum DataType { undefined = 0; string = 1; binary = 2; stream = 3; }
    out = 1
    inout = 2
    undefined = 0
    string = 1
    binary = 2
    stream = 3


setattr(_BindingInfo, "in", 0)


class _Record(SimpleNamespace):
    pass


class _StatusResult(SimpleNamespace):
    # FunctionRpc.proto: enum Status { Failure = 0; Success = 1; Cancelled = 2; }
    Failure = 0
    Success = 1


PROTOS = SimpleNamespace(
    BindingInfo=_BindingInfo,
    RpcFunctionMetadata=_Record,
    RpcRetryOptions=_Record,
    WorkerInitResponse=_Record,
    WorkerMetadata=_Record,
    RpcException=_Record,
    StatusResult=_StatusResult,
)


def main(app_dir: str) -> int:
    sys.path.insert(0, app_dir)
    os.chdir(app_dir)
    from azure_functions_runtime import handle_event

    init = SimpleNamespace(capabilities={}, function_app_directory=app_dir)
    request = SimpleNamespace(
        request=SimpleNamespace(worker_init_request=init), properties={"host": None, "protos": PROTOS}
    )
    response = asyncio.run(handle_event.worker_init_request(request))
    if response.result.status != _StatusResult.Success:
        print("FAILED " + json.dumps(getattr(response.result, "exception", None).message), file=sys.stderr)
        return 1
    functions: dict[str, Any] = {}
    for metadata in handle_event._metadata_result or []:
        bindings = [json.loads(raw) for raw in metadata.raw_bindings]
        functions[metadata.name] = bindings
    print("RESULT " + json.dumps(functions, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
