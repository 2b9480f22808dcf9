"""Azure Custom NER project files (``projectKind: CustomEntityRecognition``): parse, validate, serialise.

A project file is what ``:import`` accepts and ``:export`` returns::

    {"projectFileVersion": "2022-05-01", "stringIndexType": "Utf16CodeUnit",
     "metadata": {"projectKind": "CustomEntityRecognition", "projectName": ..., "language": "en-us",
                  "storageInputContainerName": ..., "multilingual": false, "description": ..., "settings": {}},
     "assets": {"projectKind": "CustomEntityRecognition", "entities": [{"category": "Vendor"}],
                "documents": [{"location": "01.txt", "language": "en-us", "dataset": "Train",
                               "entities": [{"regionOffset": 0, "regionLength": 500,
                                             "labels": [{"category": "Vendor", "offset": 25, "length": 10}]}]}]}}

:func:`parse_project_file` checks everything that can be checked without the document texts and
reports **all** problems at once: one :class:`InvalidArgument` whose ``details`` hold one
:class:`ErrorDetail` per problem (``target`` = JSON path such as ``assets.documents[3].entities[0].labels[2]``,
message naming the document and label). Checks that need the text (labels past the end of the
document, the 128,000-character limit) live in :mod:`shared.ner.documents`.

Choices where Azure's documentation is silent or loose (recorded here so they are deliberate):

* ``dataset`` may be ``"Train"``, ``"Test"`` or missing; missing means Train, as in Language Studio.
  The two values are matched case-insensitively and stored in their canonical spelling.
* Document ``location``: Azure's naming rule says "letters and numbers with no spaces", but
  Microsoft's own sample data contains ``"Test 1.txt"``, so spaces are allowed. Rejected: empty or
  whitespace-only names, path separators (``/`` and ``\\``; documents sit at the container root),
  ``"."`` and ``".."``, control characters and names longer than 1,024 characters (the blob-name limit).
  Duplicates are compared exactly (blob names are case-sensitive). The ``.txt`` extension is not
  enforced: any blob that decodes as UTF-8 works.
* A document's ``language`` defaults to the project language when missing; every language code must
  be one :mod:`shared.ner.languages` supports.
* Overlapping labels within a document are rejected (spaCy's ``ner`` cannot learn them). Two labels
  that merely touch (one ends where the next starts) do not overlap. Overlapping regions in one
  document are rejected too: the overlap would be trained twice with possibly different labels.
* ``regionLength`` must be at least 1; a region's ``labels`` may be missing (= no labels), and a
  document's ``entities`` may be missing (= the whole text is one region without labels).
* The documented data limits apply at import: 10 to 100,000 documents, 1 to 200 entity types,
  labels 1 to 500 characters (UTF-16 code units, the unit of ``length``).
* Unknown extra keys are ignored, as a lenient JSON deserialiser would; :meth:`ProjectFile.to_dict`
  writes the modelled fields only (``metadata`` is kept verbatim).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ErrorDetail, InvalidArgument
from shared.models import PROJECT_KIND
from shared.ner.languages import is_supported_language

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

MIN_DOCUMENTS = 10
MAX_DOCUMENTS = 100_000
MIN_ENTITY_TYPES = 1
MAX_ENTITY_TYPES = 200
MAX_LABEL_LENGTH = 500
MAX_NAME_LENGTH = 50
MAX_LOCATION_LENGTH = 1024
MAX_ERROR_DETAILS = 50
"""At most this many problems are listed in ``details``; the message says how many more were found."""

DETAIL_CODE = "InvalidArgument"

_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,50}$")
_ENTITY_FORBIDDEN = set(":$&%*()+~#/?")
_CONTAINER_RE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


# --------------------------------------------------------------------------------------------------
# Data model


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


# --------------------------------------------------------------------------------------------------
# Naming rules


def project_name_problem(name: Any) -> str | None:
    """Why ``name`` is not a valid project name, or None if it is."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        return (
            f"The project name {name!r} is invalid: use 1 to {MAX_NAME_LENGTH} letters, digits, "
            "'_', '.' or '-' (no spaces)."
        )
    return None


