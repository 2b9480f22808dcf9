"""Deterministic synthetic Custom NER projects of any size, for the scaling benchmark.

Two generators, both deterministic, and in both the 1,000-document project is a prefix of the 16,000 one:

* ``samples`` (default): the project's own sample generator, ``samples/generate.py``, with
  ``documents=N`` (purchase orders: CRLF documents, emoji outside the BMP, headers outside the labelled
  region; 5 entity types; every 10th document Test). Documents without a ``dataset`` are set to Train so
  the project can be trained with a manual split.
* ``bench``: short business notes from this module's templates (Person, Organization, City, Date,
  Amount; one document in 50 with an emoji; every 5th document Test); document ``i`` depends only on
  (seed, i).

Usage:
  ``.venv/bin/python -m bench.synthetic --documents 1000 --out /tmp/syn1000``   (a dataset folder)
  ``.venv/bin/python -m bench.synthetic --documents 1000 --connection "<conn>" --container syn1000``
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

ENTITY_TYPES = ["Person", "Organization", "City", "Date", "Amount"]
_FIRST = [
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Elif",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Yusuf",
]
_LAST = [
    "Schmidt",
    "Okafor",
    "Novak",
    "García",
    "Lindqvist",
    "Tanaka",
    "Dubois",
    "Rossi",
    "Kowalski",
    "Haddad",
    "Moreau",
    "Fischer",
    "Silva",
    "Nakamura",
    "O'Brien",
    "Petrov",
    "Jensen",
    "Costa",
    "Weber",
    "Ali",
]
_ORG_A = [
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Litware",
    "Adventure Works",
    "Proseware",
    "Wingtip",
    "Lucerne",
    "Alpine Ski",
    "Blue Yonder",
    "Coho",
    "Humongous",
    "Margie's",
    "Trey Research",
    "Woodgrove",
]
_ORG_B = ["Ltd", "GmbH", "Inc.", "Logistics", "Holdings", "Traders", "Partners", "Systems", "Bank", "Group"]
_CITY = [
    "Lisbon",
    "Hamburg",
    "Osaka",
    "Nairobi",
    "Toronto",
    "Valparaíso",
    "Kraków",
    "Lyon",
    "Pune",
    "Denver",
    "Bergen",
    "Accra",
    "Porto",
    "Seville",
    "Tallinn",
    "Brisbane",
    "Quito",
    "Gdańsk",
    "Leeds",
    "Turin",
]
_MONTH = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_FILLER = [
    "Please confirm receipt at your earliest convenience.",
    "The terms are unchanged from the last order.",
    "Delivery is expected within the usual window.",
    "Questions can go to the account desk.",
    "This note replaces the draft sent earlier.",
    "All figures exclude tax.",
    "No further action needed.",
]
_EMOJI = ["\U0001f4e6", "\U0001f69a", "\U0001f4b6", "\U0001f91d"]


def _entity(rng: random.Random, kind: str) -> str:
    if kind == "Person":
        return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    if kind == "Organization":
        return f"{rng.choice(_ORG_A)} {rng.choice(_ORG_B)}"
    if kind == "City":
        return rng.choice(_CITY)
    if kind == "Date":
        return f"{rng.randint(1, 28)} {rng.choice(_MONTH)} {rng.randint(2019, 2027)}"
    return f"EUR {rng.randint(1, 999)},{rng.randint(0, 999):03d}.{rng.randint(0, 99):02d}"


_TEMPLATES = [
    "{Person} of {Organization} signed the order on {Date}.",
    "The shipment to {City} was valued at {Amount}.",
    "{Organization} will invoice {Amount} by {Date}.",
    "Contact {Person} in {City} about the delivery.",
    "On {Date}, {Person} approved a payment of {Amount} to {Organization}.",
    "{Organization} moved its warehouse from {City} to {City}.",
]


def generate_document(index: int, seed: int = 0) -> tuple[str, list[dict[str, Any]]]:
    """Text and labels (UTF-16 offsets) of document ``index``."""
    rng = random.Random(seed * 1_000_003 + index)
    parts: list[str] = []
    labels: list[dict[str, Any]] = []
    utf16_pos = 0

    def emit(text: str, category: str | None = None) -> None:
        nonlocal utf16_pos
        length = len(text.encode("utf-16-le")) // 2
        if category:
            labels.append({"category": category, "offset": utf16_pos, "length": length})
        parts.append(text)
        utf16_pos += length

    emit(f"Ref {seed}-{index:06d}. ")
    if index % 50 == 7:
        emit(rng.choice(_EMOJI) + " ")
    for _ in range(rng.randint(3, 6)):
        template = rng.choice(_TEMPLATES)
        pieces = template.replace("{", "\0{").replace("}", "}\0").split("\0")
        for piece in pieces:
            if piece.startswith("{") and piece.endswith("}"):
                kind = piece[1:-1]
                emit(_entity(rng, kind), kind)
            elif piece:
                emit(piece)
        emit(" " + rng.choice(_FILLER) + "\n")
    return "".join(parts), labels


def generate_project(
    documents: int,
    *,
    seed: int = 0,
    project_name: str = "synthetic",
    container: str = "synthetic",
    generator: str = "samples",
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(Azure project file, {location: UTF-8 bytes}) for ``documents`` synthetic documents."""
    if generator == "samples":
        from samples.generate import generate_sample_project

        project, files = generate_sample_project(
            project_name=project_name, container=container, documents=documents, seed=seed
        )
        for doc in project["assets"]["documents"]:
            doc.setdefault("dataset", "Train")
        return project, files
    files: dict[str, bytes] = {}
    assets = []
    for index in range(documents):
        text, labels = generate_document(index, seed)
        location = f"doc_{index:06d}.txt"
        files[location] = text.encode("utf-8")
        length = len(text.encode("utf-16-le")) // 2
        assets.append(
            {
                "location": location,
                "language": "en-us",
                "dataset": "Test" if index % 5 == 4 else "Train",
                "entities": [{"regionOffset": 0, "regionLength": length, "labels": labels}],
            }
        )
    project = {
        "projectFileVersion": "2022-05-01",
        "stringIndexType": "Utf16CodeUnit",
        "metadata": {
            "projectKind": "CustomEntityRecognition",
            "storageInputContainerName": container,
            "projectName": project_name,
            "multilingual": False,
            "description": f"Synthetic benchmark project, {documents} documents, seed {seed}",
            "language": "en-us",
            "settings": {},
        },
        "assets": {
            "projectKind": "CustomEntityRecognition",
            "entities": [{"category": c} for c in ENTITY_TYPES],
            "documents": assets,
        },
    }
    return project, files


def write_folder(folder: Path, project: dict[str, Any], files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for location, data in files.items():
        (folder / location).write_bytes(data)
    (folder / "project.json").write_text(json.dumps(project, ensure_ascii=False, indent=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generator", choices=["samples", "bench"], default="samples")
    parser.add_argument("--out", type=Path, help="write a dataset folder (documents + project.json)")
    parser.add_argument("--connection", help="storage connection string: upload the documents to --container")
    parser.add_argument("--container", default="synthetic")
    parser.add_argument("--project-name", default="synthetic")
    args = parser.parse_args(argv)
    project, files = generate_project(
        args.documents,
        seed=args.seed,
        project_name=args.project_name,
        container=args.container,
        generator=args.generator,
    )
    if args.out:
        write_folder(args.out, project, files)
        print(f"wrote {len(files)} documents and project.json to {args.out}")
    if args.connection:
        from bench.common import upload_documents

        seconds = upload_documents(args.connection, args.container, files)
        print(f"uploaded {len(files)} documents to container {args.container} in {seconds:.1f}s")
    if not args.out and not args.connection:
        parser.error("give --out and/or --connection")
    return 0


if __name__ == "__main__":
    sys.exit(main())
