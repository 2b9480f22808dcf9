"""Training memory and per-step time vs. corpus size, measured in fresh processes, side by side.

For each size N, synthetic documents from ``samples/generate.py`` (``documents=N``) are converted with
the service's own ``build_doc_bin`` into shards of 200 documents, split like a job (10 % test, then a
10 % dev carve of the rest: ~81 % train, ~9 % dev). Each measurement runs in its own subprocess:

* ``init_checkpoint`` (seconds);
* chunk 1 (``--steps`` steps) and chunk 2 (``--steps`` more) of ``train_chunk`` with
  ``eval_frequency = --eval-frequency``, in the same process (chunk 2 shows what a later chunk of a
  worker costs): seconds per chunk and per step (chunk time / steps, evaluations included, and the
  same without two empty-chunk times);
* checkpoint size after the two chunks and its ``msgpack`` load/dump seconds;
* an empty chunk (0 steps): what a chunk costs besides its steps (restore model and optimizer, decode
  or look up the corpus, write the checkpoint);
* peak RSS of the process (``resource.getrusage(RUSAGE_SELF).ru_maxrss``).

``--baseline REV`` also measures ``shared/ner/training.py`` as of git revision REV (extracted to a
temporary module; only revisions before it became the ``shared/ner/training/`` package), interleaved
with the current code, so ratios are taken under the same load.

Usage: ``.venv/bin/python -m bench.train_memory [--sizes 1000 4000 16000] [--baseline REV]``
Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CACHE = Path(tempfile.gettempdir()) / "train_memory_bench"
SHARD = 200


def _corpus(documents: int) -> tuple[list[str], list[bytes], list[bytes]]:
    """(labels, train DocBins, dev DocBins) for ``documents`` synthetic documents, cached on disk."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"corpus-{documents}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())  # noqa: S301 - our own cache file
    from samples.generate import generate_sample_project
    from shared.ner.corpus import build_doc_bin
    from shared.ner.documents import decode_document
    from shared.ner.project_file import parse_project_file
    from shared.ner.splitting import carve_dev_set

    project, files = generate_sample_project(documents=documents)
    parsed = parse_project_file(project)
    docs = parsed.documents
    test = {doc.location for index, doc in enumerate(docs) if index % 10 == 9}
    train_all = [doc for doc in docs if doc.location not in test]
    train_locs, dev_locs = carve_dev_set(train_all, seed=0)
    by_location = {doc.location: doc for doc in docs}

    def bins(locations: list[str]) -> list[bytes]:
        out = []
        for start in range(0, len(locations), SHARD):
            items = [
                (by_location[loc], decode_document(loc, files[loc]))
                for loc in locations[start : start + SHARD]
            ]
            out.append(build_doc_bin("en", items)[0])
        return out

    result = (list(parsed.entity_categories), bins(train_locs), bins(dev_locs))
    path.write_bytes(pickle.dumps(result))
    return result


