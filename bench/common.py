"""Shared helpers for the benchmarks: datasets, splits, scoring, the spaCy CLI baseline, the direct
in-process run, a private service stack (Azurite + local host) and its HTTP client, process memory.

Nothing here runs in CI. Every script writes one JSON file under ``bench/results/`` (git-ignored) and
prints a short human summary; BENCHMARKS.md is written from those files by hand.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DATA_ROOT = ROOT.parent / "shared" / "data"
API_VERSION = "2023-04-01"
BENCH_KEY = "bench-key"
PROJECTS_PATH = "/language/authoring/analyze-text/projects"

if str(ROOT) not in sys.path:  # `python bench/x.py` as well as `python -m bench.x`
    sys.path.insert(0, str(ROOT))

# A bench started in the background of a non-interactive shell (`nohup ... &`) inherits SIGINT ignored,
# and so would every child it starts: `spacy train` would then run past its wall-clock cap (the SIGINT
# that ends it is ignored). A Python-level handler here is reset to the default in children on exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


# --------------------------------------------------------------------------- machine & results


def machine_info() -> dict[str, Any]:
    """Cores, memory, load and versions: recorded with every result."""
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    try:
        import spacy

        spacy_version = spacy.__version__
    except ImportError:  # pragma: no cover - the venv has it
        spacy_version = "?"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cores": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "loadavg_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "spacy": spacy_version,
        "git_commit": commit,
        "command": " ".join([Path(sys.executable).name, "-m", _module_name(), *sys.argv[1:]]),
    }


def _module_name() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name:
        return str(spec.name)
    return Path(sys.argv[0]).with_suffix("").name


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus machine info and end-of-run load) to ``bench/results/<name>-<time>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    payload = dict(payload)
    payload.setdefault("machine", machine_info())
    payload["machine"]["loadavg_at_end"] = list(os.getloadavg())
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    print(f"\nresult written to {path.relative_to(ROOT)}")
    return path


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100); NaN for an empty list."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


# --------------------------------------------------------------------------- datasets


@dataclass
class Dataset:
    """A folder laid out like a project's blob container: documents plus an Azure project file."""

    name: str
    folder: Path
    raw: dict[str, Any]
    project: Any  # shared.ner.project_file.ProjectFile
    data: dict[str, bytes]
    texts: dict[str, str]

    @property
    def assets(self) -> dict[str, Any]:
        return {doc.location: doc for doc in self.project.documents}

    @property
    def lang(self) -> str:
        from shared.ner.corpus import spacy_language

        return spacy_language(self.project.language)


def find_project_file(folder: Path) -> Path:
    """``project.json`` if present, else the one JSON file in ``folder`` that has ``projectFileVersion``."""
    if (folder / "project.json").exists():
        return folder / "project.json"
    candidates = []
    for path in sorted(folder.glob("*.json")):
        try:
            if "projectFileVersion" in json.loads(path.read_text(encoding="utf-8-sig")):
                candidates.append(path)
        except (ValueError, OSError):
            continue
    if len(candidates) != 1:
        raise SystemExit(
            f"{folder}: expected one project file, found {[p.name for p in candidates]}; pass --project-file"
        )
    return candidates[0]


def load_dataset(folder: Path, project_file: Path | None = None) -> Dataset:
    """Parse the project file with the service's own parser and decode every document byte-exact."""
    from shared.ner.documents import decode_document
    from shared.ner.project_file import parse_project_file

    folder = folder.resolve()
    path = project_file or find_project_file(folder)
    raw = json.loads(path.read_text(encoding="utf-8-sig"))
    project = parse_project_file(raw)
    data: dict[str, bytes] = {}
    texts: dict[str, str] = {}
    for doc in project.documents:
        blob = (folder / doc.location).read_bytes()
        data[doc.location] = blob
        texts[doc.location] = decode_document(doc.location, blob)
    return Dataset(folder.name, folder, raw, project, data, texts)


