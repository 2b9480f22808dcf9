"""Parsing and validating Azure Custom NER project files."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.errors import InvalidArgument
from shared.ner.project_file import (
    ACCEPTED_PROJECT_FILE_VERSIONS,
    MAX_ERROR_DETAILS,
    DocumentAsset,
    Label,
    Region,
    parse_project_file,
    validate_entity_name,
    validate_model_label,
    validate_project_name,
)


def make_project(documents: int = 10, categories: tuple[str, ...] = ("Vendor", "City")) -> dict[str, Any]:
    """A small valid project: each document has one region 0..100 with two labels."""
    return {
        "projectFileVersion": "2022-05-01",
        "stringIndexType": "Utf16CodeUnit",
        "metadata": {
            "projectKind": "CustomEntityRecognition",
            "storageInputContainerName": "example-data",
            "projectName": "LoanAgreement",
            "multilingual": False,
            "description": "test",
            "language": "en",
            "settings": {},
        },
        "assets": {
            "projectKind": "CustomEntityRecognition",
            "entities": [{"category": category} for category in categories],
            "documents": [
                {
                    "location": f"{number:02d}.txt",
                    "language": "en-us",
                    "dataset": "Train",
                    "entities": [
                        {
                            "regionOffset": 0,
                            "regionLength": 100,
                            "labels": [
                                {"category": categories[0], "offset": 10, "length": 7},
                                {"category": categories[-1], "offset": 30, "length": 5},
                            ],
                        }
                    ],
                }
                for number in range(1, documents + 1)
            ],
        },
    }


def errors_of(data: Any, **kwargs: Any) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        parse_project_file(data, **kwargs)
    return info.value


def targets(error: InvalidArgument) -> list[str | None]:
    return [detail.target for detail in error.details]


def test_valid_project_parses_into_dataclasses() -> None:
    project = parse_project_file(make_project())
    assert project.project_name == "LoanAgreement"
    assert project.language == "en"
    assert project.storage_input_container_name == "example-data"
    assert project.entity_categories == ["Vendor", "City"]
    assert len(project.documents) == 10
    first = project.documents[0]
    assert first == DocumentAsset(
        location="01.txt",
        language="en-us",
        dataset="Train",
        regions=[Region(0, 100, [Label("Vendor", 10, 7), Label("City", 30, 5)])],
    )
    assert first.labels() == [Label("Vendor", 10, 7), Label("City", 30, 5)]
    assert project.document("02.txt").location == "02.txt"


def test_to_dict_round_trips() -> None:
    data = make_project()
    del data["assets"]["documents"][1]["dataset"]
    project = parse_project_file(data)
    assert project.documents[1].dataset is None
    again = parse_project_file(project.to_dict())
    assert again == project
    assert project.to_dict()["assets"]["documents"][0] == data["assets"]["documents"][0]
    assert "dataset" not in project.to_dict()["assets"]["documents"][1]


@pytest.mark.parametrize("version", ACCEPTED_PROJECT_FILE_VERSIONS)
def test_every_documented_version_is_accepted(version: str) -> None:
    data = make_project()
    data["projectFileVersion"] = version
    assert parse_project_file(data).project_file_version == version


def test_unknown_version_and_index_type_are_rejected_together() -> None:
    data = make_project()
    data["projectFileVersion"] = "2021-01-01"
    data["stringIndexType"] = "TextElements_v8"
    error = errors_of(data)
    assert targets(error) == ["projectFileVersion", "stringIndexType"]
    assert "2021-01-01" in error.details[0].message
    assert "Utf16CodeUnit" in error.details[1].message
    assert "2 problems" in error.message


def test_kind_mismatch_uses_the_message_users_know() -> None:
    data = make_project()
    data["assets"]["projectKind"] = "CustomSingleLabelClassification"
    error = errors_of(data)
    assert targets(error) == ["assets.projectKind"]
    assert (
        "The project kind in the exported project's metadata must match the assets' project kind"
        in error.details[0].message
    )


def test_other_project_kinds_are_not_supported() -> None:
    data = make_project()
    data["metadata"]["projectKind"] = "CustomMultiLabelClassification"
    data["assets"]["projectKind"] = "CustomMultiLabelClassification"
    error = errors_of(data)
    assert "metadata.projectKind" in targets(error)


def test_missing_assets_project_kind_is_reported() -> None:
    data = make_project()
    del data["assets"]["projectKind"]
    assert targets(errors_of(data)) == ["assets.projectKind"]


def test_undeclared_category_names_path_document_and_category() -> None:
    data = make_project()
    data["assets"]["documents"][3]["entities"][0]["labels"].append(
        {"category": "Ghost", "offset": 50, "length": 3}
    )
    error = errors_of(data)
    assert targets(error) == ["assets.documents[3].entities[0].labels[2].category"]
    message = error.details[0].message
    assert "'04.txt'" in message and "'Ghost'" in message and "assets.entities" in message
    assert error.status == 400 and error.code == "InvalidArgument"


def test_label_outside_region_is_rejected() -> None:
    data = make_project()
    data["assets"]["documents"][2]["entities"][0]["labels"][1] = {
        "category": "City",
        "offset": 98,
        "length": 5,
    }
    error = errors_of(data)
    assert targets(error) == ["assets.documents[2].entities[0].labels[1]"]
    message = error.details[0].message
    assert "'03.txt'" in message and "outside its region" in message and "offset 98" in message


def test_region_must_contain_label_start_too() -> None:
    data = make_project()
    document = data["assets"]["documents"][0]
    document["entities"] = [
        {"regionOffset": 20, "regionLength": 80, "labels": [{"category": "City", "offset": 15, "length": 10}]}
    ]
    assert targets(errors_of(data)) == ["assets.documents[0].entities[0].labels[0]"]


def test_overlapping_labels_are_rejected_but_touching_labels_are_fine() -> None:
    data = make_project()
    labels = data["assets"]["documents"][5]["entities"][0]["labels"]
    labels.append({"category": "City", "offset": 17, "length": 3})  # touches the Vendor label at 10..17
    parse_project_file(data)
    labels.append({"category": "City", "offset": 12, "length": 2})  # inside 10..17
    error = errors_of(data)
    assert targets(error) == ["assets.documents[5].entities[0].labels[3]"]
    message = error.details[0].message
    assert (
        "overlaps" in message
        and "assets.documents[5].entities[0].labels[0]" in message
        and "'06.txt'" in message
    )


def test_identical_duplicate_labels_overlap() -> None:
    data = make_project()
    labels = data["assets"]["documents"][0]["entities"][0]["labels"]
    labels.append(dict(labels[0]))
    assert targets(errors_of(data)) == ["assets.documents[0].entities[0].labels[2]"]


def test_overlapping_regions_are_rejected() -> None:
    data = make_project()
    data["assets"]["documents"][0]["entities"] = [
        {"regionOffset": 0, "regionLength": 50, "labels": []},
        {"regionOffset": 40, "regionLength": 50, "labels": []},
    ]
    error = errors_of(data)
    assert targets(error) == ["assets.documents[0].entities[1]"]
    assert "overlaps region" in error.details[0].message


def test_multiple_regions_and_missing_entities_and_labels_are_accepted() -> None:
    data = make_project()
    data["assets"]["documents"][0]["entities"] = [
        {
            "regionOffset": 0,
            "regionLength": 20,
            "labels": [{"category": "Vendor", "offset": 10, "length": 7}],
        },
        {"regionOffset": 20, "regionLength": 30},
    ]
    del data["assets"]["documents"][1]["entities"]
    project = parse_project_file(data)
    assert [region.labels for region in project.documents[0].regions] == [[Label("Vendor", 10, 7)], []]
    assert project.documents[1].regions == []


def test_dataset_values() -> None:
    data = make_project()
    data["assets"]["documents"][0]["dataset"] = "Test"
    data["assets"]["documents"][1]["dataset"] = "test"
    del data["assets"]["documents"][2]["dataset"]
    data["assets"]["documents"][3]["dataset"] = None
    project = parse_project_file(data)
    assert [document.dataset for document in project.documents[:4]] == ["Test", "Test", None, None]
    assert project.documents[0].is_test and not project.documents[2].is_test
    data["assets"]["documents"][4]["dataset"] = "Validation"
    error = errors_of(data)
    assert targets(error) == ["assets.documents[4].dataset"]
    assert "'05.txt'" in error.details[0].message and "Validation" in error.details[0].message


def test_document_location_rules() -> None:
    data = make_project()
    data["assets"]["documents"][0]["location"] = "Test 1.txt"  # Microsoft's own sample has spaces
    data["assets"]["documents"][1]["location"] = "Ünïcode name.txt"
    assert parse_project_file(data).documents[0].location == "Test 1.txt"
    for index, bad in enumerate(["", "   ", "sub/01.txt", "..", "a\\b.txt", "tab\tname.txt"]):
        data["assets"]["documents"][index]["location"] = bad
    error = errors_of(data)
    assert targets(error) == [f"assets.documents[{index}].location" for index in range(6)]
    assert "empty" in error.details[0].message
    assert "path separator" in error.details[2].message


def test_duplicate_locations_and_categories_are_rejected() -> None:
    data = make_project()
    data["assets"]["documents"][7]["location"] = "02.txt"
    data["assets"]["entities"].append({"category": "Vendor"})
    error = errors_of(data)
    assert set(targets(error)) == {"assets.entities[2].category", "assets.documents[7].location"}
    messages = " ".join(detail.message for detail in error.details)
    assert "'02.txt' is listed twice" in messages and "'Vendor' is declared twice" in messages


def test_import_takes_any_document_count_up_to_the_maximum() -> None:
    # issue 10 #7: the 10-document minimum is a training limit (:train checks it), not an import one.
    for count in (0, 2, 9, 10):
        assert len(parse_project_file(make_project(documents=count)).documents) == count
    data = make_project()
    del data["assets"]["documents"]
    assert parse_project_file(data).documents == []
    data["assets"]["documents"] = [{"location": "x"}] * 100_001
    error = errors_of(data)
    assert "assets.documents" in targets(error)
    assert "at most 100,000 documents" in error.message and "has 100,001" in error.message


def test_microsofts_two_document_import_example_parses() -> None:
    """The body of the REST spec's SuccessfulImportProject example (2023-04-01), answered 202 there."""
    parsed = parse_project_file(microsoft_import_example(), expected_project_name="LoanAgreements")
    assert [document.location for document in parsed.documents] == ["01.txt", "02.txt"]
    assert parsed.entity_categories == ["Date", "LenderName", "LenderAddress"]