def _load_module(path: str) -> Any:
    if not path.endswith(".py"):  # the current package, by module name
        return importlib.import_module(path)
    spec = importlib.util.spec_from_file_location("training_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    module.CONFIG_PATH = ROOT / "shared" / "ner" / "config.cfg"  # an extracted baseline sits elsewhere
    return module


def _measure(module_path: str, documents: int, steps: int, eval_frequency: int) -> dict[str, Any]:
    """One measurement (runs inside the child process)."""
    labels, train_bins, dev_bins = _corpus(documents)
    training = _load_module(module_path)
    options = training.TrainingOptions(
        lang="en", labels=labels, max_steps=100_000, patience=0, eval_frequency=eval_frequency, seed=0
    )
    out: dict[str, Any] = {"documents": documents, "train_bytes": sum(map(len, train_bins))}
    t0 = time.perf_counter()
    checkpoint = training.init_checkpoint(options, train_bins)
    out["init_seconds"] = time.perf_counter() - t0
    out["rss_after_init_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    chunks = []
    for _ in range(2):
        t0 = time.perf_counter()
        result = training.train_chunk(checkpoint, train_bins, dev_bins, max_steps=steps)
        seconds = time.perf_counter() - t0
        checkpoint = result.checkpoint
        chunks.append({"seconds": seconds, "steps": len(result.losses), "dev_score": result.dev_score})
    import srsly

    out["checkpoint_mib"] = len(checkpoint) / 2**20  # after 2 chunks: weights, best weights, Adam moments
    t0 = time.perf_counter()
    state = srsly.msgpack_loads(checkpoint)
    out["checkpoint_load_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    srsly.msgpack_dumps(state)
    out["checkpoint_dump_seconds"] = time.perf_counter() - t0
    del state
    t0 = time.perf_counter()
    training.train_chunk(checkpoint, train_bins, dev_bins, max_steps=0)
    out["empty_chunk_seconds"] = time.perf_counter() - t0  # startup + checkpoint write of a chunk
    out["chunks"] = chunks
    total_steps = sum(c["steps"] for c in chunks)
    out["seconds_per_step"] = sum(c["seconds"] for c in chunks) / total_steps
    out["seconds_per_step_excl_startup"] = (
        sum(c["seconds"] for c in chunks) - 2 * out["empty_chunk_seconds"]
    ) / total_steps
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _run_child(module_path: str, documents: int, steps: int, eval_frequency: int) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.train_memory",
            "--child",
            module_path,
            str(documents),
            str(steps),
            str(eval_frequency),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--steps", type=int, default=20, help="steps per chunk (2 chunks)")
    parser.add_argument("--eval-frequency", type=int, default=20)
    parser.add_argument("--baseline", help="git revision of shared/ner/training.py to compare with")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        module_path, documents, steps, eval_frequency = args.child
        sys.stdout.write(
            json.dumps(_measure(module_path, int(documents), int(steps), int(eval_frequency))) + "\n"
        )
        return

    variants = {"current": "shared.ner.training"}
    if args.baseline:
        source = subprocess.run(
            ["git", "show", f"{args.baseline}:shared/ner/training.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        CACHE.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(source.encode()).hexdigest()[:12]
        baseline_path = CACHE / f"training_{digest}.py"
        baseline_path.write_text(source, encoding="utf-8")
        variants = {"baseline": str(baseline_path), **variants}
    for size in args.sizes:
        _corpus(size)  # build the DocBins once, outside the measurements
    results: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in variants}
    for size in args.sizes:
        for name, path in variants.items():  # interleaved: same load for both variants
            results[name][size] = res = _run_child(path, size, args.steps, args.eval_frequency)
            sys.stdout.write(
                f"{name:9s} {size:6d} docs: peak {res['peak_rss_mib']:7.1f} MiB  init {res['init_seconds']:6.2f}s  "
                f"s/step {res['seconds_per_step']:.3f} (excl. startup {res['seconds_per_step_excl_startup']:.3f})  "
                f"chunks {[round(c['seconds'], 2) for c in res['chunks']]}  empty chunk "
                f"{res['empty_chunk_seconds']:.2f}s  checkpoint {res['checkpoint_mib']:.1f} MiB "
                f"(load {res['checkpoint_load_seconds']:.3f}s dump {res['checkpoint_dump_seconds']:.3f}s)\n"
            )
            sys.stdout.flush()
    base = args.sizes[0]
    for name in variants:
        for size in args.sizes[1:]:
            a, b = results[name][base], results[name][size]
            sys.stdout.write(
                f"{name:9s} {size}/{base}: peak RSS x{b['peak_rss_mib'] / a['peak_rss_mib']:.2f}  "
                f"s/step x{b['seconds_per_step'] / a['seconds_per_step']:.2f}  "
                f"init x{b['init_seconds'] / a['init_seconds']:.2f}\n"
            )
    sys.stdout.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main()
