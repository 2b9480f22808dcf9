"""Long-running project operations other than training: import, export, project deletion, load-snapshot.

``<kind>.start_*`` validates a request synchronously (so a bad request is a 4xx at once), records the
job (``notStarted``, :mod:`shared.operations.requests`) and returns an ``OperationRequest``; the HTTP
layer starts the operation orchestration with it, whose activity calls :func:`shared.operations.run.run_operation`.
The job kinds are declared in :mod:`shared.jobs.kinds`; their rows change only through :mod:`shared.jobs.apply`.
"""