def microsoft_import_example() -> dict[str, Any]:
    """Azure/azure-rest-api-specs, Language 2023-04-01, analyzetext-authoring/SuccessfulImportProject.json."""
    def document(location: str, length: int, labels: list[tuple[str, int, int]]) -> dict[str, Any]:
        return {
            "location": location,
            "language": "en-us",
            "entities": [
                {
                    "regionOffset": 0,
                    "regionLength": length,
                    "labels": [{"category": c, "offset": o, "length": n} for c, o, n in labels],
                }
            ],
        }

    return {
        "projectFileVersion": "2022-05-01",
        "stringIndexType": "Utf16CodeUnit",
        "metadata": {
            "projectKind": "CustomEntityRecognition",
            "storageInputContainerName": "loanagreements",
            "settings": {},
            "projectName": "LoanAgreements",
            "multilingual": False,
            "description": "This is a sample dataset provided by the Azure Language service team.",
            "language": "en",
        },
        "assets": {
            "projectKind": "CustomEntityRecognition",
            "entities": [{"category": "Date"}, {"category": "LenderName"}, {"category": "LenderAddress"}],
            "documents": [
                document("01.txt", 1793, [("Date", 5, 9), ("LenderName", 273, 14), ("LenderAddress", 314, 15)]),
                document("02.txt", 1804, [("Date", 5, 10), ("LenderName", 284, 10), ("LenderAddress", 321, 20)]),
            ],
        },
    }


