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
* Document ``location``: spaces are allowed (see :mod:`shared.ner.names` for the rule and why).
  Duplicates are compared exactly (blob names are case-sensitive). The ``.txt`` extension is not
  enforced: any blob that decodes as UTF-8 works.
* A document's ``language`` defaults to the project language when missing; every language code must
  be one :mod:`shared.ner.languages` supports.
* Overlapping labels within a document are rejected (spaCy's ``ner`` cannot learn them). Two labels
  that merely touch (one ends where the next starts) do not overlap. Overlapping regions in one
  document are rejected too: the overlap would be trained twice with possibly different labels.
* ``regionLength`` must be at least 1; a region's ``labels`` may be missing (= no labels), and a
  document's ``entities`` may be missing (= the whole text is one region without labels).
* The documented data limits apply at import: at most 100,000 documents, 1 to 200 entity types,
  labels 1 to 500 characters (UTF-16 code units, the unit of ``length``). The 10-document minimum is
  a training limit: ``:train`` enforces it (Azure imports smaller projects; Microsoft's own import
  example has two documents). ``assets.documents`` may be missing (= none yet).
* Unknown extra keys are ignored, as a lenient JSON deserialiser would; :meth:`ProjectFile.to_dict`
  writes the modelled fields only (``metadata`` is kept verbatim).

Modules: ``model`` (the dataclasses and their JSON form), ``parser`` (:func:`parse_project_file`),
``problems`` (collecting every problem into one error); the naming rules are :mod:`shared.ner.names`.
Every name is importable from here as before.
"""

from shared.ner.names import (
    DETAIL_CODE,
    MAX_LOCATION_LENGTH,
    MAX_NAME_LENGTH,
    container_name_problem,
    entity_name_problem,
    location_problem,
    model_label_problem,
    project_name_problem,
    validate_entity_name,
    validate_model_label,
    validate_project_name,
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
    describe_label,
)
from shared.ner.project_file.parser import (
    MAX_DOCUMENTS,
    MAX_ENTITY_TYPES,
    MAX_LABEL_LENGTH,
    MIN_DOCUMENTS,
    MIN_ENTITY_TYPES,
    parse_project_file,
)
from shared.ner.project_file.problems import MAX_ERROR_DETAILS

__all__ = [
    "ACCEPTED_PROJECT_FILE_VERSIONS",
    "DATASET_TEST",
    "DATASET_TRAIN",
    "DETAIL_CODE",
    "MAX_DOCUMENTS",
    "MAX_ENTITY_TYPES",
    "MAX_ERROR_DETAILS",
    "MAX_LABEL_LENGTH",
    "MAX_LOCATION_LENGTH",
    "MAX_NAME_LENGTH",
    "MIN_DOCUMENTS",
    "MIN_ENTITY_TYPES",
    "STRING_INDEX_TYPE",
    "DocumentAsset",
    "Label",
    "ProjectFile",
    "Region",
    "container_name_problem",
    "describe_label",
    "entity_name_problem",
    "location_problem",
    "model_label_problem",
    "parse_project_file",
    "project_name_problem",
    "validate_entity_name",
    "validate_model_label",
    "validate_project_name",
]
