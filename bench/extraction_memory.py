"""Memory of a prediction worker as it loads deployed models, with the runtime's own cache.

In one process (what an activity worker is): a model is trained briefly on a dataset with the service's
trainer (the weights' size does not depend on how long it trained), its bytes are served from memory as
``N`` distinct model versions (distinct blob names, as ``N`` deployments of ``N`` trainings are), and
each version is loaded through ``shared.extraction.serving.served_model`` and used once (a 25-document
prediction). Resident memory (VmRSS) and its peak (VmHWM) are read from /proc after each load, for a
cache capacity of ``--capacity`` (default: as many as there are versions) and again for a smaller one.

Usage: ``.venv/bin/python -m bench.extraction_memory [--versions 10] [--small-capacity 4] [folder]``
"""

from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import Any

from bench.common import DATA_ROOT, choose_split, load_dataset, write_result


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class _Blobs:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def get_bytes(self, name: str) -> bytes:
        return self.data


def run(model: bytes, texts: list[str], versions: int, capacity: int) -> list[dict[str, Any]]:
    from shared.extraction.serving import model_cache, served_model

    cache = model_cache(capacity)
    cache.clear()
    cache.capacity = capacity
    gc.collect()
    rows = [{"loaded": 0, "rss_mib": round(_status_kib("VmRSS") / 1024, 1)}]
    blobs = _Blobs(model)
    for number in range(1, versions + 1):
        served = served_model(blobs, f"models/bench/m/job{number}/model.bin", capacity)
        served.predict(texts)
        gc.collect()
        rows.append(
            {
                "loaded": number,
                "cached": len(cache),
                "rss_mib": round(_status_kib("VmRSS") / 1024, 1),
                "peak_mib": round(_status_kib("VmHWM") / 1024, 1),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", type=Path, default=DATA_ROOT / "wnut17")
    parser.add_argument("--versions", type=int, default=10)
    parser.add_argument("--small-capacity", type=int, default=4)
    args = parser.parse_args(argv)
    from bench.extraction_confidence import train_model
    from shared.ner.documents import region_texts

    ds = load_dataset(args.folder)
    train, test, _ = choose_split(ds, "auto", 0)
    model, info = train_model(ds, train, seconds=30.0, seed=0)
    texts = [r.text for loc in test[:25] for r in region_texts(ds.assets[loc], ds.texts[loc])][:25]
    full = run(model, texts, args.versions, args.versions)
    bounded = run(model, texts, args.versions, args.small_capacity)
    per_model = (full[-1]["rss_mib"] - full[1]["rss_mib"]) / max(1, args.versions - 1)
    print(f"model bytes: {len(model) / 2**20:.1f} MiB; training: {info}")
    print(f"capacity {args.versions}: " + ", ".join(f"{r['loaded']}:{r['rss_mib']}" for r in full))
    print(f"capacity {args.small_capacity}: " + ", ".join(f"{r['loaded']}:{r['rss_mib']}" for r in bounded))
    print(f"RSS growth per additional cached model: {per_model:.1f} MiB")
    write_result(
        "extraction_memory",
        {
            "dataset": ds.name,
            "model_mib": round(len(model) / 2**20, 2),
            "training": info,
            "capacity_all": full,
            f"capacity_{args.small_capacity}": bounded,
            "rss_growth_per_model_mib": round(per_model, 1),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
