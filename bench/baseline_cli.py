"""The spaCy CLI baseline: what a user would do by hand, under the same wall-clock budget."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.datasets import Dataset, dev_carve, doc_bin
from bench.scoring import micro, score_predictions

_STEP_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+")


def run_spacy_cli(
    ds: Dataset,
    train: Sequence[str],
    test: Sequence[str],
    *,
    budget_seconds: float,
    seed: int,
    workdir: Path,
    max_steps: int | None = None,
    budget_covers_prep: bool = False,
) -> dict[str, Any]:
    """What a user would do by hand: ``spacy init config`` + ``spacy train`` + score on the test documents.

    Wall-clock cap: the ``spacy train`` process (its own start-up, corpus loading, initialisation and
    training) gets ``budget_seconds`` of wall clock from its start (with ``budget_covers_prep``, minus
    the time already spent on the DocBins and ``spacy init config``). If it has not finished by then (the
    default config's max_steps 20000 or its early stopping, patience 1600), it gets SIGINT, on which
    spaCy writes model-last; we score model-best, the checkpoint spaCy itself selects (model-last if no
    evaluation happened yet). ``max_steps`` overrides the config's step cap. Scoring is not capped.
    """
    import spacy

    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rest, dev = dev_carve(ds, train, seed)
    train_bin, train_warn = doc_bin(ds, rest)
    dev_bin, dev_warn = doc_bin(ds, dev)
    (workdir / "train.spacy").write_bytes(train_bin)
    (workdir / "dev.spacy").write_bytes(dev_bin)
    config = workdir / "config.cfg"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "init",
            "config",
            str(config),
            "--lang",
            ds.lang,
            "--pipeline",
            "ner",
            "--optimize",
            "efficiency",
            "--force",
        ],
        check=True,
        capture_output=True,
        cwd=workdir,
    )
    prep_seconds = time.perf_counter() - t0
    train_cap = max(1.0, budget_seconds - prep_seconds) if budget_covers_prep else budget_seconds
    command = [
        sys.executable,
        "-m",
        "spacy",
        "train",
        str(config),
        "--output",
        str(workdir / "output"),
        "--paths.train",
        str(workdir / "train.spacy"),
        "--paths.dev",
        str(workdir / "dev.spacy"),
        "--system.seed",
        str(seed),
    ]
    if max_steps is not None:
        command += ["--training.max_steps", str(max_steps)]
    log_path = workdir / "train.log"
    t1 = time.perf_counter()
    with log_path.open("wb") as log:
        env = dict(os.environ, ANSI_COLORS_DISABLED="1")  # plain log lines (wasabi)
        _restore_default_sigint()
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env, start_new_session=True
        )
        interrupted = False
        try:
            proc.wait(timeout=train_cap)
        except subprocess.TimeoutExpired:
            interrupted = True
            os.killpg(proc.pid, signal.SIGINT)  # spaCy's finally-block saves model-last
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    train_seconds = time.perf_counter() - t1
    log_text = log_path.read_text(errors="replace")
    steps = [int(m.group(2)) for m in map(_STEP_ROW.match, log_text.splitlines()) if m]
    best = workdir / "output" / "model-best"
    model_dir = best if best.exists() else workdir / "output" / "model-last"
    t2 = time.perf_counter()
    if model_dir.exists():
        nlp = spacy.load(model_dir)

        def predict(texts: list[str]) -> list[list[tuple[int, int, str]]]:
            return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]

        summary = score_predictions(ds, test, predict)
    else:
        summary = None
    eval_seconds = time.perf_counter() - t2
    return {
        "side": "cli",
        "command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(command)),
        "train_docs": len(rest),
        "dev_docs": len(dev),
        "test_docs": len(test),
        "label_warnings": train_warn + dev_warn,
        "returncode": proc.returncode,
        "train_cap_seconds": train_cap,
        "interrupted_at_budget": interrupted,
        # > a second or two means the cap did not hold (SIGINT not acted on): the CLI trained longer
        "seconds_past_cap": max(0.0, train_seconds - train_cap),
        "last_evaluated_step": steps[-1] if steps else 0,  # spaCy logs a row per evaluation only
        "model_used": model_dir.name if model_dir.exists() else None,
        "prep_seconds": prep_seconds,
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "wall_seconds": prep_seconds + train_seconds + eval_seconds,
        "scores": micro(summary) if summary else {"microPrecision": 0.0, "microRecall": 0.0, "microF1": 0.0},
    }


def _restore_default_sigint() -> None:
    """Let ``spacy train`` be stopped by the SIGINT that ends it at the wall-clock cap.

    A bench started in the background of a non-interactive shell (``nohup ... &``) inherits SIGINT
    ignored, and so would every child it starts. A Python-level handler is reset to the default in
    children on exec; only the main thread may install one.
    """
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
