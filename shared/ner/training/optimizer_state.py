"""Adam's state in a form that survives rebuilding the pipeline in another process.

thinc keys the state (``mom1``, ``mom2``, ``nr_update``, ``last_seen``, ``averages``) by
``(model.id, param name)``, and model ids change whenever a pipeline is rebuilt, so the keys are stored
as (position of the node in a walk over every pipe's model, param name) and mapped back to the new ids
on restore. The positions of the optimizer's schedules (learning rate etc.) are restored by stepping a
fresh optimizer ``step`` times, as spaCy's loop steps them once per update. Not stored: RAdam's
step-size cache (only used if the config switches to RAdam; it is recomputed on demand, so the values
are the same).
"""

from __future__ import annotations

from typing import Any

from spacy.language import Language
from thinc.api import Model, Optimizer

from shared.errors import TrainingFailed
from shared.ner.training.arrays import decode_array, encode_array


def _node_ids(nlp: Language) -> list[int]:
    """Ids of every model node, pipe by pipe, in walk order (stable across rebuilds of one config)."""
    ids: list[int] = []
    for _name, proc in nlp.pipeline:
        model = getattr(proc, "model", None)
        if isinstance(model, Model):
            ids.extend(node.id for node in model.walk())
    return ids


def optimizer_state(nlp: Language, optimizer: Optimizer) -> dict[str, Any]:
    """Adam's state keyed by (node position, param name) instead of process-local model ids."""
    position: dict[int, int] = {}
    for index, node_id in enumerate(_node_ids(nlp)):
        position.setdefault(node_id, index)
    averages = optimizer.averages
    keys = set(optimizer.mom1) | set(optimizer.mom2) | set(optimizer.nr_update) | set(optimizer.last_seen)
    if averages is not None:
        keys |= set(averages)
    entries = []
    for key in sorted(keys, key=lambda k: (position.get(k[0], -1), k[1])):
        node_id, name = key
        if node_id not in position:
            raise TrainingFailed(
                f"Optimizer state refers to a model node ({node_id}, {name}) not in the pipeline."
            )
        entries.append(
            {
                "node": position[node_id],
                "name": name,
                "mom1": encode_array(optimizer.mom1[key]) if key in optimizer.mom1 else None,
                "mom2": encode_array(optimizer.mom2[key]) if key in optimizer.mom2 else None,
                "nr_update": int(optimizer.nr_update.get(key, 0)),
                "last_seen": int(optimizer.last_seen.get(key, 0)),
                "average": encode_array(averages[key]) if averages is not None and key in averages else None,
            }
        )
    return {"entries": entries}


def restore_optimizer(nlp: Language, state: dict[str, Any], step: int) -> Optimizer:
    """A fresh optimizer from the config with the saved state mapped onto this pipeline's model ids."""
    optimizer = nlp.create_optimizer()
    for _ in range(step):
        optimizer.step_schedules()
    ids = _node_ids(nlp)
    for entry in state["entries"]:
        key = (ids[entry["node"]], entry["name"])
        if entry["mom1"] is not None:
            optimizer.mom1[key] = decode_array(entry["mom1"])
        if entry["mom2"] is not None:
            optimizer.mom2[key] = decode_array(entry["mom2"])
        if entry["nr_update"]:
            optimizer.nr_update[key] = entry["nr_update"]
        if entry["last_seen"]:
            optimizer.last_seen[key] = entry["last_seen"]
        if entry["average"] is not None and optimizer.averages is not None:
            optimizer.averages[key] = decode_array(entry["average"])
    return optimizer
