"""The model card (``README.md``) shipped in an exported model's spaCy pipeline folder.

It tells whoever downloads the folder what the model recognises, what it was trained on, how well it did
on the held-out test documents, how it was trained and with which versions, and how to load it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.ner.calibration import IDENTITY, Calibrator
from shared.ner.project_file import ProjectFile


@dataclass(frozen=True)
class DataCounts:
    """Documents and labelled entities the model was trained and tested on."""

    documents: int
    test_documents: int
    entities_per_label: dict[str, int]

    @property
    def training_documents(self) -> int:
        return self.documents - self.test_documents

    @classmethod
    def from_snapshot(cls, project_file: ProjectFile, test_documents: int) -> DataCounts:
        """Counts from the project file as trained and the number of evaluated (test) documents."""
        per_label: Counter[str] = Counter({category: 0 for category in project_file.entity_categories})
        for document in project_file.documents:
            for region in document.regions:
                per_label.update(label.category for label in region.labels)
        return cls(len(project_file.documents), test_documents, dict(sorted(per_label.items())))


@dataclass(frozen=True)
class ModelCard:
    """Everything the card states; :meth:`render` writes it as Markdown."""

    project_name: str
    model_label: str
    model_id: str
    last_trained: str
    language: str
    spacy_language: str
    labels: list[str]
    counts: DataCounts
    evaluation_summary: dict[str, Any]
    training_config_version: str
    training_settings: dict[str, Any]
    versions: dict[str, str] = field(default_factory=dict)
    calibration: Calibrator = IDENTITY

    def render(self, code_package: str | None = None) -> str:
        """The card as Markdown; ``code_package``: the bundled package to import first, if the model needs one."""
        lines = [
            f"# Custom NER model `{self.model_label}` of project `{self.project_name}`",
            "",
            "A spaCy pipeline (`tok2vec` + `ner`) exported from the Custom NER service. It runs offline:",
            "",
            *self._loading_lines(code_package),
            "",
            "## Model",
            "",
            f"- Model id: `{self.model_id}`",
            f"- Trained: {self.last_trained}",
            f"- Language: `{self.language}` (spaCy language `{self.spacy_language}`)",
            f"- Entity labels ({len(self.labels)}): {', '.join(f'`{label}`' for label in self.labels)}",
            "",
            "## Training data",
            "",
            f"- Documents: {self.counts.documents} ({self.counts.training_documents} for training, including the "
            f"development set carved from them; {self.counts.test_documents} held out for testing)",
            "",
            "| Label | Labelled entities |",
            "|---|---:|",
            *(f"| `{label}` | {count} |" for label, count in self.counts.entities_per_label.items()),
            "",
            "## Evaluation on the test documents",
            "",
            *self._evaluation_lines(),
            "",
            "## Confidence scores",
            "",
            "The service's `confidenceScore` of an entity is the model's probability of the transitions that "
            "built it (the product, over its tokens, of the softmax probability of the transition the greedy "
            "parse took), then calibrated on the development set carved from the training documents so that it "
            "reads as a probability of being correct. `spacy.load` gives the same entities without scores.",
            "",
            f"- {self.calibration.describe()}",
            "",
            "## Training configuration",
            "",
            f"- Training config version: `{self.training_config_version}`",
            *(f"- {key}: `{value}`" for key, value in self.training_settings.items()),
            "- The full pipeline configuration is `config.cfg` in this folder.",
            "",
            "## Versions",
            "",
            *(f"- {name}: `{value}`" for name, value in sorted(self.versions.items())),
            "",
        ]
        return "\n".join(lines)

    def _loading_lines(self, code_package: str | None) -> list[str]:
        spacy_version = self.versions.get("spaCy", "")
        if code_package is None:
            return [
                f"Requirements: `pip install spacy=={spacy_version}`" if spacy_version else "Requirements: spaCy 3.8",
                "",
                "```python",
                "import spacy",
                'nlp = spacy.load("path/to/this/folder")',
                'print([(ent.text, ent.label_) for ent in nlp("your text").ents])',
                "```",
            ]
        return [
            f"Requirements: `pip install spacy=={spacy_version} spacy-lookups-data==1.0.5` (the Brown-cluster "
            "table this model's embedding layer reads; it is checked by hash).",
            "",
            f"The layer's code is in `code/{code_package}/`; import it before loading, so spaCy knows it:",
            "",
            "```python",
            "import sys",
            "import spacy",
            'sys.path.insert(0, "path/to/this/folder/code")',
            f"import {code_package}  # registers the model's embedding layer",
            'nlp = spacy.load("path/to/this/folder")',
            'print([(ent.text, ent.label_) for ent in nlp("your text").ents])',
            "```",
        ]

    def _evaluation_lines(self) -> list[str]:
        evaluation = self.evaluation_summary.get("customEntityRecognitionEvaluation") or {}
        if not evaluation:
            return ["No evaluation was recorded for this model."]
        options = self.evaluation_summary.get("evaluationOptions") or {}
        lines = [f"- Split: `{options.get('kind', 'percentage')}`"
                 + (f" ({options['trainingSplitPercentage']}% / {options['testingSplitPercentage']}%)"
                    if "trainingSplitPercentage" in options else "")]
        for scope in ("micro", "macro"):
            lines.append(
                f"- {scope.capitalize()} F1 {_metric(evaluation, scope + 'F1')}, precision "
                f"{_metric(evaluation, scope + 'Precision')}, recall {_metric(evaluation, scope + 'Recall')}"
            )
        entities = evaluation.get("entities") or {}
        if entities:
            lines += ["", "| Label | F1 | Precision | Recall | TP | FP | FN |", "|---|---:|---:|---:|---:|---:|---:|"]
            for label, scores in sorted(entities.items()):
                lines.append(
                    f"| `{label}` | {_metric(scores, 'f1')} | {_metric(scores, 'precision')} | "
                    f"{_metric(scores, 'recall')} | {scores.get('truePositiveCount', 0)} | "
                    f"{scores.get('falsePositiveCount', 0)} | {scores.get('falseNegativeCount', 0)} |"
                )
        return lines


def _metric(scores: dict[str, Any], key: str) -> str:
    value = scores.get(key)
    return f"{float(value):.3f}" if isinstance(value, (int, float)) else "n/a"