def model_label_problem(label: Any) -> str | None:
    """Why ``label`` is not a valid model label (``modelLabel``), or None if it is."""
    if not isinstance(label, str) or not _NAME_RE.match(label):
        return (
            f"The model label {label!r} is invalid: use 1 to {MAX_NAME_LENGTH} letters, digits, "
            "'_', '.' or '-' (no spaces)."
        )
    return None


def entity_name_problem(name: Any) -> str | None:
    """Why ``name`` is not a valid entity (category) name, or None if it is.

    Azure allows letters, digits and all symbols except ``: $ & % * ( ) + ~ # / ?``, up to 50
    characters. We also reject control characters and leading/trailing whitespace, which cannot be
    told apart in Language Studio and are almost always a copy-paste mistake.
    """
    if not isinstance(name, str) or not name:
        return f"The entity name {name!r} is invalid: it must be a non-empty string."
    if len(name) > MAX_NAME_LENGTH:
        return (
            f"The entity name {name!r} is invalid: it has {len(name)} characters; at most {MAX_NAME_LENGTH}."
        )
    bad = sorted(set(name) & _ENTITY_FORBIDDEN)
    if bad:
        return (
            f"The entity name {name!r} is invalid: it contains {' '.join(bad)}; entity names may not contain "
            "any of : $ & % * ( ) + ~ # / ?"
        )
    if _CONTROL_RE.search(name) or name != name.strip():
        return (
            f"The entity name {name!r} is invalid: it may not contain control characters or start or end "
            "with whitespace."
        )
    return None


def _raise_single(problem: str | None, target: str) -> None:
    if problem is not None:
        raise InvalidArgument(problem, target=target, details=[ErrorDetail(DETAIL_CODE, problem, target)])


def validate_project_name(name: str) -> None:
    """Raise InvalidArgument (target ``projectName``) unless ``name`` follows Azure's project naming rule."""
    _raise_single(project_name_problem(name), "projectName")


def validate_model_label(label: str) -> None:
    """Raise InvalidArgument (target ``modelLabel``) unless ``label`` follows Azure's model naming rule."""
    _raise_single(model_label_problem(label), "modelLabel")


def validate_entity_name(name: str) -> None:
    """Raise InvalidArgument (target ``category``) unless ``name`` follows Azure's entity naming rule."""
    _raise_single(entity_name_problem(name), "category")


def location_problem(location: Any) -> str | None:
    """Why ``location`` is not an acceptable document location (see the module docstring), or None."""
    if not isinstance(location, str):
        return f"The document location must be a string, not {_json_type(location)}."
    if not location.strip():
        return "The document location is empty."
    if "/" in location or "\\" in location:
        return (
            f"The document location {location!r} contains a path separator; documents must sit at the "
            "root of the storage container."
        )
    if location in (".", ".."):
        return f"The document location {location!r} is not a file name."
    if _CONTROL_RE.search(location):
        return f"The document location {location!r} contains control characters."
    if len(location) > MAX_LOCATION_LENGTH:
        return f"The document location {location[:40]!r}... is longer than {MAX_LOCATION_LENGTH} characters."
    return None


def container_name_problem(name: Any) -> str | None:
    """Why ``name`` is not a valid Azure Blob container name, or None."""
    if not isinstance(name, str) or not _CONTAINER_RE.match(name):
        return (
            f"The storage container name {name!r} is invalid: use 3 to 63 lowercase letters, digits and "
            "single hyphens, starting and ending with a letter or digit."
        )
    return None


# --------------------------------------------------------------------------------------------------
# Parsing


