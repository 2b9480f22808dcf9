"""Collecting the unusable documents of a step, so the job fails once naming all of them (up to a limit)."""

from __future__ import annotations

from shared.errors import AppError, ErrorDetail, invalid_with_details
from shared.ner.documents import check_labels_fit
from shared.ner.project_file import DocumentAsset

MAX_REPORTED_PROBLEMS = 20
"""Label problems listed in one error before the rest are only counted."""


class DocumentProblems:
    """Collects the unusable documents of a step, to fail once naming all of them (up to a limit)."""

    def __init__(self) -> None:
        self.failing = 0
        self.label_failures = 0
        self.first: AppError | None = None
        self.details: list[ErrorDetail] = []

    def add(self, error: AppError, location: str, *, label: bool) -> None:
        self.failing += 1
        self.label_failures += int(label)
        self.first = self.first or error
        if len(self.details) < MAX_REPORTED_PROBLEMS:
            remaining = MAX_REPORTED_PROBLEMS - len(self.details)
            self.details.extend(
                (error.details or [ErrorDetail(error.code, error.message, location)])[:remaining]
            )

    def accept(self, document: DocumentAsset, result: str | AppError) -> bool:
        """Record ``result`` if the document is unusable; True if it may be converted."""
        if isinstance(result, AppError):
            self.add(result, document.location, label=False)
            return False
        try:
            check_labels_fit(document, result)
        except AppError as error:
            self.add(error, document.location, label=True)
            return False
        # Once something failed the step will fail: keep checking, stop converting.
        return self.failing == 0

    def raise_if_any(self) -> None:
        """Raise one ``InvalidArgument`` for everything collected (a lone document error unchanged)."""
        if not self.failing or self.first is None:
            return
        if self.failing == 1 and not self.label_failures:
            raise self.first
        first = self.details[0].message if self.details else self.first.message
        if self.label_failures == self.failing:
            message = (
                f"{self.failing} document(s) have labels that do not fit their text; fix the labels and "
                f"train again. First problem: {first}"
            )
        else:
            message = (
                f"{self.failing} document(s) cannot be used for training (missing, unreadable, or with "
                f"labels that do not fit their text); fix them and train again. First problem: {first}"
            )
        raise invalid_with_details(message, self.details, "assets")
