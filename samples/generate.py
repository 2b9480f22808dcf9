"""Generate a small, deterministic Custom NER sample project (purchase orders and shipping notices).

Everything is made up here from fixed word lists and sentence templates; no external data is used.
The project has five entity types (Vendor, Product, Quantity, DeliveryDate, DeliveryCity) and is
shaped to exercise the tricky parts of Azure's format:

* some documents use CRLF line ends (offsets count the ``\\r``);
* some documents put an emoji outside the BMP (two UTF-16 code units) before labels, so Python
  indices and UTF-16 offsets differ;
* some documents have a header line outside their labelled region;
* a few documents are marked ``"dataset": "Test"``, the others ``"Train"`` or nothing (= Train).

Usage: ``python -m samples.generate <folder>`` writes ``project.json`` and the ``.txt`` documents.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("samples.generate")

PROJECT_FILE_VERSION = "2023-04-01"
ENTITY_TYPES = ("Vendor", "Product", "Quantity", "DeliveryDate", "DeliveryCity")

VENDORS = (
    "Northwind Traders", "Contoso Limited", "Fabrikam Industries", "Tailspin Supplies", "Litware Components",
    "Adatum Corporation", "Proseware Group", "Wide World Importers", "Lamna Medical Supply", "Coho Logistics",
    "Blue Yonder Freight", "Woodgrove Hardware", "Trey Research Labs", "Alpine Tooling", "Margie's Packaging",
    "Humongous Metals", "Relecloud Electronics", "Graphic Design Institute",
)  # fmt: skip
PRODUCTS = (
    "steel bolts", "office chairs", "LED panels", "copper wire", "hydraulic pumps", "printer cartridges",
    "safety helmets", "laptop docks", "cardboard boxes", "solar inverters", "forklift batteries",
    "nitrile gloves", "conveyor belts", "ceramic tiles", "air filters", "barcode scanners", "pallet wrap",
    "welding rods", "espresso machines", "standing desks",
)  # fmt: skip
QUANTITIES = (
    "12", "40", "75", "120", "250", "300", "480", "1,000", "1,200", "2,500", "5,000", "36", "64", "900",
    "twelve", "forty", "two hundred", "fifteen", "three dozen", "sixty",
)  # fmt: skip
DATES = (
    "March 3, 2025", "12 May 2025", "2025-06-17", "June 30", "July 1st", "the 4th of August",
    "September 15, 2025", "2025-10-02", "October 21", "November 5, 2025", "1 December 2025", "January 9",
    "February 28, 2026", "April 14", "2026-03-20",
)  # fmt: skip
CITIES = (
    "Seattle", "Rotterdam", "São Paulo", "Zürich", "New Delhi", "Osaka", "Lyon", "Toronto", "Kraków",
    "Cape Town", "Melbourne", "Hamburg", "Austin", "Monterrey", "Dublin", "Singapore", "Gdańsk", "Nairobi",
)  # fmt: skip

# Each template is a list of literal text and slot names (entity types). ``{po}`` is filled with an
# order number that is not labelled.
TEMPLATES: tuple[str, ...] = (
    "Purchase order {po} from [Vendor]: please ship [Quantity] [Product] to our [DeliveryCity] warehouse "
    "by [DeliveryDate].",
    "[Vendor] confirms that [Quantity] units of [Product] will arrive in [DeliveryCity] on [DeliveryDate].",
    "Shipping notice: [Quantity] x [Product] dispatched by [Vendor]. Expected delivery: [DeliveryDate], "
    "[DeliveryCity].",
    "We need [Quantity] [Product] delivered to [DeliveryCity] no later than [DeliveryDate]. Supplier: [Vendor].",
    "Order update from [Vendor] - the [Product] order ([Quantity] pcs) is scheduled for delivery in "
    "[DeliveryCity] on [DeliveryDate].",
    "Please send [Quantity] more [Product] to the [DeliveryCity] site.",
    "The [Product] from [Vendor] are delayed until [DeliveryDate].",
    "Deliver to: [DeliveryCity]. Delivery date: [DeliveryDate]. Items: [Quantity] [Product].",
    "Our buyer asked [Vendor] for a quote on [Quantity] [Product].",
    "Reminder: the shipment of [Product] for [DeliveryCity] must leave the [Vendor] depot before [DeliveryDate].",
    "Invoice {po} covers [Quantity] [Product] supplied by [Vendor].",
    "Can [Vendor] move the [DeliveryCity] delivery to [DeliveryDate]?",
    "Received [Quantity] [Product] in [DeliveryCity] today; the rest is due on [DeliveryDate].",
)
FILLERS: tuple[str, ...] = (
    "Please confirm receipt of this message.",
    "Invoices must quote the order number.",
    "Contact the logistics desk with any questions.",
    "Pallets must not exceed 1.8 m in height.",
    "Thank you for your business.",
    "Unloading is possible on weekdays between 7:00 and 15:00.",
    "All prices are quoted excluding VAT.",
)
HEADERS: tuple[str, ...] = (
    "From: procurement@example.com",
    "Ref: internal memo",
    "Subject: weekly order summary",
)
EMOJI = ("📦", "🚚", "😀", "✈️")


@dataclass
class SampleLabel:
    """A label as generated: UTF-16 offset/length plus the exact text inserted."""

    category: str
    offset: int
    length: int
    text: str


@dataclass
class SampleDocument:
    """One generated document and its labels."""

    location: str
    text: str
    line_end: str
    dataset: str | None
    region_offset: int
    region_length: int
    labels: list[SampleLabel] = field(default_factory=list)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _surface(category: str, rng: random.Random) -> str:
    choices = {
        "Vendor": VENDORS,
        "Product": PRODUCTS,
        "Quantity": QUANTITIES,
        "DeliveryDate": DATES,
        "DeliveryCity": CITIES,
    }[category]
    return rng.choice(choices)


class _Builder:
    """Appends text while tracking UTF-16 offsets of inserted labels."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.position = 0
        self.labels: list[SampleLabel] = []

    def text(self, value: str) -> None:
        self.parts.append(value)
        self.position += _utf16_len(value)

    def label(self, category: str, value: str) -> None:
        length = _utf16_len(value)
        self.labels.append(SampleLabel(category, self.position, length, value))
        self.text(value)

    def template(self, template: str, rng: random.Random) -> None:
        rest = template.replace("{po}", f"PO-{rng.randint(10000, 99999)}")
        while "[" in rest:
            before, _, after = rest.partition("[")
            slot, _, rest = after.partition("]")
            self.text(before)
            self.label(slot, _surface(slot, rng))
        self.text(rest)