def choose_split(ds: Dataset, mode: str, seed: int) -> tuple[list[str], list[str], str]:
    """Pick the train/test documents once, for both sides.

    ``keep`` uses each document's ``dataset`` value; ``seeded`` runs the service's own seeded,
    stratified 80/20 split (shared.ner.splitting.split_documents); ``auto`` keeps the file's split when
    every document has one, else seeds.
    """
    docs = ds.project.documents
    if mode == "auto":
        mode = "keep" if all(d.dataset for d in docs) else "seeded"
    if mode == "keep":
        train = [d.location for d in docs if (d.dataset or "").lower() == "train"]
        test = [d.location for d in docs if (d.dataset or "").lower() == "test"]
        if not test:
            raise SystemExit(f"{ds.name}: --split keep but no document has dataset Test")
        return train, test, "keep"
    from shared.models import EvaluationOptions
    from shared.ner.splitting import split_documents

    result = split_documents(docs, EvaluationOptions(), seed=seed)
    return list(result.train), list(result.test), f"seeded(80/20, seed={seed})"


def manual_project_json(
    ds: Dataset, project_name: str, container: str, train: Sequence[str], test: Sequence[str]
) -> dict[str, Any]:
    """The dataset's project file, renamed, pointed at ``container`` and with ``dataset`` set per document."""
    body = copy.deepcopy(ds.raw)
    body["metadata"]["projectName"] = project_name
    body["metadata"]["storageInputContainerName"] = container
    assignment = {loc: "Train" for loc in train} | {loc: "Test" for loc in test}
    documents = [doc for doc in body["assets"]["documents"] if doc["location"] in assignment]
    for doc in documents:
        doc["dataset"] = assignment[doc["location"]]
    body["assets"]["documents"] = documents
    return body


def doc_bin(ds: Dataset, locations: Iterable[str]) -> tuple[bytes, int]:
    """DocBin bytes for ``locations`` built by the service's converter; returns (bytes, warning count)."""
    from shared.ner.corpus import build_doc_bin

    assets = ds.assets
    data, warnings = build_doc_bin(ds.lang, ((assets[loc], ds.texts[loc]) for loc in locations))
    return data, len(warnings)


def dev_carve(ds: Dataset, train: Sequence[str], seed: int) -> tuple[list[str], list[str]]:
    """(train-minus-dev, dev): the service's carve of a dev set out of the training documents."""
    from shared.ner.splitting import carve_dev_set

    assets = ds.assets
    rest, dev = carve_dev_set([assets[loc] for loc in train], seed=seed)
    return list(rest), list(dev)


# --------------------------------------------------------------------------- scoring


def score_predictions(
    ds: Dataset, test: Sequence[str], predict: Callable[[list[str]], list[list[tuple[int, int, str]]]]
) -> dict[str, Any]:
    """Score ``predict`` (region texts -> python-index spans) on ``test`` with the service's exact-match
    evaluation code; returns the Azure evaluation summary JSON."""
    from shared.models import EvaluationOptions
    from shared.ner.documents import region_texts
    from shared.ner.evaluation import (
        DocumentEvaluation,
        Entity,
        EvaluationCounts,
        RegionEvaluation,
        summarize,
    )

    assets = ds.assets
    counts = EvaluationCounts()
    for loc in test:
        asset = assets[loc]
        regions = region_texts(asset, ds.texts[loc])
        predictions = predict([r.text for r in regions])
        evaluated = []
        for region, spans in zip(regions, predictions, strict=True):
            expected = [Entity(cat, *region.to_utf16_entity(s, e)) for s, e, cat in region.spans]
            predicted = [Entity(cat, *region.to_utf16_entity(s, e)) for s, e, cat in spans]
            evaluated.append(
                RegionEvaluation(region.region_offset, region.region_length, expected, predicted)
            )
        counts.add(DocumentEvaluation(loc, asset.language, evaluated))
    return summarize(counts, EvaluationOptions(kind="manual"))


