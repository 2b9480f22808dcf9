"""What a training job's split really was, in numbers and in words (job warning, evaluation summary).

With ``percentage`` the requested split applies only to documents not marked ``Test`` (Azure: "only the
data assigned to a training set is split according to the percentages provided"); documents marked
``Test`` always test. So "80/20" on a project with many Test documents tests more than 20 %, and the
summary's ``evaluationOptions`` (Azure's echo of the request) cannot show it: this says it.
"""

from __future__ import annotations

from typing import Any

from shared.models import EvaluationOptions

EFFECTIVE_SPLIT_WARNING = "EffectiveSplit"


def describe_split(
    options: EvaluationOptions, *, training: int, dev: int, testing: int, preassigned_test: int
) -> dict[str, Any]:
    """``{"trainingDocuments", "devDocuments", "testingDocuments", "preassignedTestDocuments", "explanation"}``.

    Args:
        training: documents the model trained on, the dev set included.
        dev: of those, held out to pick the best model and stop early.
        testing: documents the model was evaluated on.
        preassigned_test: documents marked ``Test`` in the project.
    """
    total = training + testing
    share = round(100 * testing / total) if total else 0
    dev_text = f" ({dev} of them held out as the dev set for early stopping)" if dev else ""
    if options.kind == "manual":
        explanation = (
            f"Manual split: {training} documents not marked Test trained the model{dev_text}; the "
            f"{testing} documents marked Test evaluated it ({share}% of {total})."
        )
    else:
        pool = total - preassigned_test
        picked = testing - preassigned_test
        requested = options.testing_split_percentage
        explanation = (
            f"{testing} of {total} documents tested ({share}%), {training} trained{dev_text}. "
            f"Documents marked Test always stay in the test set ({preassigned_test} here); the "
            f"{options.training_split_percentage}/{requested} split applies to the other {pool}, of "
            f"which {picked} were picked for testing."
        )
    return {
        "trainingDocuments": training,
        "devDocuments": dev,
        "testingDocuments": testing,
        "preassignedTestDocuments": preassigned_test,
        "explanation": explanation,
    }