def generate_sample_documents(*, documents: int = 60, seed: int = 7) -> list[SampleDocument]:
    """Generate the sample documents with their labels (see the module docstring).

    Args:
        documents: How many documents (at least 10, the service's minimum).
        seed: Random seed; the same arguments always give the same documents.

    Returns:
        The documents, named ``po_001.txt``, ``po_002.txt``...
    """
    if documents < 10:
        raise ValueError("a project needs at least 10 documents")
    rng = random.Random(seed)
    result: list[SampleDocument] = []
    for number in range(1, documents + 1):
        line_end = "\r\n" if number % 4 == 0 else "\n"
        with_emoji = number % 5 == 2
        with_header = number % 7 == 3
        builder = _Builder()
        if with_header:
            builder.text(rng.choice(HEADERS) + line_end)
        region_offset = builder.position
        sentences = rng.randint(2, 4)
        for index in range(sentences):
            if with_emoji and index == 0:
                builder.text(rng.choice(EMOJI) + " ")
            builder.template(rng.choice(TEMPLATES), rng)
            if rng.random() < 0.4:
                builder.text(" " + rng.choice(FILLERS))
            builder.text(line_end)
            if with_emoji and index == 1:
                builder.text(rng.choice(EMOJI) + line_end)
        builder.text(rng.choice(FILLERS) + line_end)
        text = "".join(builder.parts)
        if number % 10 == 0:
            dataset: str | None = "Test"
        elif number % 3 == 0:
            dataset = None
        else:
            dataset = "Train"
        result.append(
            SampleDocument(
                location=f"po_{number:03d}.txt",
                text=text,
                line_end=line_end,
                dataset=dataset,
                region_offset=region_offset,
                region_length=_utf16_len(text) - region_offset,
                labels=builder.labels,
            )
        )
    return result


def generate_sample_project(
    *,
    project_name: str = "sample-purchase-orders",
    container: str = "sample-purchase-orders",
    documents: int = 60,
    seed: int = 7,
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Generate the sample project in Azure's project-file format.

    Args:
        project_name: ``metadata.projectName``.
        container: ``metadata.storageInputContainerName``.
        documents: Number of documents.
        seed: Random seed; the same arguments always give the same result.

    Returns:
        ``(project file dict, {location: UTF-8 document bytes})``.
    """
    generated = generate_sample_documents(documents=documents, seed=seed)
    project_documents: list[dict[str, Any]] = []
    for document in generated:
        entry: dict[str, Any] = {"location": document.location, "language": "en-us"}
        if document.dataset is not None:
            entry["dataset"] = document.dataset
        entry["entities"] = [
            {
                "regionOffset": document.region_offset,
                "regionLength": document.region_length,
                "labels": [
                    {"category": label.category, "offset": label.offset, "length": label.length}
                    for label in document.labels
                ],
            }
        ]
        project_documents.append(entry)
    project = {
        "projectFileVersion": PROJECT_FILE_VERSION,
        "stringIndexType": "Utf16CodeUnit",
        "metadata": {
            "projectKind": "CustomEntityRecognition",
            "storageInputContainerName": container,
            "projectName": project_name,
            "multilingual": False,
            "description": "Generated sample: purchase orders and shipping notices",
            "language": "en-us",
            "settings": {},
        },
        "assets": {
            "projectKind": "CustomEntityRecognition",
            "entities": [{"category": category} for category in ENTITY_TYPES],
            "documents": project_documents,
        },
    }
    files = {document.location: document.text.encode("utf-8") for document in generated}
    return project, files


def write_sample(folder: Path, **options: Any) -> Path:
    """Write the sample's ``.txt`` documents and ``project.json`` into ``folder`` (created if needed).

    Returns:
        The path of ``project.json``.
    """
    project, files = generate_sample_project(**options)
    folder.mkdir(parents=True, exist_ok=True)
    for location, data in files.items():
        (folder / location).write_bytes(data)
    project_path = folder / "project.json"
    project_path.write_bytes(json.dumps(project, indent=2, ensure_ascii=False).encode("utf-8") + b"\n")
    return project_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the generated Custom NER sample project to a folder.")
    parser.add_argument("folder", type=Path, help="output folder (created if missing)")
    parser.add_argument("--documents", type=int, default=60, help="number of documents (default 60)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--project-name", default="sample-purchase-orders")
    parser.add_argument("--container", default="sample-purchase-orders")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = write_sample(
        args.folder,
        project_name=args.project_name,
        container=args.container,
        documents=args.documents,
        seed=args.seed,
    )
    log.info("Wrote %d documents and %s", args.documents, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
