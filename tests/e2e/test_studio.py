"""The studio page in a real headless Chromium (Debian's ``chromium``, driven by Playwright), against a
trained sample project on the local host: what a person sees must be what the API says.

Screenshots of every view are kept in ``test-artifacts/studio/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from tests.e2e.conftest import ROOT, Api, HostNames, HostProcess, eventually, imported_sample, train

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")

CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
"""Without the background-networking flags Chromium keeps trying to reach Google's hosts."""
ARTIFACTS = ROOT / "test-artifacts" / "studio"
TRAINING_TIMEOUT = 600.0
UI_TIMEOUT_MS = 60_000
NONE = "$none"


def pct(value: float) -> str:
    """The page's percentage format, applied to the API's number: JavaScript's ``(100 * v).toFixed(1)``, which
    rounds an exact tie up (56.25 -> "56.3") where Python's format rounds it to even ("56.2")."""
    exact = Decimal(100 * value)  # the float's exact binary value, as toFixed sees it
    return f"{exact.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


@pytest.fixture(scope="module")
def names() -> HostNames:
    return HostNames()


@pytest.fixture(scope="module")
def host(host_factory: Callable[..., HostProcess], names: HostNames) -> HostProcess:
    # A small step budget: a model that still makes mistakes, so disagreements show up.
    return host_factory(names, NER_TRAIN_MAX_STEPS="60", NER_TRAIN_EVAL_FREQUENCY="20")


@pytest.fixture(scope="module")
def api(host: HostProcess) -> Api:
    return Api(host.endpoint)


