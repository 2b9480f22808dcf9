"""Entity extraction (Azure's runtime ``analyze-text/jobs`` with ``CustomEntityRecognition`` tasks).

Plain typed code, no I/O: request parsing and limits (:mod:`.request`), string-index conversions
(:mod:`.text_elements`), prediction with confidence scores (:mod:`.prediction`), the per-process model
cache (:mod:`.model_cache`) and the job/result shapes (:mod:`.results`).
"""