def rescore_service_results(ds: Dataset, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Re-score the service's own per-document results (evaluation/result) with the same counting code."""
    from shared.models import EvaluationOptions
    from shared.ner.evaluation import (
        DocumentEvaluation,
        Entity,
        EvaluationCounts,
        RegionEvaluation,
        summarize,
    )

    counts = EvaluationCounts()
    for item in items:
        regions = []
        for region in item["customEntityRecognitionResult"]["entities"]:
            regions.append(
                RegionEvaluation(
                    region["regionOffset"],
                    region["regionLength"],
                    [Entity(e["category"], e["offset"], e["length"]) for e in region["expectedEntities"]],
                    [Entity(e["category"], e["offset"], e["length"]) for e in region["predictedEntities"]],
                )
            )
        counts.add(DocumentEvaluation(item["location"], item["language"], regions))
    return summarize(counts, EvaluationOptions(kind="manual"))


def micro(summary: dict[str, Any]) -> dict[str, float]:
    ev = summary["customEntityRecognitionEvaluation"]
    return {k: float(ev[k]) for k in ("microPrecision", "microRecall", "microF1")}


# --------------------------------------------------------------------------- spaCy CLI baseline

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


# --------------------------------------------------------------------------- direct in-process run


def direct_training_options(
    ds: Dataset, *, max_steps: int, patience: int, eval_frequency: int, seed: int
) -> Any:
    from shared.ner.training import TrainingOptions

    return TrainingOptions(
        lang=ds.lang,
        labels=sorted(ds.project.entity_categories),  # as the service does
        max_steps=max_steps,
        patience=patience,
        eval_frequency=eval_frequency,
        seed=seed,
    )


def run_direct(
    ds: Dataset,
    train: Sequence[str],
    test: Sequence[str],
    *,
    max_steps: int,
    patience: int,
    eval_frequency: int,
    seed: int,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """The service's training code in one process with no orchestration: convert, init_checkpoint,
    one train_chunk with no time budget (unless ``max_seconds``), best model, predict and score."""
    from shared.ner.training import best_model_bytes, init_checkpoint, load_model, predict_spans, train_chunk

    t0 = time.perf_counter()
    rest, dev = dev_carve(ds, train, seed)
    train_bin, _ = doc_bin(ds, rest)
    dev_bin, _ = doc_bin(ds, dev)
    options = direct_training_options(
        ds, max_steps=max_steps, patience=patience, eval_frequency=eval_frequency, seed=seed
    )
    checkpoint = init_checkpoint(options, [train_bin])
    t1 = time.perf_counter()
    result = train_chunk(checkpoint, [train_bin], [dev_bin], max_seconds=max_seconds, max_steps=max_steps)
    t2 = time.perf_counter()
    nlp = load_model(best_model_bytes(result.checkpoint))
    summary = score_predictions(ds, test, lambda texts: predict_spans(nlp, texts))
    t3 = time.perf_counter()
    return {
        "side": "direct",
        "steps": result.step,
        "stop_reason": result.stop_reason,
        "finished": result.finished,
        "best_dev_score": result.best_score,
        "prep_seconds": t1 - t0,
        "train_seconds": t2 - t1,
        "eval_seconds": t3 - t2,
        "wall_seconds": t3 - t0,
        "seconds_per_step": (t2 - t1) / result.step if result.step else None,
        "scores": micro(summary),
    }


def probe_steps_per_second(
    ds: Dataset, train: Sequence[str], *, seconds: float, eval_frequency: int, seed: int
) -> dict[str, Any]:
    """Training throughput of the service's trainer on these documents (steps/s, dev evaluations included)."""
    from shared.ner.training import init_checkpoint, train_chunk

    rest, dev = dev_carve(ds, train, seed)
    train_bin, _ = doc_bin(ds, rest)
    dev_bin, _ = doc_bin(ds, dev)
    options = direct_training_options(
        ds, max_steps=10**7, patience=10**7, eval_frequency=eval_frequency, seed=seed
    )
    checkpoint = init_checkpoint(options, [train_bin])
    t0 = time.perf_counter()
    result = train_chunk(checkpoint, [train_bin], [dev_bin], max_seconds=seconds)
    elapsed = time.perf_counter() - t0
    return {
        "steps": result.step,
        "seconds": elapsed,
        "steps_per_second": result.step / elapsed if elapsed else 0.0,
    }


# --------------------------------------------------------------------------- process memory


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: ppid is the 2nd field after the last ')'
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    children = _children_map()
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def proc_memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of one process in KiB, from /proc/<pid>/status (psutil is not installed)."""
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return values


def proc_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


@dataclass
class MemorySampler:
    """Samples the RSS of a process tree in a background thread; keeps per-process peaks (VmHWM) and the
    peak of the tree's summed RSS."""

    root: int
    interval: float = 0.5
    peak_total_rss_kib: int = 0
    per_process: dict[int, dict[str, Any]] = field(default_factory=dict)
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)  # time, total, largest child, host
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        total = 0
        largest = 0
        host = 0
        for pid in process_tree(self.root):
            mem = proc_memory_kib(pid)
            if not mem:
                continue
            total += mem.get("VmRSS", 0)
            if pid != self.root:
                largest = max(largest, mem.get("VmRSS", 0))
            else:
                host = mem.get("VmRSS", 0)
            entry = self.per_process.setdefault(
                pid, {"cmd": proc_cmdline(pid)[:160], "VmHWM": 0, "VmRSS_max": 0}
            )
            entry["VmHWM"] = max(entry["VmHWM"], mem.get("VmHWM", 0))
            entry["VmRSS_max"] = max(entry["VmRSS_max"], mem.get("VmRSS", 0))
        self.peak_total_rss_kib = max(self.peak_total_rss_kib, total)
        self.samples.append((time.perf_counter(), total, largest, host))

    def peaks_between(self, start: float, end: float) -> dict[str, float]:
        """Peak summed RSS, peak single-child RSS and peak host RSS (MiB) of the samples in [start, end]
        (perf_counter)."""
        window = [(total, largest, host) for t, total, largest, host in self.samples if start <= t <= end]
        return {
            "peak_total_rss_mib": round(max((w[0] for w in window), default=0) / 1024, 1),
            "peak_child_rss_mib": round(max((w[1] for w in window), default=0) / 1024, 1),
            "peak_host_rss_mib": round(max((w[2] for w in window), default=0) / 1024, 1),
            "samples": len(window),
        }

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def report(self) -> dict[str, Any]:
        host = self.per_process.get(self.root, {})
        workers = [v for pid, v in self.per_process.items() if pid != self.root]
        return {
            "host_peak_rss_mib": round(host.get("VmHWM", 0) / 1024, 1),
            "max_child_peak_rss_mib": round(max((w["VmHWM"] for w in workers), default=0) / 1024, 1),
            "peak_total_rss_mib": round(self.peak_total_rss_kib / 1024, 1),
            "processes": {str(pid): v for pid, v in self.per_process.items()},
        }


# --------------------------------------------------------------------------- service stack


def default_service_settings() -> dict[str, str]:
    """Values of local.settings.sample.json (the service's documented defaults)."""
    path = ROOT / "local.settings.sample.json"
    return dict(json.loads(path.read_text(encoding="utf-8")).get("Values", {}))


class Stack:
    """A private Azurite (free ports, random key) plus ``python -m devhost start`` on a free port, both
    started and stopped by the benchmark, so nothing shares state with anybody's running service."""

    def __init__(
        self, settings: dict[str, str] | None = None, *, workers: int = 2, log_name: str = "host"
    ) -> None:
        self.extra_settings = dict(settings or {})
        self.workers = workers
        self.log_path = RESULTS / "logs" / f"{log_name}-{uuid.uuid4().hex[:6]}.log"
        self.azurite: Any = None
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.connection = ""

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> Stack:
        from devhost.azurite import free_port, start_azurite

        self.azurite = start_azurite(ROOT)
        self.connection = self.azurite.connection_string
        self.port = free_port()
        hub = "Bench" + uuid.uuid4().hex[:8]
        env = dict(os.environ)
        env.update(default_service_settings())
        env.update(
            {
                "NER_STORAGE_CONNECTION": self.connection,
                "AzureWebJobsStorage": self.connection,
                "LANGUAGE_API_KEYS": BENCH_KEY,
                "NER_TASK_HUB": hub,
            }
        )
        env.update(self.extra_settings)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "devhost",
            "start",
            "--app-dir",
            str(ROOT),
            "--port",
            str(self.port),
            "--no-azurite",
            "--workers",
            str(self.workers),
        ]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import requests

        deadline = time.monotonic() + timeout
        url = f"{self.endpoint}{PROJECTS_PATH}"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"local host exited with {self.process.returncode}; see {self.log_path}")
            try:
                r = requests.get(
                    url,
                    params={"api-version": API_VERSION},
                    headers={"Ocp-Apim-Subscription-Key": BENCH_KEY},
                    timeout=5,
                )
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"local host not ready within {timeout:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # our own session: the host and its workers
                self.process.wait()
        if self.process is not None:
            try:  # stray workers of our own process group, if the host left any behind
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.azurite is not None:
            self.azurite.stop()
            self.azurite = None

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServiceClient:
    """The handful of authoring calls the benchmarks make, over loopback with ``requests``."""

    def __init__(self, endpoint: str, key: str = BENCH_KEY) -> None:
        import requests

        self.endpoint = endpoint.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Ocp-Apim-Subscription-Key"] = key
        self.params = {"api-version": API_VERSION}

    def project_url(self, project: str) -> str:
        return f"{self.endpoint}{PROJECTS_PATH}/{project}"

    def _check(self, response: Any, expected: int) -> Any:
        if response.status_code != expected:
            raise RuntimeError(
                f"{response.request.method} {response.url}: HTTP {response.status_code} {response.text[:500]}"
            )
        return response

    def import_project(
        self, project: str, body: dict[str, Any], timeout: float = 3600
    ) -> tuple[float, dict[str, Any]]:
        """POST :import and poll the operation to the end; returns (seconds, final job body)."""
        t0 = time.perf_counter()
        r = self._check(
            self.session.post(
                f"{self.project_url(project)}/:import", params=self.params, json=body, timeout=600
            ),
            202,
        )
        job = self.wait(r.headers["operation-location"], timeout=timeout)
        elapsed = time.perf_counter() - t0
        if job.get("status") != "succeeded":
            raise RuntimeError(f"import of {project} ended {job.get('status')}: {job.get('errors')}")
        return elapsed, job

    def start_training(self, project: str, label: str, evaluation: dict[str, Any]) -> tuple[float, str]:
        """POST :train; returns (seconds to the 202, operation-location)."""
        body = {"modelLabel": label, "trainingConfigVersion": "latest", "evaluationOptions": evaluation}
        t0 = time.perf_counter()
        r = self.session.post(
            f"{self.project_url(project)}/:train", params=self.params, json=body, timeout=120
        )
        latency = time.perf_counter() - t0
        self._check(r, 202)
        return latency, r.headers["operation-location"]

    def get_job(self, url: str) -> dict[str, Any]:
        return dict(self._check(self.session.get(url, timeout=120), 200).json())

    def wait(
        self,
        url: str,
        *,
        timeout: float = 3600,
        interval: float = 0.25,
        on_poll: Callable[[dict[str, Any], float], None] | None = None,
    ) -> dict[str, Any]:
        """Poll a job URL until a terminal status; ``on_poll(body, t)`` sees every answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.get_job(url)
            if on_poll is not None:
                on_poll(body, time.perf_counter())
            if body.get("status") in {"succeeded", "failed", "cancelled"}:
                return body
            time.sleep(interval)
        raise TimeoutError(f"{url} not finished within {timeout:.0f}s")

    def cancel(self, job_url: str) -> None:
        base, _, query = job_url.partition("?")
        self._check(self.session.post(f"{base}/:cancel", params=self.params, timeout=60), 202)

    def evaluation_summary(self, project: str, label: str) -> dict[str, Any]:
        url = f"{self.project_url(project)}/models/{label}/evaluation/summary-result"
        return dict(self._check(self.session.get(url, params=self.params, timeout=60), 200).json())

    def evaluation_results(self, project: str, label: str) -> list[dict[str, Any]]:
        url: str | None = f"{self.project_url(project)}/models/{label}/evaluation/result"
        params: dict[str, str] | None = dict(self.params, stringIndexType="Utf16CodeUnit")
        items: list[dict[str, Any]] = []
        while url:
            body = self._check(self.session.get(url, params=params, timeout=120), 200).json()
            items.extend(body.get("value", []))
            url, params = body.get("nextLink"), None
        return items


def upload_documents(
    connection: str, container: str, documents: dict[str, bytes], concurrency: int = 8
) -> float:
    """Create ``container`` (if needed) and upload every document; returns seconds."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    t0 = time.perf_counter()
    client = BlobServiceClient.from_connection_string(connection).get_container_client(container)
    try:
        client.create_container()
    except ResourceExistsError:
        pass
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda item: client.upload_blob(item[0], item[1], overwrite=True), documents.items()))
    return time.perf_counter() - t0