class _Problems:
    """Collects every problem found; raised as one InvalidArgument at the end."""

    def __init__(self) -> None:
        self.details: list[ErrorDetail] = []

    def add(self, target: str, message: str) -> None:
        self.details.append(ErrorDetail(DETAIL_CODE, message, target))

    def raise_if_any(self) -> None:
        if not self.details:
            return
        count = len(self.details)
        shown = self.details[:MAX_ERROR_DETAILS]
        message = (
            f"The project file is invalid: {count} problem{'s' if count != 1 else ''} found. "
            f"First: {shown[0].message}"
        )
        if count > MAX_ERROR_DETAILS:
            message += (
                f" Only the first {MAX_ERROR_DETAILS} problems are listed in details; "
                f"{count - MAX_ERROR_DETAILS} more were found."
            )
        raise InvalidArgument(message, target=shown[0].target, details=shown)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _required_str(obj: dict[str, Any], key: str, path: str, problems: _Problems) -> str | None:
    value = obj.get(key)
    if value is None:
        problems.add(f"{path}.{key}" if path else key, f"{path + '.' if path else ''}{key} is required.")
        return None
    if not isinstance(value, str):
        problems.add(
            f"{path}.{key}" if path else key,
            f"{path + '.' if path else ''}{key} must be a string, not {_json_type(value)}.",
        )
        return None
    return value


def _check(problems: _Problems, target: str, problem: str | None) -> bool:
    if problem is not None:
        problems.add(target, problem)
        return False
    return True


def parse_project_file(data: Any, *, expected_project_name: str | None = None) -> ProjectFile:
    """Parse and validate a Custom NER project file (the ``:import`` body / ``:export`` result).

    Args:
        data: The decoded JSON (usually a dict).
        expected_project_name: When given (the project name from the request URL), ``metadata.projectName``
            must equal it.

    Returns:
        The validated :class:`ProjectFile`.

    Raises:
        InvalidArgument: If anything is wrong. ``details`` lists every problem found (up to
            :data:`MAX_ERROR_DETAILS`), each with ``target`` = the JSON path at fault.
    """
    problems = _Problems()
    if not isinstance(data, dict):
        problems.add("", f"The project file must be a JSON object, not {_json_type(data)}.")
        problems.raise_if_any()
    assert isinstance(data, dict)

    version = _required_str(data, "projectFileVersion", "", problems)
    if version is not None and version not in ACCEPTED_PROJECT_FILE_VERSIONS:
        problems.add(
            "projectFileVersion",
            f"projectFileVersion {version!r} is not supported; use one of {', '.join(ACCEPTED_PROJECT_FILE_VERSIONS)}.",
        )
    index_type = _required_str(data, "stringIndexType", "", problems)
    if index_type is not None and index_type != STRING_INDEX_TYPE:
        problems.add(
            "stringIndexType",
            f"stringIndexType {index_type!r} is not supported; the only value is {STRING_INDEX_TYPE!r} "
            "(offsets count UTF-16 code units).",
        )

    metadata = _parse_metadata(data.get("metadata"), expected_project_name, problems)
    project_language = metadata.get("language") if isinstance(metadata.get("language"), str) else None

    categories: list[str] = []
    documents: list[DocumentAsset] = []
    assets = data.get("assets")
    if assets is None:
        problems.add("assets", "assets is required: the project file has no entities or documents.")
    elif not isinstance(assets, dict):
        problems.add("assets", f"assets must be an object, not {_json_type(assets)}.")
    else:
        assets_kind = assets.get("projectKind")
        metadata_kind = metadata.get("projectKind")
        if assets_kind is None:
            problems.add("assets.projectKind", f"assets.projectKind is required (use {PROJECT_KIND!r}).")
        elif isinstance(metadata_kind, str) and assets_kind != metadata_kind:
            problems.add(
                "assets.projectKind",
                "The project kind in the exported project's metadata must match the assets' project kind "
                f"(metadata.projectKind is {metadata_kind!r}, assets.projectKind is {assets_kind!r}).",
            )
        categories = _parse_entities(assets.get("entities"), problems)
        documents = _parse_documents(assets.get("documents"), set(categories), project_language, problems)

    problems.raise_if_any()
    assert version is not None and index_type is not None
    return ProjectFile(
        project_file_version=version,
        string_index_type=index_type,
        metadata=metadata,
        entity_categories=categories,
        documents=documents,
    )


