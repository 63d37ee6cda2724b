"""The documentation site: it builds strictly, its API reference documents every public class and
function of augrnn, its generated pages list every command, task and preset, the scripts its
pages include run, and it opens in a browser without errors."""

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import augrnn
from augrnn import registry
from augrnn.cli import main
from augrnn.train.config import preset_names

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
CHROMIUM = Path("/usr/bin/chromium")
#: The scripts the pages include (tutorials and examples), each run as a program of its own.
SCRIPTS = sorted(path for path in DOCS.rglob("*.py") if "_tools" not in path.parts)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: str(path.relative_to(DOCS)))
def test_a_script_the_pages_include_runs(script, tmp_path):
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_script_is_included_by_a_page():
    pages = "".join(path.read_text() for path in DOCS.rglob("*.md"))
    assert SCRIPTS
    for script in SCRIPTS:
        assert f'--8<-- "docs/{script.relative_to(DOCS)}"' in pages, script


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("mkdocs", reason="the site needs pip install 'augrnn[docs]'")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def public_classes_and_functions() -> list[str]:
    """Every class and function that an augrnn module defines under a public name."""
    names = []
    for info in pkgutil.walk_packages(augrnn.__path__, "augrnn."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            defined_here = getattr(obj, "__module__", None) == info.name
            if (
                not name.startswith("_")
                and defined_here
                and inspect.isclass(obj) | inspect.isfunction(obj)
            ):
                names.append(f"{info.name}.{name}")
    return names


def test_the_api_reference_documents_every_public_class_and_function(site):
    reference = "".join(path.read_text() for path in (site / "api").rglob("*.html"))
    names = public_classes_and_functions()
    assert "augrnn.interface.Model" in names and "augrnn.core.unroll" in names
    missing = [name for name in names if f'id="{name}"' not in reference]
    assert not missing, f"not in the API reference: {missing}"


def test_the_generated_pages_list_every_command_task_and_preset(site):
    commands = (site / "cli" / "index.html").read_text()
    for name in main.commands:
        assert f'<h2 id="augrnn-{name}"' in commands, name
    tasks = (site / "tasks" / "index.html").read_text()
    for name in registry.tasks.names():
        assert f'<h2 id="{name}"' in tasks, name
    configuration = (site / "guide" / "configuration" / "index.html").read_text()
    for name in preset_names():
        assert f"<code>{name}</code>" in configuration, name
    results = (site / "results" / "index.html").read_text()
    assert 'id="summary"' in results and 'src="../parity8_tau_sweep.png"' in results


def test_every_built_in_model_kind_has_a_model_page_that_names_it():
    pages = "".join(path.read_text() for path in (DOCS / "models").glob("*.md"))
    for name, _ in registry.models.items():
        assert f"`{name}`" in pages, f"no page in docs/models names the model kind {name!r}"


def test_the_site_opens_in_a_browser_without_errors(site):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        for address in ("index.html", "models/ntm/index.html"):
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error, e=errors: e.append(str(error)))
            page.goto((site / address).as_uri())
            assert "augrnn" in page.title()
            if address.startswith("models"):
                # the embedded report of a trained NTM draws its heads
                page.locator("iframe").first.scroll_into_view_if_needed()
                report = page.frame_locator("iframe").first
                assert report.locator("#ntm").count() == 1
                assert "β = " in report.locator("#ntm-pipeline").text_content()
            assert errors == [], address
            page.close()
        browser.close()