@pytest.fixture(scope="module")
def trained(api: Api, azurite: Azurite, names: HostNames) -> dict[str, Any]:
    project = f"{names.tag}-studio"
    project_file = imported_sample(api, azurite.connection_string, project)
    job = api.wait_job(train(api, project, "model1"), timeout=TRAINING_TIMEOUT)
    assert job["status"] == "succeeded", job
    base = f"{project}/models/model1"
    results, _ = api.follow_pages(f"{base}/evaluation/result", params={"stringIndexType": "Utf16CodeUnit"})
    return {
        "project": project,
        "project_file": project_file,
        "job": job,
        "summary": api.get(f"{base}/evaluation/summary-result").json(),
        "results": results,
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/setup as root (it installs Debian's chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_sync.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == [], errors


def studio_url(host: HostProcess, view: str = "") -> str:
    return f"{host.endpoint}/language/studio{'#' + view if view else ''}"


def sign_in(page: Any, host: HostProcess, key: str, view: str = "") -> None:
    page.goto(studio_url(host, view))
    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# ---------------------------------------------------------------------------------------------- key


def test_the_shell_has_no_data_and_the_api_needs_the_key(host: HostProcess, trained: dict[str, Any], page: Any) -> None:
    page.goto(studio_url(host))
    assert page.locator("#key-form").is_visible()
    assert trained["project"] not in page.content()
    # The studio's own data route is keyed like every other.
    url = f"{host.endpoint}/language/studio/api/projects/{trained['project']}/models/model1/documents"
    location = trained["results"][0]["location"]
    response = requests.get(url, params={"api-version": "2023-04-01", "location": location}, timeout=30)
    assert response.status_code == 401 and response.json()["error"]["code"] == "Unauthorized"
    # With the key, only the model's test documents can be read.
    keyed = Api(host.endpoint)
    assert keyed.get(url, params={"location": location}).json()["location"] == location
    other = keyed.get(url, params={"location": "po_999.txt"})
    assert other.status_code == 404 and "po_999.txt" in other.json()["error"]["message"]
    assert requests.get(f"{host.endpoint}/language/studio/function_app.py", timeout=30).status_code == 404
    # So is the training side of the split; an unknown model is Azure's 404 naming it.
    side = url.replace("/documents", "/training-side")
    assert requests.get(side, params={"api-version": "2023-04-01"}, timeout=30).status_code == 401
    assert keyed.get(side).json()["trainingDocuments"] == trained["summary"]["effectiveSplit"]["trainingDocuments"]
    missing = keyed.get(side.replace("/model1/", "/no-such-model/"))
    assert missing.status_code == 404 and "no-such-model" in missing.json()["error"]["message"]


def test_a_wrong_key_is_refused_with_the_api_message(host: HostProcess, trained: dict[str, Any], page: Any) -> None:
    sign_in(page, host, "not-a-key")
    page.wait_for_selector("#key-error:has-text('invalid subscription key')", timeout=UI_TIMEOUT_MS)
    assert trained["project"] not in page.content()
    shot(page, "01-wrong-key")


# ------------------------------------------------------------------------------------------- views


def test_projects_and_project_views(host: HostProcess, api: Api, trained: dict[str, Any], page: Any) -> None:
    from tests.e2e.conftest import KEY

    project = trained["project"]
    sign_in(page, host, KEY)
    row = page.wait_for_selector(f"#projects tr[data-project='{project}']", timeout=UI_TIMEOUT_MS)
    assert api.get(project).json()["language"] in row.inner_text()
    shot(page, "02-projects")

    row.query_selector("a").click()
    job = trained["job"]
    job_row = page.wait_for_selector(f"#jobs tr[data-job='{job['jobId']}']", timeout=UI_TIMEOUT_MS)
    assert job_row.query_selector("[data-status]").inner_text() == "succeeded"
    assert job_row.query_selector(".training").inner_text().strip() == "100%"
    assert job_row.query_selector(".evaluation").inner_text().split() == ["100%", "succeeded"]
    model = api.get(f"{project}/models/model1").json()
    model_row = page.locator("#models tr[data-model='model1']")
    assert f"{model['lastTrainingDurationInSeconds']} s" in model_row.inner_text()
    assert page.locator("#deployments").inner_text() == "No deployments."
    shot(page, "03-project")


def document_text(api: Api, project: str, location: str) -> str:
    response = api.get(
        f"{api.endpoint}/language/studio/api/projects/{project}/models/model1/documents",
        params={"location": location},
    )
    assert response.status_code == 200, response.text
    text: str = response.json()["text"]
    return text


def export_jobs(azurite: Azurite, names: HostNames, project: str) -> list[str]:
    """Ids of the project's export jobs, read from the operations table itself."""
    table = TableServiceClient.from_connection_string(azurite.connection_string).get_table_client(
        f"{names.tag}Operations"
    )
    return [row["RowKey"] for row in table.query_entities("PartitionKey eq @p", parameters={"p": f"export:{project}"})]


def test_model_evaluation_matches_the_api(
    host: HostProcess, api: Api, azurite: Azurite, names: HostNames, trained: dict[str, Any], page: Any
) -> None:
    from tests.e2e.conftest import KEY

    project, summary, results = trained["project"], trained["summary"], trained["results"]
    evaluation = summary["customEntityRecognitionEvaluation"]
    exports_before = export_jobs(azurite, names, project)
    sign_in(page, host, KEY, f"/p/{project}/models/model1")
    page.wait_for_selector("#view[data-complete]", timeout=UI_TIMEOUT_MS)
    shot(page, "04-model-evaluation")
    # Looking at a model is a read: it starts no job (the training side comes from what training kept).
    assert export_jobs(azurite, names, project) == exports_before

    card = lambda name: page.locator(f"#{name} .value").inner_text()  # noqa: E731
    assert card("micro-f1") == pct(evaluation["microF1"])
    assert card("micro-precision") == pct(evaluation["microPrecision"])
    assert card("micro-recall") == pct(evaluation["microRecall"])
    assert card("test-documents") == str(len(results))

    # Per-entity bars: one row per entity with the API's numbers.
    rows = page.locator("#entity-metrics tbody tr")
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.entity)")) == sorted(evaluation["entities"])
    for name, metrics in evaluation["entities"].items():
        row = page.locator(f"#entity-metrics tr[data-entity='{name}']")
        assert row.locator("td.precision").inner_text() == pct(metrics["precision"])
        assert row.locator("td.recall").inner_text() == pct(metrics["recall"])
        assert row.locator("td.f1").inner_text() == pct(metrics["f1"])
        assert row.locator(".fp").inner_text() == str(metrics["falsePositiveCount"])
        assert row.locator(".fn").inner_text() == str(metrics["falseNegativeCount"])

    # Confusion matrix heatmap: every cell (with $none) holds the API's raw count, 0 when absent.
    matrix = evaluation["confusionMatrix"]
    labels = sorted({*evaluation["entities"], *matrix, *(p for row in matrix.values() for p in row)} - {NONE})
    for expected in [*labels, NONE]:
        for predicted in [*labels, NONE]:
            raw = matrix.get(expected, {}).get(predicted, {}).get("rawValue", 0)
            cell = page.locator(f"#confusion tr[data-expected='{expected}'] td[data-predicted='{predicted}']")
            assert cell.inner_text() == str(int(raw)), (expected, predicted)

    # The split: test side from the evaluation results, train side = the rest of the 60 documents.
    test_counts = Counter(
        entity["category"]
        for result in results
        for region in result["customEntityRecognitionResult"]["entities"]
        for entity in region["expectedEntities"]
    )
    effective = summary["effectiveSplit"]
    assert page.locator("#split-rule").inner_text() == effective["explanation"]
    assert page.locator("#split tr[data-row='documents'] .test").inner_text() == str(len(results))
    assert len(results) == effective["testingDocuments"]
    assert page.locator("#split tr[data-row='documents'] .train").inner_text() == str(60 - len(results))
    assert 60 - len(results) == effective["trainingDocuments"]
    for category, count in test_counts.items():
        assert page.locator(f"#split tr[data-row='{category}'] .test").inner_text() == str(count)
    # Train side per entity type: the labels of the imported documents the model did not test on.
    tested = {result["location"] for result in results}
    train_counts = Counter(
        label["category"]
        for document in trained["project_file"]["assets"]["documents"]
        if document["location"] not in tested
        for region in document.get("entities", [])
        for label in region["labels"]
    )
    assert train_counts, "the sample's training documents have labels"
    for category in {*train_counts, *test_counts}:
        row = page.locator(f"#split tr[data-row='{category}']")
        assert row.locator(".train").inner_text() == str(train_counts[category]), category

    # Test documents: disagreements counted as the API's expected vs predicted entities differ.
    with_disagreements = 0
    for result in results:
        regions = result["customEntityRecognitionResult"]["entities"]
        expected = {(e["offset"], e["length"], e["category"]) for r in regions for e in r["expectedEntities"]}
        predicted = {(e["offset"], e["length"], e["category"]) for r in regions for e in r["predictedEntities"]}
        spans = lambda items: {(offset, length) for offset, length, _ in items}  # noqa: E731
        differing = len(spans(expected - predicted) | spans(predicted - expected))
        with_disagreements += bool(differing)
        node = page.locator(f".doc[data-location='{result['location']}']")
        assert node.get_attribute("data-disagreements") == str(differing), result["location"]
        # The document's own text is shown (highlights add marks and small type tags, nothing else).
        shown = node.locator(".doc-text").evaluate(
            "box => { const c = box.cloneNode(true); c.querySelectorAll('.tag').forEach(t => t.remove()); return c.textContent; }"
        )
        assert shown == document_text(api, project, result["location"])
        marked = node.locator("mark.exp").count()
        assert (marked > 0) == bool(expected)
    assert page.locator("#disagreement-summary").inner_text().startswith(f"{with_disagreements} of {len(results)}")
    page.check("#only-disagreements")
    assert page.locator(".doc:visible").count() == with_disagreements
    shot(page, "05-only-disagreements")


def _with_estimate(job: dict[str, Any]) -> dict[str, Any] | None:
    if job["status"] in ("succeeded", "failed", "cancelled"):
        return job  # too fast to watch: the assertions below still hold for the finished job
    result = job["result"]
    return job if "estimatedEndDateTime" in result and result["trainingStatus"]["percentComplete"] >= 1 else None


def test_a_running_job_shows_live_progress(host: HostProcess, api: Api, trained: dict[str, Any], page: Any) -> None:
    from tests.e2e.conftest import KEY

    project = trained["project"]
    location = train(api, project, "model2")
    job_id = location.split("/train/jobs/")[1].split("?")[0]
    sign_in(page, host, KEY, f"/p/{project}/jobs/{job_id}")
    page.wait_for_selector("#job-status [data-status]", timeout=UI_TIMEOUT_MS)
    seen = page.locator("#job-status [data-status]").inner_text()
    shot(page, "06-running-job")
    phase = page.locator("#job-phase [data-phase]").get_attribute("data-phase")
    # From the first seconds the API gives an end time, and soon a few percent (estimated from the corpus).
    early = eventually(lambda: _with_estimate(api.get(location).json()), "an estimated end while running")
    final = api.wait_job(location, timeout=TRAINING_TIMEOUT)
    assert seen in ("notStarted", "running", final["status"])
    assert phase in ("queued", "splitting", "converting", "training", "evaluating", "registering", "done")
    assert early["status"] in ("running", final["status"])
    # The page follows the job by itself (no reload) until the end.
    page.wait_for_selector(f"#job-status [data-status='{final['status']}']", timeout=UI_TIMEOUT_MS)
    assert page.locator("#job-training .value").inner_text().strip() == f"{final['result']['trainingStatus']['percentComplete']}%"
    assert page.locator("#job-phase [data-phase]").get_attribute("data-phase") == "done"
    # The loss / dev-F1 curve has one point per training chunk the service recorded.
    progress = api.get(f"{host.endpoint}/language/studio/api/projects/{project}/train/jobs/{job_id}/progress").json()
    assert progress["history"], progress
    assert page.locator("svg.curve").get_attribute("data-points") == str(len(progress["history"]))
    last = progress["history"][-1]
    assert f"step {last['step']}" in page.locator("#job-last-chunk").inner_text()
    assert any(w["code"] == "EffectiveSplit" for w in final["warnings"])
    shot(page, "07-finished-job")
    # The console tells the story: a line per chunk and per state change, with project and job id.
    log = host.log_path.read_text(errors="replace")
    tag = f"[project={project} job={job_id} phase=training] chunk: step {last['step']}/"
    assert tag in log, log[-3000:]
    assert f"job={job_id} phase=done] status succeeded" in log


@pytest.fixture(scope="module", autouse=True)
def _fresh_artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