def test_entity_type_count_limits() -> None:
    data = make_project()
    data["assets"]["entities"] = []
    error = errors_of(data)
    assert "assets.entities" in targets(error)
    data = make_project()
    data["assets"]["entities"] += [{"category": f"Type{number}"} for number in range(199)]
    error = errors_of(data)
    assert targets(error) == ["assets.entities"] and "declares 201" in error.details[0].message


def test_label_length_limits() -> None:
    data = make_project()
    data["assets"]["documents"][0]["entities"][0]["regionLength"] = 1000
    data["assets"]["documents"][0]["entities"][0]["labels"][1] = {
        "category": "City",
        "offset": 40,
        "length": 501,
    }
    data["assets"]["documents"][1]["entities"][0]["labels"][1] = {
        "category": "City",
        "offset": 40,
        "length": 0,
    }
    error = errors_of(data)
    assert targets(error) == [
        "assets.documents[0].entities[0].labels[1].length",
        "assets.documents[1].entities[0].labels[1].length",
    ]
    assert "at most 500" in error.details[0].message and "'01.txt'" in error.details[0].message


def test_wrong_types_are_reported_with_paths() -> None:
    data = make_project()
    label = data["assets"]["documents"][0]["entities"][0]["labels"][0]
    label["offset"] = "10"
    data["assets"]["documents"][1]["entities"][0]["regionLength"] = True
    data["metadata"]["multilingual"] = "false"
    error = errors_of(data)
    assert set(targets(error)) == {
        "metadata.multilingual",
        "assets.documents[0].entities[0].labels[0].offset",
        "assets.documents[1].entities[0].regionLength",
    }