def _parse_metadata(raw: Any, expected_project_name: str | None, problems: _Problems) -> dict[str, Any]:
    if raw is None:
        problems.add("metadata", "metadata is required.")
        return {}
    if not isinstance(raw, dict):
        problems.add("metadata", f"metadata must be an object, not {_json_type(raw)}.")
        return {}
    metadata = dict(raw)

    kind = _required_str(metadata, "projectKind", "metadata", problems)
    if kind is not None and kind != PROJECT_KIND:
        problems.add(
            "metadata.projectKind",
            f"metadata.projectKind {kind!r} is not supported; this service handles {PROJECT_KIND!r} projects only.",
        )

    name = _required_str(metadata, "projectName", "metadata", problems)
    if name is not None and _check(problems, "metadata.projectName", project_name_problem(name)):
        if expected_project_name is not None and name != expected_project_name:
            problems.add(
                "metadata.projectName",
                f"metadata.projectName {name!r} must match the project name in the request URL "
                f"{expected_project_name!r}.",
            )

    container = _required_str(metadata, "storageInputContainerName", "metadata", problems)
    if container is not None:
        _check(problems, "metadata.storageInputContainerName", container_name_problem(container))

    language = _required_str(metadata, "language", "metadata", problems)
    if language is not None and not is_supported_language(language):
        problems.add(
            "metadata.language",
            f"metadata.language {language!r} is not a supported language code (see GET /language/global/languages).",
        )

    multilingual = metadata.get("multilingual")
    if multilingual is not None and not isinstance(multilingual, bool):
        problems.add(
            "metadata.multilingual",
            f"metadata.multilingual must be true or false, not {_json_type(multilingual)}.",
        )
    description = metadata.get("description")
    if description is not None and not isinstance(description, str):
        problems.add(
            "metadata.description", f"metadata.description must be a string, not {_json_type(description)}."
        )
    settings = metadata.get("settings")
    if settings is not None and not isinstance(settings, dict):
        problems.add("metadata.settings", f"metadata.settings must be an object, not {_json_type(settings)}.")
    return metadata


def _parse_entities(raw: Any, problems: _Problems) -> list[str]:
    path = "assets.entities"
    if raw is None:
        problems.add(path, f"{path} is required: declare at least {MIN_ENTITY_TYPES} entity type.")
        return []
    if not isinstance(raw, list):
        problems.add(path, f"{path} must be an array, not {_json_type(raw)}.")
        return []
    categories: list[str] = []
    first_seen: dict[str, int] = {}
    for index, entity in enumerate(raw):
        item_path = f"{path}[{index}]"
        if not isinstance(entity, dict):
            problems.add(
                item_path, f"{item_path} must be an object with a category, not {_json_type(entity)}."
            )
            continue
        category = entity.get("category")
        if not _check(problems, f"{item_path}.category", entity_name_problem(category)):
            continue
        assert isinstance(category, str)
        if category in first_seen:
            problems.add(
                f"{item_path}.category",
                f"Entity type {category!r} is declared twice ({path}[{first_seen[category]}] and {item_path}).",
            )
            continue
        first_seen[category] = index
        categories.append(category)
    if not (MIN_ENTITY_TYPES <= len(raw) <= MAX_ENTITY_TYPES):
        problems.add(
            path,
            f"A project needs {MIN_ENTITY_TYPES} to {MAX_ENTITY_TYPES} entity types; {path} declares {len(raw)}.",
        )
    return categories


