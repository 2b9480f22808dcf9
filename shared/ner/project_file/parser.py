"""Parsing and validating a project file: every problem found at once, each with its JSON path.

The rules where Azure's documentation is silent or loose are listed in :mod:`shared.ner.project_file`.
"""

from __future__ import annotations

from typing import Any

from shared.models import PROJECT_KIND
from shared.ner.languages import is_supported_language
from shared.ner.names import (
    container_name_problem,
    entity_name_problem,
    json_type,
    location_problem,
    project_name_problem,
)
from shared.ner.project_file.model import (
    ACCEPTED_PROJECT_FILE_VERSIONS,
    DATASET_TEST,
    DATASET_TRAIN,
    STRING_INDEX_TYPE,
    DocumentAsset,
    Label,
    ProjectFile,
    Region,
)
from shared.ner.project_file.problems import Problems, check, is_int, required_str

MIN_DOCUMENTS = 10
"""Documents a project needs **to train** (checked by ``:train``, not at import: Azure imports smaller
projects, e.g. Microsoft's own two-document import example)."""
MAX_DOCUMENTS = 100_000
MIN_ENTITY_TYPES = 1
MAX_ENTITY_TYPES = 200
MAX_LABEL_LENGTH = 500


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
    problems = Problems()
    if not isinstance(data, dict):
        problems.add("", f"The project file must be a JSON object, not {json_type(data)}.")
        problems.raise_if_any()
    assert isinstance(data, dict)

    version = required_str(data, "projectFileVersion", "", problems)
    if version is not None and version not in ACCEPTED_PROJECT_FILE_VERSIONS:
        problems.add(
            "projectFileVersion",
            f"projectFileVersion {version!r} is not supported; use one of {', '.join(ACCEPTED_PROJECT_FILE_VERSIONS)}.",
        )
    index_type = required_str(data, "stringIndexType", "", problems)
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
        problems.add("assets", f"assets must be an object, not {json_type(assets)}.")
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


def _parse_metadata(raw: Any, expected_project_name: str | None, problems: Problems) -> dict[str, Any]:
    if raw is None:
        problems.add("metadata", "metadata is required.")
        return {}
    if not isinstance(raw, dict):
        problems.add("metadata", f"metadata must be an object, not {json_type(raw)}.")
        return {}
    metadata = dict(raw)

    kind = required_str(metadata, "projectKind", "metadata", problems)
    if kind is not None and kind != PROJECT_KIND:
        problems.add(
            "metadata.projectKind",
            f"metadata.projectKind {kind!r} is not supported; this service handles {PROJECT_KIND!r} projects only.",
        )

    name = required_str(metadata, "projectName", "metadata", problems)
    if name is not None and check(problems, "metadata.projectName", project_name_problem(name)):
        if expected_project_name is not None and name != expected_project_name:
            problems.add(
                "metadata.projectName",
                f"metadata.projectName {name!r} must match the project name in the request URL "
                f"{expected_project_name!r}.",
            )

    container = required_str(metadata, "storageInputContainerName", "metadata", problems)
    if container is not None:
        check(problems, "metadata.storageInputContainerName", container_name_problem(container))

    language = required_str(metadata, "language", "metadata", problems)
    if language is not None and not is_supported_language(language):
        problems.add(
            "metadata.language",
            f"metadata.language {language!r} is not a supported language code (see GET /language/global/languages).",
        )

    multilingual = metadata.get("multilingual")
    if multilingual is not None and not isinstance(multilingual, bool):
        problems.add(
            "metadata.multilingual",
            f"metadata.multilingual must be true or false, not {json_type(multilingual)}.",
        )
    description = metadata.get("description")
    if description is not None and not isinstance(description, str):
        problems.add(
            "metadata.description", f"metadata.description must be a string, not {json_type(description)}."
        )
    settings = metadata.get("settings")
    if settings is not None and not isinstance(settings, dict):
        problems.add("metadata.settings", f"metadata.settings must be an object, not {json_type(settings)}.")
    return metadata


def _parse_entities(raw: Any, problems: Problems) -> list[str]:
    path = "assets.entities"
    if raw is None:
        problems.add(path, f"{path} is required: declare at least {MIN_ENTITY_TYPES} entity type.")
        return []
    if not isinstance(raw, list):
        problems.add(path, f"{path} must be an array, not {json_type(raw)}.")
        return []
    categories: list[str] = []
    first_seen: dict[str, int] = {}
    for index, entity in enumerate(raw):
        item_path = f"{path}[{index}]"
        if not isinstance(entity, dict):
            problems.add(
                item_path, f"{item_path} must be an object with a category, not {json_type(entity)}."
            )
            continue
        category = entity.get("category")
        if not check(problems, f"{item_path}.category", entity_name_problem(category)):
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
    raw: Any, categories: set[str], project_language: str | None, problems: Problems
) -> list[DocumentAsset]:
    path = "assets.documents"
    if raw is None:
        return []  # a project without documents yet (Azure imports it; :train needs MIN_DOCUMENTS)
    if not isinstance(raw, list):
        problems.add(path, f"{path} must be an array, not {json_type(raw)}.")
        return []
    if len(raw) > MAX_DOCUMENTS:
        problems.add(path, f"A project has at most {MAX_DOCUMENTS:,} documents; {path} has {len(raw):,}.")
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
    raw: Any, path: str, categories: set[str], project_language: str | None, problems: Problems
) -> DocumentAsset | None:
    if not isinstance(raw, dict):
        problems.add(path, f"{path} must be an object, not {json_type(raw)}.")
        return None
    location = raw.get("location")
    if location is None:
        problems.add(f"{path}.location", f"{path}.location is required.")
        return None
    if not check(problems, f"{path}.location", location_problem(location)):
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
            f"{path}.entities", f"{path}.entities of {where} must be an array, not {json_type(regions_raw)}."
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
    raw: dict[str, Any], key: str, path: str, where: str, problems: Problems, *, minimum: int
) -> int | None:
    value = raw.get(key)
    if not is_int(value):
        what = "is missing" if value is None else f"must be an integer, not {json_type(value)}"
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
    problems: Problems,
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
            f"{path}.labels", f"{path}.labels in {where} must be an array, not {json_type(labels_raw)}."
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


def _parse_label(raw: Any, path: str, where: str, categories: set[str], problems: Problems) -> Label | None:
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


def _check_region_overlaps(regions: list[Region], path: str, where: str, problems: Problems) -> bool:
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


def _check_label_overlaps(labelled: list[tuple[Label, str]], where: str, problems: Problems) -> bool:
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