@dataclass
class JobTimeline:
    """When (bench clock) each status of a training job was first seen by the poller, and, when a
    ``durable_url`` is given, each phase of the orchestration's custom status (splitting, converting,
    training, evaluating, registering) read from the Durable HTTP API of the local host."""

    t_start: float
    durable_url: str | None = None
    session: Any = None
    seen: dict[str, float] = field(default_factory=dict)
    polls: int = 0
    last_custom_status: Any = None

    def observe(self, body: dict[str, Any], t: float) -> None:
        self.polls += 1
        result = body.get("result") or {}
        keys = [
            f"job:{body.get('status')}",
            f"training:{(result.get('trainingStatus') or {}).get('status')}",
            f"evaluation:{(result.get('evaluationStatus') or {}).get('status')}",
        ]
        if self.durable_url and self.session is not None:
            try:
                response = self.session.get(self.durable_url, timeout=30)
                if response.status_code in (200, 202):
                    custom = response.json().get("customStatus")
                    if isinstance(custom, dict) and custom.get("phase"):
                        keys.append(f"phase:{custom['phase']}")
                        self.last_custom_status = custom
            except Exception:  # noqa: BLE001 - phase tracking is best effort; the job poll is what counts
                pass
        for key in keys:
            self.seen.setdefault(
                key, time.perf_counter() - self.t_start if key.startswith("phase:") else t - self.t_start
            )

    def phase_windows(self) -> dict[str, tuple[float, float]]:
        """(start, end) of each phase on the perf_counter clock (for joining with memory samples)."""
        phases = sorted((t, k[6:]) for k, t in self.seen.items() if k.startswith("phase:"))
        end = self.seen.get("job:succeeded") or self.seen.get("job:failed") or self.seen.get("job:cancelled")
        windows: dict[str, tuple[float, float]] = {}
        for i, (t, name) in enumerate(phases):
            nxt = phases[i + 1][0] if i + 1 < len(phases) else end
            if nxt is not None:
                windows[name] = (self.t_start + t, self.t_start + max(t, nxt))
        return windows

    def phase_seconds(self) -> dict[str, float]:
        """Duration of each orchestration phase, from first sighting to the next phase's first sighting."""
        phases = sorted((t, k[6:]) for k, t in self.seen.items() if k.startswith("phase:"))
        end = self.seen.get("job:succeeded") or self.seen.get("job:failed") or self.seen.get("job:cancelled")
        out: dict[str, float] = {}
        for i, (t, name) in enumerate(phases):
            nxt = phases[i + 1][0] if i + 1 < len(phases) else end
            if nxt is not None:
                out[name] = max(0.0, nxt - t)
        return out


