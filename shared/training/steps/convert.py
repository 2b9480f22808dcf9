"""Step 2, ``convert_shard`` (one per shard): download, check and convert a shard's documents into a DocBin."""

from __future__ import annotations

from collections.abc import Iterator

from shared.config import Settings
from shared.ner.corpus import build_doc_bin
from shared.ner.project_file import DocumentAsset
from shared.storage.blobs import BlobStore
from shared.storage.documents import iter_document_results
from shared.training import jobs
from shared.training.payloads import ShardSummary, ShardTask
from shared.training.problems import DocumentProblems
from shared.training.shards import by_location, load_manifest, shard_documents


def convert_shard(settings: Settings, task: ShardTask) -> ShardSummary:
    """Read, check and convert one shard's documents into its DocBin.

    Each document is downloaded once (a few concurrently), decoded and its labels checked before it is
    converted; label alignment problems become job warnings.

    Raises:
        InvalidArgument: documents of the shard are missing, unreadable or have labels that do not fit
            their text (one detail per problem naming document, label and offset, up to
            :data:`~shared.training.problems.MAX_REPORTED_PROBLEMS`; a single unreadable document is reported with its own error).
    """
    ref = task.ref
    blobs = BlobStore(settings)
    manifest = load_manifest(blobs, ref.workspace)
    documents = shard_documents(blobs, ref.workspace, task.shard)
    documents_at = by_location(documents)
    problems = DocumentProblems()

    def usable() -> Iterator[tuple[DocumentAsset, str]]:
        for location, result in iter_document_results(settings, manifest["container"], list(documents_at)):
            document = documents_at[location]
            if problems.accept(document, result):
                assert isinstance(result, str)
                yield document, result

    data, warnings = build_doc_bin(manifest["spacy_lang"], usable())
    problems.raise_if_any()
    blobs.put_bytes(ref.workspace.shard_bin(task.shard), data)
    jobs.add_warnings(settings, ref.projectName, ref.jobId, list(warnings))
    return ShardSummary(shard=task.shard, documents=len(documents), warnings=len(warnings))
