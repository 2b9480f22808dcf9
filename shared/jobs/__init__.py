"""Long-running jobs: the life of every job kind, in one package.

Every long-running operation of the service (training, import, export, project deletion, load-snapshot;
next: deployments, swaps, extraction jobs, exported models) is a *job*: a table row that clients poll at
its ``operation-location``, and a Durable orchestration (instance id = job id) that does the work.

Where to look::

    status.py     JobStatus (Azure's wire values) and the one table of allowed status changes
    lifecycle.py  PURE: every transition of a job record (start_phase, record_progress, succeed, fail,
                  request_cancel, complete_cancel, ...), reconciliation with a Durable runtime status,
                  staleness, expiry. No storage, no clock (``now`` is passed in).
    apply.py      the ONE place that writes a job's status: ETag-conditional read-modify-write with
                  retries, log line, CloudEvent, slot release and scratch clean-up when a job ends;
                  job row creation (with the training slot claim)
    kinds.py      one small declaration per job kind: table, partition, operation-location template,
                  orchestrator, whether it holds the training slot, public JSON
    ids.py        new_job_id: Azure's ``<guid>_<ticks of the day>`` for every kind
    failures.py   the activity -> orchestrator failure contract (StepFailure: code, message, target,
                  details, retryable)
    runtime.py    reconciling a quiet row with its orchestration's runtime status (status routes)
    housekeeping.py  the purge timer's work: expired jobs, orphaned scratch data, the heartbeat watchdog
    workspace.py  every blob name of a job, a model and a project

The state machine (:data:`shared.jobs.status.ALLOWED`)::

                 start_phase                 succeed
    notStarted ---------------> running ---------------> succeeded
        |  \\                     |   \\
        |   \\ request_cancel     |    \\ fail (step error, watchdog, lost orchestration)
        |    \\                   |     `--------------> failed
        |     v                  v
        |   cancelling <---------'  request_cancel
        |        |
        |        | complete_cancel (terminated, noticed by a chunk, or any failure / watchdog /
        |        v                  reconciliation of a cancelling job: a cancel always wins)
        `----> cancelled   (also notStarted -> failed / cancelled, when the orchestration never ran)

- Terminal (succeeded, failed, cancelled) rows never change again. When a training job ends its project's
  training slot is released and its scratch data under ``jobs/<project>/<job>/`` is deleted.
- ``cancelling``: no pipeline step may change the job any more (:class:`~shared.jobs.lifecycle.JobNotActive`).
- Expiry: ``job_ttl_days`` after creation a job is gone for callers and the purge timer deletes its row,
  instance history and scratch data; the pipeline may still end an expired job it is running.
- Watchdog: an active job with neither heartbeat nor row change for ``heartbeat_timeout_seconds`` is failed
  (cancelled if a cancel was pending) and its instance terminated.
- Reconciliation: a status read asks the Durable runtime only about a row that has been quiet for a while;
  Running/Pending keep it, Terminated ends it cancelled, Failed/Completed/missing end it failed.

Blob layout in the app container (:mod:`shared.jobs.workspace`)::

    projects/<project>/assets.json              the imported project file
    projects/<project>/imports/<job>.json       a staged import
    projects/<project>/exports/<job>.json       an export job's result
    jobs/<project>/<job>/                       a training job's scratch data
        manifest.json, split.json, snapshot.json
        shards/<shard>.docs.json, shards/<shard>.spacy
        checkpoint.bin, model.bin, eval/<shard>.json
    models/<project>/<label>/<job>/             a trained model
        model.bin, evaluation-summary.json, evaluation-documents.json, snapshot.json

The training pipeline's steps are in :mod:`shared.training`; the other operations in
:mod:`shared.operations`; the Functions adapters (routes, orchestrators, activities) in ``functions/``.
"""
