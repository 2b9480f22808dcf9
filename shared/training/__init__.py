"""The training pipeline: one module per concept, one step module per Durable activity (or phase).

::

    requests.py       the ``:train`` body and the train-requests queue message -> a new job row
    jobs.py           the state changes the pipeline makes (each one lifecycle transition, applied)
    payloads.py       typed payloads exchanged by the orchestrator and the activities (both sides)
    shards.py         the shard plan: shard ids, each shard's documents, the manifest
    problems.py       collecting unusable documents to fail once, naming all of them
    estimate.py       progress and end time before the first chunk, from the corpus size
    split_summary.py  the effective split in numbers and words (job warning, evaluation summary)
    caches.py         per-process caches: training DocBins, last checkpoint (by ETag), evaluation model
    steps/prepare.py  mark running, check documents exist, split, plan shards
    steps/convert.py  one shard's documents -> DocBin (labels checked)
    steps/train.py    first checkpoint, bounded resumable chunks (progress recorded), best model
    steps/evaluate.py one test shard predicted and counted
    steps/register.py the model registered and the job ended; fail / cancel from the orchestration

The job's life (statuses, transitions, slot, expiry, watchdog) and its blob layout are in
:mod:`shared.jobs`. Steps raise :mod:`shared.errors` types; the activity adapters turn them into the
failure contract of :mod:`shared.jobs.failures`.
"""