def test_negative_offsets_are_rejected() -> None:
    data = make_project()
    data["assets"]["documents"][0]["entities"][0]["regionOffset"] = -1
    data["assets"]["documents"][1]["entities"][0]["labels"][0]["offset"] = -5
    error = errors_of(data)
    assert "assets.documents[0].entities[0].regionOffset" in targets(error)
    assert "assets.documents[1].entities[0].labels[0].offset" in targets(error)


def test_not_an_object_and_missing_sections() -> None:
    assert targets(errors_of([1, 2])) == [""]
    error = errors_of({"projectFileVersion": "2022-05-01", "stringIndexType": "Utf16CodeUnit"})
    assert targets(error) == ["metadata", "assets"]


def test_metadata_required_fields_and_names() -> None:
    data = make_project()
    data["metadata"]["projectName"] = "bad name!"
    data["metadata"]["storageInputContainerName"] = "Bad_Container"
    del data["metadata"]["language"]
    error = errors_of(data)
    assert targets(error) == [
        "metadata.projectName",
        "metadata.storageInputContainerName",
        "metadata.language",
    ]
    assert "'bad name!'" in error.details[0].message


def test_expected_project_name_must_match() -> None:
    error = errors_of(make_project(), expected_project_name="Other")
    assert targets(error) == ["metadata.projectName"]
    assert "'Other'" in error.details[0].message
    assert (
        parse_project_file(make_project(), expected_project_name="LoanAgreement").project_name
        == "LoanAgreement"
    )


def test_languages_must_be_supported() -> None:
    data = make_project()
    data["metadata"]["language"] = "klingon"
    data["assets"]["documents"][0]["language"] = "ja"  # not trainable without extra tokenizer packages
    data["assets"]["documents"][1]["language"] = "zh-Hans"  # case-insensitive
    error = errors_of(data)
    assert targets(error) == ["metadata.language", "assets.documents[0].language"]
    del data["assets"]["documents"][0]["language"]
    data["metadata"]["language"] = "de"
    project = parse_project_file(data)
    assert project.documents[0].language == "de"  # defaults to the project language


def test_all_problems_are_collected_and_details_capped() -> None:
    data = make_project(documents=40)
    for document in data["assets"]["documents"]:
        for label in document["entities"][0]["labels"]:
            label["category"] = "Ghost"
    error = errors_of(data)
    assert len(error.details) == MAX_ERROR_DETAILS
    assert "80 problems" in error.message
    assert f"first {MAX_ERROR_DETAILS}" in error.message and "30 more" in error.message
    assert error.target == "assets.documents[0].entities[0].labels[0].category"
    body = error.to_dict()
    assert body["code"] == "InvalidArgument" and len(body["details"]) == MAX_ERROR_DETAILS


def test_input_is_not_mutated() -> None:
    data = make_project()
    snapshot = copy.deepcopy(data)
    parse_project_file(data)
    assert data == snapshot


@pytest.mark.parametrize("name", ["LoanAgreement", "a", "my_project-1.0", "x" * 50])
def test_valid_project_names_and_model_labels(name: str) -> None:
    validate_project_name(name)
    validate_model_label(name)


@pytest.mark.parametrize("name", ["", "has space", "x" * 51, "semi;colon", "ünï"])
def test_invalid_project_names_and_model_labels(name: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_project_name(name)
    assert info.value.target == "projectName" and repr(name) in info.value.message
    with pytest.raises(InvalidArgument) as info:
        validate_model_label(name)
    assert info.value.target == "modelLabel"


@pytest.mark.parametrize("name", ["Vendor", "creative-work", "Loan Amount", "Größe", "a.b_c!@^", "x" * 50])
def test_valid_entity_names(name: str) -> None:
    validate_entity_name(name)


@pytest.mark.parametrize(
    "name",
    ["", "x" * 51, "a:b", "cost$", "a&b", "50%", "a*", "(x)", "a+b", "a~b", "#tag", "a/b", "why?", " lead"],
)
def test_invalid_entity_names(name: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_entity_name(name)
    assert info.value.target == "category"


def test_invalid_entity_name_in_project_names_the_path() -> None:
    data = make_project()
    data["assets"]["entities"][1]["category"] = "City/Town"
    error = errors_of(data)
    assert "assets.entities[1].category" in targets(error)
    assert "'City/Town'" in error.details[0].message
