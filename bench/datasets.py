"""Datasets: a folder laid out like a project's container, splits and spaCy corpora."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Dataset:
    """A folder laid out like a project's blob container: documents plus an Azure project file."""

    name: str
    folder: Path
    raw: dict[str, Any]
    project: Any  # shared.ner.project_file.ProjectFile
    data: dict[str, bytes]
    texts: dict[str, str]

    @property
    def assets(self) -> dict[str, Any]:
        return {doc.location: doc for doc in self.project.documents}

    @property
    def lang(self) -> str:
        from shared.ner.corpus import spacy_language

        return spacy_language(self.project.language)


def find_project_file(folder: Path) -> Path:
    """``project.json`` if present, else the one JSON file in ``folder`` that has ``projectFileVersion``."""
    if (folder / "project.json").exists():
        return folder / "project.json"
    candidates = []
    for path in sorted(folder.glob("*.json")):
        try:
            if "projectFileVersion" in json.loads(path.read_text(encoding="utf-8-sig")):
                candidates.append(path)
        except (ValueError, OSError):
            continue
    if len(candidates) != 1:
        raise SystemExit(
            f"{folder}: expected one project file, found {[p.name for p in candidates]}; pass --project-file"
        )
    return candidates[0]


def load_dataset(folder: Path, project_file: Path | None = None) -> Dataset:
    """Parse the project file with the service's own parser and decode every document byte-exact."""
    from shared.ner.documents import decode_document
    from shared.ner.project_file import parse_project_file

    folder = folder.resolve()
    path = project_file or find_project_file(folder)
    raw = json.loads(path.read_text(encoding="utf-8-sig"))
    project = parse_project_file(raw)
    data: dict[str, bytes] = {}
    texts: dict[str, str] = {}
    for doc in project.documents:
        blob = (folder / doc.location).read_bytes()
        data[doc.location] = blob
        texts[doc.location] = decode_document(doc.location, blob)
    return Dataset(folder.name, folder, raw, project, data, texts)


def choose_split(ds: Dataset, mode: str, seed: int) -> tuple[list[str], list[str], str]:
    """Pick the train/test documents once, for both sides.

    ``keep`` uses each document's ``dataset`` value; ``seeded`` runs the service's own seeded,
    stratified 80/20 split (shared.ner.splitting.split_documents); ``auto`` keeps the file's split when
    every document has one, else seeds.
    """
    docs = ds.project.documents
    if mode == "auto":
        mode = "keep" if all(d.dataset for d in docs) else "seeded"
    if mode == "keep":
        train = [d.location for d in docs if (d.dataset or "").lower() == "train"]
        test = [d.location for d in docs if (d.dataset or "").lower() == "test"]
        if not test:
            raise SystemExit(f"{ds.name}: --split keep but no document has dataset Test")
        return train, test, "keep"
    from shared.models import EvaluationOptions
    from shared.ner.splitting import split_documents

    result = split_documents(docs, EvaluationOptions(), seed=seed)
    return list(result.train), list(result.test), f"seeded(80/20, seed={seed})"


def manual_project_json(
    ds: Dataset, project_name: str, container: str, train: Sequence[str], test: Sequence[str]
) -> dict[str, Any]:
    """The dataset's project file, renamed, pointed at ``container`` and with ``dataset`` set per document."""
    body = copy.deepcopy(ds.raw)
    body["metadata"]["projectName"] = project_name
    body["metadata"]["storageInputContainerName"] = container
    assignment = {loc: "Train" for loc in train} | {loc: "Test" for loc in test}
    documents = [doc for doc in body["assets"]["documents"] if doc["location"] in assignment]
    for doc in documents:
        doc["dataset"] = assignment[doc["location"]]
    body["assets"]["documents"] = documents
    return body


def doc_bin(ds: Dataset, locations: Iterable[str]) -> tuple[bytes, int]:
    """DocBin bytes for ``locations`` built by the service's converter; returns (bytes, warning count)."""
    from shared.ner.corpus import build_doc_bin

    assets = ds.assets
    data, warnings = build_doc_bin(ds.lang, ((assets[loc], ds.texts[loc]) for loc in locations))
    return data, len(warnings)


def dev_carve(ds: Dataset, train: Sequence[str], seed: int) -> tuple[list[str], list[str]]:
    """(train-minus-dev, dev): the service's carve of a dev set out of the training documents."""
    from shared.ner.splitting import carve_dev_set

    assets = ds.assets
    rest, dev = carve_dev_set([assets[loc] for loc in train], seed=seed)
    return list(rest), list(dev)


def folds(ds: Dataset, k: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """``k`` (train, test) pairs in which every labelled document is a test document exactly once.

    The documents are shuffled once with ``seed`` and dealt round-robin into ``k`` test folds (sizes
    differ by at most one); each fold's train part is every other document, in the project's order.
    """
    import random

    locations = [d.location for d in ds.project.documents]
    if not 2 <= k <= len(locations):
        raise SystemExit(f"{ds.name}: --folds must be between 2 and {len(locations)}, got {k}")
    order = list(locations)
    random.Random(f"folds:{seed}").shuffle(order)
    out = []
    for fold in range(k):
        test = set(order[fold::k])
        out.append(([loc for loc in locations if loc not in test], [loc for loc in locations if loc in test]))
    return out