def _parse_documents(
    raw: Any, categories: set[str], project_language: str | None, problems: _Problems
) -> list[DocumentAsset]:
    path = "assets.documents"
    if raw is None:
        problems.add(path, f"{path} is required: a project needs at least {MIN_DOCUMENTS} documents.")
        return []
    if not isinstance(raw, list):
        problems.add(path, f"{path} must be an array, not {_json_type(raw)}.")
        return []
    if not (MIN_DOCUMENTS <= len(raw) <= MAX_DOCUMENTS):
        problems.add(
            path,
            f"A project needs {MIN_DOCUMENTS} to {MAX_DOCUMENTS:,} documents; {path} has {len(raw):,}.",
        )
    documents: list[DocumentAsset] = []
    first_seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        document = _parse_document(item, f"{path}[{index}]", categories, project_language, problems)
        if document is None:
            continue
        if document.location in first_seen:
            problems.add(
                f"{path}[{index}].location",
                f"Document {document.location!r} is listed twice ({path}[{first_seen[document.location]}] "
                f"and {path}[{index}]).",
            )
            continue
        first_seen[document.location] = index
        documents.append(document)
    return documents


def _parse_document(
    raw: Any, path: str, categories: set[str], project_language: str | None, problems: _Problems
) -> DocumentAsset | None:
    if not isinstance(raw, dict):
        problems.add(path, f"{path} must be an object, not {_json_type(raw)}.")
        return None
    location = raw.get("location")
    if location is None:
        problems.add(f"{path}.location", f"{path}.location is required.")
        return None
    if not _check(problems, f"{path}.location", location_problem(location)):
        return None
    assert isinstance(location, str)
    where = f"document {location!r} ({path})"
    ok = True

    language = raw.get("language", project_language)
    if language is None:
        problems.add(f"{path}.language", f"The language of {where} is missing.")
        ok = False
    elif not isinstance(language, str) or not is_supported_language(language):
        problems.add(
            f"{path}.language", f"The language {language!r} of {where} is not a supported language code."
        )
        ok = False

    dataset_raw = raw.get("dataset")
    dataset: str | None = None
    if dataset_raw is not None:
        if isinstance(dataset_raw, str) and dataset_raw.lower() in ("train", "test"):
            dataset = DATASET_TRAIN if dataset_raw.lower() == "train" else DATASET_TEST
        else:
            problems.add(
                f"{path}.dataset",
                f'The dataset {dataset_raw!r} of {where} is invalid; use "Train", "Test" or leave it out (= Train).',
            )
            ok = False

    regions_raw = raw.get("entities")
    regions: list[Region] = []
    if regions_raw is not None and not isinstance(regions_raw, list):
        problems.add(
            f"{path}.entities", f"{path}.entities of {where} must be an array, not {_json_type(regions_raw)}."
        )
        ok = False
    elif regions_raw is not None:
        labelled: list[tuple[Label, str]] = []
        for region_index, region_raw in enumerate(regions_raw):
            region_path = f"{path}.entities[{region_index}]"
            region = _parse_region(region_raw, region_path, where, categories, problems, labelled)
            if region is None:
                ok = False
            else:
                regions.append(region)
        ok = _check_region_overlaps(regions, path, where, problems) and ok
        ok = _check_label_overlaps(labelled, where, problems) and ok
    if not ok:
        return None
    assert isinstance(language, str)
    return DocumentAsset(location=location, language=language, dataset=dataset, regions=regions)


def _int_field(
    raw: dict[str, Any], key: str, path: str, where: str, problems: _Problems, *, minimum: int
) -> int | None:
    value = raw.get(key)
    if not _is_int(value):
        what = "is missing" if value is None else f"must be an integer, not {_json_type(value)}"
        problems.add(f"{path}.{key}", f"{path}.{key} in {where} {what}.")
        return None
    assert isinstance(value, int)
    if value < minimum:
        problems.add(f"{path}.{key}", f"{path}.{key} in {where} is {value}; it must be at least {minimum}.")
        return None
    return value