def durable_status_url(endpoint: str, job_url: str) -> str:
    """The Durable HTTP API status URL of the job's orchestration (instance id = job id)."""
    job_id = job_url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[1]
    return f"{endpoint.rstrip('/')}/runtime/webhooks/durabletask/instances/{job_id}"


def job_phase_seconds(job: dict[str, Any]) -> dict[str, float | None]:
    """Training and evaluation durations from the job's own start/end timestamps (second resolution)."""
    from shared.models import parse_datetime

    out: dict[str, float | None] = {}
    result = job.get("result") or {}
    for name in ("trainingStatus", "evaluationStatus"):
        sub = result.get(name) or {}
        start, end = parse_datetime(sub.get("startDateTime")), parse_datetime(sub.get("endDateTime"))
        out[name] = (end - start).total_seconds() if start and end else None
    created, updated = (
        parse_datetime(job.get("createdDateTime")),
        parse_datetime(job.get("lastUpdatedDateTime")),
    )
    out["created_to_last_update"] = (updated - created).total_seconds() if created and updated else None
    return out


def service_train_and_evaluate(
    client: ServiceClient, project: str, label: str = "bench", timeout: float = 7200, phases: bool = True
) -> dict[str, Any]:
    """:train (manual split) -> poll to the end -> evaluation summary; times from the bench's clock.
    With ``phases`` every poll also reads the orchestration's custom status (one more loopback GET)."""
    t0 = time.perf_counter()
    latency, job_url = client.start_training(project, label, {"kind": "manual"})
    timeline = JobTimeline(
        t0, durable_status_url(client.endpoint, job_url) if phases else None, client.session
    )
    job = client.wait(job_url, timeout=timeout, on_poll=timeline.observe)
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {
        "side": "service",
        "train_202_seconds": latency,
        "wall_seconds": wall,
        "status": job.get("status"),
        "errors": job.get("errors"),
        "warnings": job.get("warnings"),
        "first_seen": timeline.seen,
        "phase_seconds": timeline.phase_seconds(),
        "last_custom_status": timeline.last_custom_status,
        "polls": timeline.polls,
        "job_phases": job_phase_seconds(job),
        "job_url": job_url,
    }
    if job.get("status") == "succeeded":
        summary = client.evaluation_summary(project, label)
        out["scores"] = micro(summary)
        out["summary"] = summary
    return out
