"""A small non-durable app for devhost tests: HTTP routes, a timer, queue and storage bindings."""

from __future__ import annotations

import json
import logging

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Timer runs, observable over HTTP (the host is one process).
TIMER_RUNS: list[dict[str, object]] = []


def _json(body: object, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


@app.route(route="hello/{name}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return _json(
        {
            "name": req.route_params["name"],
            "greeting": req.params.get("greeting", "hello"),
            "method": req.method,
            "header": req.headers.get("x-test"),
        }
    )


@app.route(route="items/{id:int}", methods=["GET", "PUT"])
async def item_by_id(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return _json({"id": int(req.route_params["id"]), "kind": "int", "function": context.function_name})


@app.route(route="items/{name}", methods=["GET"])
def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"name": req.route_params["name"], "kind": "name"})


@app.route(route="projects/{projectName}/:train", methods=["POST"])
def train(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"project": req.route_params["projectName"], "body": req.get_json()}, status=202)


@app.route(route="boom", methods=["GET"])
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("boom on purpose")


@app.route(route="text", methods=["GET"])
def text(req: func.HttpRequest) -> str:
    return "plain text"


@app.route(route="timer-runs", methods=["GET"])
def timer_runs(req: func.HttpRequest) -> func.HttpResponse:
    return _json(TIMER_RUNS)


@app.timer_trigger(schedule="%BASIC_TIMER_SCHEDULE%", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    TIMER_RUNS.append({"past_due": timer.past_due, "next": timer.schedule_status.get("Next")})
    logging.info("tick %d", len(TIMER_RUNS))


@app.queue_trigger(arg_name="msg", queue_name="%BASIC_INPUT_QUEUE%", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="out", queue_name="%BASIC_OUTPUT_QUEUE%", connection="AzureWebJobsStorage")
@app.blob_output(arg_name="saved", path="%BASIC_CONTAINER%/{file}.txt", connection="AzureWebJobsStorage")
def on_message(msg: func.QueueMessage, out: func.Out[str], saved: func.Out[str]) -> None:
    payload = json.loads(msg.get_body().decode("utf-8"))
    if payload.get("fail"):
        raise ValueError(f"message {payload['id']} asked to fail")
    saved.set(payload["text"])
    out.set(json.dumps({"id": payload["id"], "text": payload["text"].upper(), "dequeue_count": msg.dequeue_count}))


@app.route(route="files/{id}", methods=["GET"])
@app.blob_input(arg_name="content", path="%BASIC_CONTAINER%/{id}.txt", connection="AzureWebJobsStorage")
def read_file(req: func.HttpRequest, content: str) -> func.HttpResponse:
    if content is None:
        return func.HttpResponse(status_code=404)
    return func.HttpResponse(content, mimetype="text/plain")


@app.route(route="entities/{pk}/{rk}", methods=["GET"])
@app.table_input(
    arg_name="entity", table_name="%BASIC_TABLE%", partition_key="{pk}", row_key="{rk}",
    connection="AzureWebJobsStorage",
)
def read_entity(req: func.HttpRequest, entity: str) -> func.HttpResponse:
    if entity is None:
        return func.HttpResponse(status_code=404)
    return func.HttpResponse(entity, mimetype="application/json")