def _parse_region(
    raw: Any,
    path: str,
    where: str,
    categories: set[str],
    problems: _Problems,
    labelled: list[tuple[Label, str]],
) -> Region | None:
    if not isinstance(raw, dict):
        problems.add(path, f"{path} in {where} must be an object with regionOffset, regionLength and labels.")
        return None
    offset = _int_field(raw, "regionOffset", path, where, problems, minimum=0)
    length = _int_field(raw, "regionLength", path, where, problems, minimum=1)
    labels_raw = raw.get("labels", [])
    if not isinstance(labels_raw, list):
        problems.add(
            f"{path}.labels", f"{path}.labels in {where} must be an array, not {_json_type(labels_raw)}."
        )
        return None
    ok = offset is not None and length is not None
    labels: list[Label] = []
    for label_index, label_raw in enumerate(labels_raw):
        label_path = f"{path}.labels[{label_index}]"
        label = _parse_label(label_raw, label_path, where, categories, problems)
        if label is None:
            ok = False
            continue
        if (
            offset is not None
            and length is not None
            and (label.offset < offset or label.end > offset + length)
        ):
            problems.add(
                label_path,
                f"Label {label_path} ({label.category!r} at offset {label.offset}, length {label.length}) in "
                f"{where} lies outside its region (regionOffset {offset}, regionLength {length}).",
            )
            ok = False
            continue
        labels.append(label)
        labelled.append((label, label_path))
    if not ok:
        return None
    assert offset is not None and length is not None
    return Region(offset=offset, length=length, labels=labels)


def _parse_label(raw: Any, path: str, where: str, categories: set[str], problems: _Problems) -> Label | None:
    if not isinstance(raw, dict):
        problems.add(path, f"Label {path} in {where} must be an object with category, offset and length.")
        return None
    category = raw.get("category")
    ok = True
    if not isinstance(category, str):
        problems.add(f"{path}.category", f"Label {path} in {where} has no category (a string is required).")
        ok = False
    elif category not in categories:
        problems.add(
            f"{path}.category",
            f"Label {path} in {where} uses entity type {category!r}, which is not declared in assets.entities.",
        )
        ok = False
    offset = _int_field(raw, "offset", path, where, problems, minimum=0)
    length = _int_field(raw, "length", path, where, problems, minimum=1)
    if length is not None and length > MAX_LABEL_LENGTH:
        problems.add(
            f"{path}.length",
            f"Label {path} ({category!r} at offset {offset}) in {where} is {length} characters long; "
            f"labels may be at most {MAX_LABEL_LENGTH}.",
        )
        ok = False
    if not ok or offset is None or length is None:
        return None
    assert isinstance(category, str)
    return Label(category=category, offset=offset, length=length)


def _check_region_overlaps(regions: list[Region], path: str, where: str, problems: _Problems) -> bool:
    ordered = sorted(enumerate(regions), key=lambda item: (item[1].offset, item[1].end))
    ok = True
    for (first_index, first), (second_index, second) in zip(ordered, ordered[1:], strict=False):
        if second.offset < first.end:
            problems.add(
                f"{path}.entities[{second_index}]",
                f"Region {path}.entities[{second_index}] (regionOffset {second.offset}, regionLength "
                f"{second.length}) in {where} overlaps region {path}.entities[{first_index}] "
                f"(regionOffset {first.offset}, regionLength {first.length}).",
            )
            ok = False
    return ok


def _check_label_overlaps(labelled: list[tuple[Label, str]], where: str, problems: _Problems) -> bool:
    ordered = sorted(labelled, key=lambda item: (item[0].offset, item[0].end))
    ok = True
    furthest: tuple[Label, str] | None = None
    for label, label_path in ordered:
        if furthest is not None and label.offset < furthest[0].end:
            other, other_path = furthest
            problems.add(
                label_path,
                f"Label {label_path} ({label.category!r} at offset {label.offset}, length {label.length}) in "
                f"{where} overlaps label {other_path} ({other.category!r} at offset {other.offset}, length "
                f"{other.length}); overlapping labels are not supported.",
            )
            ok = False
        if furthest is None or label.end > furthest[0].end:
            furthest = (label, label_path)
    return ok


def describe_label(label: Label) -> str:
    """Short human description of a label for messages: ``'Vendor' at offset 12, length 5``."""
    return f"{label.category!r} at offset {label.offset}, length {label.length}"
