"""The project file's data model: documents, regions and labels, and their Azure JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.models import PROJECT_KIND

ACCEPTED_PROJECT_FILE_VERSIONS: tuple[str, ...] = (
    "2022-05-01",
    "2022-10-01-preview",
    "2023-04-01",
    "2023-04-15",
    "2023-04-15-preview",
    "2024-11-15-preview",
    "2025-05-15-preview",
)
STRING_INDEX_TYPE = "Utf16CodeUnit"
DATASET_TRAIN = "Train"
DATASET_TEST = "Test"


@dataclass(frozen=True)
class Label:
    """One labelled entity: UTF-16 ``offset``/``length``, absolute in the document text."""

    category: str
    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass
class Region:
    """A region (``documents[].entities[]``): only this part of the document is used for training."""

    offset: int
    length: int
    labels: list[Label] = field(default_factory=list)

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass
class DocumentAsset:
    """One labelled document of a project (``assets.documents[]``)."""

    location: str
    language: str
    dataset: str | None = None
    regions: list[Region] = field(default_factory=list)

    def labels(self) -> list[Label]:
        """All labels of the document, in region order."""
        return [label for region in self.regions for label in region.labels]

    @property
    def is_test(self) -> bool:
        """True if the document is assigned to the test set (a missing ``dataset`` means Train)."""
        return self.dataset == DATASET_TEST

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"location": self.location, "language": self.language}
        if self.dataset is not None:
            body["dataset"] = self.dataset
        body["entities"] = [
            {
                "regionOffset": region.offset,
                "regionLength": region.length,
                "labels": [
                    {"category": label.category, "offset": label.offset, "length": label.length}
                    for label in region.labels
                ],
            }
            for region in self.regions
        ]
        return body


@dataclass
class ProjectFile:
    """A validated project file. Build it with :func:`parse_project_file`."""

    project_file_version: str
    string_index_type: str
    metadata: dict[str, Any]
    entity_categories: list[str]
    documents: list[DocumentAsset]

    @property
    def project_name(self) -> str:
        return str(self.metadata["projectName"])

    @property
    def language(self) -> str:
        return str(self.metadata["language"])

    @property
    def storage_input_container_name(self) -> str:
        return str(self.metadata["storageInputContainerName"])

    @property
    def multilingual(self) -> bool:
        return bool(self.metadata.get("multilingual", False))

    @property
    def description(self) -> str | None:
        value = self.metadata.get("description")
        return value if isinstance(value, str) else None

    def document(self, location: str) -> DocumentAsset:
        """The document at ``location``; KeyError if the project has none."""
        for document in self.documents:
            if document.location == location:
                return document
        raise KeyError(location)

    def to_dict(self) -> dict[str, Any]:
        """Azure's project-file JSON; ``parse_project_file(pf.to_dict())`` gives an equal object."""
        return {
            "projectFileVersion": self.project_file_version,
            "stringIndexType": self.string_index_type,
            "metadata": dict(self.metadata),
            "assets": {
                "projectKind": PROJECT_KIND,
                "entities": [{"category": category} for category in self.entity_categories],
                "documents": [document.to_dict() for document in self.documents],
            },
        }


def describe_label(label: Label) -> str:
    """Short human description of a label for messages: ``'Vendor' at offset 12, length 5``."""
    return f"{label.category!r} at offset {label.offset}, length {label.length}"
