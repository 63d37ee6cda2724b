"""``RUN/viz/report.html``: one self-contained file, only the model's views, and it works in a
browser (slider, ponder bars and attention hover change the drawing; no console errors)."""

import io
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from augrnn.cli import main  # noqa: E402
from augrnn.train.config import load_preset  # noqa: E402
from augrnn.train.loop import Trainer  # noqa: E402
from augrnn.viz import visualise_run  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
TINY_TRAIN = {
    "train.steps": "2",
    "train.eval_every": "1",
    "train.batch_size": "2",
    "train.eval_sequences": "4",
    "train.eval_batch_size": "4",
    "train.tensorboard": "false",
}
NTM = {
    "task.bits": "3",
    "task.max_length": "3",
    "model.controller_size": "8",
    "model.memory_slots": "8",
    "model.memory_width": "4",
}
RUNS = {
    "copy": NTM,
    "parity": {"task.size": "8", "model.core.hidden_size": "8", "model.max_steps": "5"},
    "reversal": {"model.embedding_size": "8", "model.hidden_size": "8"},
    "digit_row": {
        "model.channels": "8",
        "model.embedding_size": "8",
        "model.hidden_size": "8",
        "model.position_features": "4",
    },
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """A report for a tiny NTM copy run, ACT parity run and seq2seq reversal run."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for preset, overrides in RUNS.items():
        run = root / preset
        Trainer(load_preset(preset, {**TINY_TRAIN, **overrides}), run).train(progress=False)
        paths = {path.name: path for path in visualise_run(run).paths}
        out[preset] = paths["report.html"]
    return out


def embedded(path: Path) -> dict:
    html = path.read_text(encoding="utf-8")
    match = re.search(
        r"<script type='application/json' id='report-data'>(.*?)</script>", html, re.S
    )
    assert match, "no embedded data"
    return json.loads(match.group(1))


# --- without a browser -------------------------------------------------------------------------


def test_the_report_is_one_file_with_nothing_fetched(reports):
    for path in reports.values():
        html = path.read_text(encoding="utf-8")
        assert path.name == "report.html" and path.parent.name == "viz"
        assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:)?//", html, re.I)
        assert "<link" not in html and not re.search(r"<script[^>]*\ssrc=", html)
        assert "<style>" in html and "report-data" in html


def test_the_embedded_data_parses_and_holds_only_the_models_views(reports):
    copy, parity, reversal = (embedded(reports[name]) for name in ("copy", "parity", "reversal"))
    assert set(copy["views"]) == {"ntm"}
    assert set(parity["views"]) == {"act"}
    assert set(reversal["views"]) == {"attention"}
    ntm = copy["views"]["ntm"]
    stages = {h["label"]: set(h["stages"]) for h in ntm["heads"]}
    assert stages == {k: {"content", "gated", "shifted", "final"} for k in ("write", "read")}
    assert set(ntm["heads"][0]["scalars"]) == {"β", "g", "γ"}
    assert len(ntm["heads"][0]["key"][0]) == 4  # M = 4 values per key
    assert len(ntm["memory"]["values"][0]) == 8 and ntm["memory"]["at"][0] == 0
    assert len(ntm["heads"][0]["stages"]["final"][0]) == 8
    assert copy["io"]["kind"] == "grids" and reversal["io"]["kind"] == "tokens"
    attention = reversal["views"]["attention"]
    assert len(attention["weights"]) == len(attention["outputs"])
    assert len(attention["weights"][0]) == len(attention["source"])
    assert all(data["curves"] for data in (copy, parity, reversal))
    assert copy["meta"]["task"] == "copy" and copy["meta"]["model"] == "ntm"
    digits = embedded(reports["digit_row"])
    assert set(digits["views"]) == {"image_attention"}
    image = digits["views"]["image_attention"]
    assert len(image["weights"]) == len(image["outputs"]) and len(image["image"]) >= 8


def test_long_traces_are_downsampled_to_about_400_steps(tmp_path):
    config = load_preset("copy", {**TINY_TRAIN, **NTM})
    Trainer(config, tmp_path / "run").train(progress=False)
    visualise_run(tmp_path / "run", length=300)  # 2 * 300 + 1 steps
    ntm = embedded(tmp_path / "run" / "viz" / "report.html")["views"]["ntm"]
    assert ntm["total"] == 601 and ntm["stride"] == 2 and len(ntm["steps"]) <= 400
    assert len(ntm["heads"][0]["stages"]["final"]) == len(ntm["steps"])


def test_cli_viz_prints_the_report_path(tmp_path):
    config = load_preset("copy", {**TINY_TRAIN, **NTM})
    Trainer(config, tmp_path / "run").train(progress=False)
    result = CliRunner().invoke(main, ["viz", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "run" / "viz" / "report.html") in result.output


# --- in a browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


def open_report(browser, path: Path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.resolve().as_uri())
    return page, errors


def assert_not_blank(page):
    from PIL import Image

    image = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 8, "the report looks blank"


def test_the_ntm_slider_redraws_the_heads(browser, reports):
    page, errors = open_report(browser, reports["copy"])
    assert page.locator("#ntm").count() == 1
    assert page.locator("#act").count() == 0 and page.locator("#attention").count() == 0
    label = page.text_content("#step-label")
    bars = page.inner_html("#ntm-positions")
    memory = page.inner_html("#ntm-memory")
    assert "memory after step 0" in memory and "key k (4 values)" in page.text_content("#ntm")
    maximum = page.get_attribute("#time-slider", "max")
    assert int(maximum) >= 2
    page.fill("#time-slider", maximum)
    assert page.text_content("#step-label") != label
    assert page.inner_html("#ntm-positions") != bars
    assert page.inner_html("#ntm-memory") != memory
    assert "β = " in page.text_content("#ntm-pipeline")
    assert_not_blank(page)
    assert errors == []
    page.close()


def test_clicking_a_ponder_bar_shows_its_halting_probabilities(browser, reports):
    page, errors = open_report(browser, reports["parity"])
    assert page.locator("#ntm").count() == 0 and page.locator("#act").count() == 1
    assert page.locator(".halting-bar").count() == 0
    page.locator(".ponder-bar").first.click()
    assert page.locator(".halting-bar").count() >= 1
    assert "halting probabilities" in page.text_content("#halting-details")
    assert_not_blank(page)
    assert errors == []
    page.close()


def test_hovering_an_output_token_shades_the_source(browser, reports):
    page, errors = open_report(browser, reports["reversal"])
    assert page.locator("#attention").count() == 1 and page.locator("#ntm").count() == 0
    before = page.eval_on_selector_all(".src-token", "els => els.map(e => e.style.cssText)")
    page.locator("#output-tokens .out-token").first.hover()
    after = page.eval_on_selector_all(".src-token", "els => els.map(e => e.style.cssText)")
    assert before != after and any("background-color" in style for style in after)
    assert_not_blank(page)
    assert errors == []
    page.close()


def test_hovering_an_output_digit_moves_the_attention_over_the_image(browser, reports):
    page, errors = open_report(browser, reports["digit_row"])
    assert page.locator("#image-attention").count() == 1 and page.locator("#attention").count() == 0
    assert page.locator("#image-attention-map rect").count() > 100  # the image's pixels
    first = page.inner_html("#image-attention-overlay")
    assert first  # the first output's attention is drawn from the start
    page.locator("#image-output-tokens .out-token").nth(1).hover()
    assert page.inner_html("#image-attention-overlay") != first
    assert "largest weight" in page.text_content("#image-attention-readout")
    assert_not_blank(page)
    assert errors == []
    page.close()


def test_a_dnc_report_has_its_memory_management_section(tmp_path):
    run = tmp_path / "dnc"
    overrides = {**TINY_TRAIN, **NTM, "model.kind": "dnc", "model.read_heads": "2"}
    Trainer(load_preset("copy", overrides), run).train(progress=False)
    data = embedded({p.name: p for p in visualise_run(run).paths}["report.html"])
    dnc = data["views"]["dnc"]
    assert set(data["views"]) == {"ntm", "dnc"}  # where the heads go, and how memory is managed
    shown = len(dnc["steps"])
    assert len(dnc["usage"]) == shown and len(dnc["usage"][0]) == dnc["slots"] == 8
    assert len(dnc["read_modes"][0]) == 2 and abs(sum(dnc["read_modes"][0][1]) - 1) < 1e-2
    link = dnc["link"]["values"][-1]
    assert len(link) == len(link[0]) == 8 and all(link[i][i] == 0 for i in range(8))


def test_the_dnc_slider_redraws_the_modes_and_links(browser, tmp_path):
    run = tmp_path / "dnc"
    overrides = {**TINY_TRAIN, **NTM, "model.kind": "dnc", "model.read_heads": "2"}
    Trainer(load_preset("copy", overrides), run).train(progress=False)
    path = {p.name: p for p in visualise_run(run).paths}["report.html"]
    page, errors = open_report(browser, path)
    assert page.locator("#dnc").count() == 1 and page.locator("#dnc-usage rect").count() > 8
    label, links = page.text_content("#dnc-step-label"), page.inner_html("#dnc-links")
    assert "read head 1: backward" in page.text_content("#dnc-detail")
    page.fill("#dnc-slider", page.get_attribute("#dnc-slider", "max"))
    assert page.text_content("#dnc-step-label") != label
    assert page.inner_html("#dnc-links") != links
    assert_not_blank(page)
    assert errors == []
    page.close()


STRUCTURE = {
    "task.symbols": "4",
    "task.min_length": "2",
    "task.max_length": "3",
    "model.kind": "neural_deque",
    "model.controller_size": "8",
    "model.memory_width": "3",
    "model.capacity": "12",
}


def structure_report(tmp_path, preset, overrides) -> Path:
    run = tmp_path / preset
    Trainer(load_preset(preset, {**TINY_TRAIN, **overrides}), run).train(progress=False)
    return {p.name: p for p in visualise_run(run).paths}["report.html"]


def test_a_deque_report_shows_what_each_end_holds(tmp_path):
    data = embedded(structure_report(tmp_path, "transduction_reversal", STRUCTURE))
    assert set(data["views"]) == {"structure"}
    view = data["views"]["structure"]
    assert [end["name"] for end in view["ends"]] == ["top", "bottom"]
    shown = len(view["steps"])
    top = view["ends"][0]
    assert len(top["held"]) == len(top["push"]) == shown
    # At step t the value pushed at t holds that step's push strength; later pushes are absent.
    assert top["held"][2][2] == pytest.approx(top["push"][2], abs=1e-3)
    assert top["held"][2][3] is None


def test_a_stack_rnn_report_shows_its_cells_and_actions(tmp_path):
    overrides = {
        "task.min_n": "1",
        "task.max_n": "3",
        "model.hidden_size": "6",
        "model.stacks": "2",
    }
    data = embedded(structure_report(tmp_path, "anbn", overrides))
    view = data["views"]["stack_rnn"]
    assert view["stacks"] == 2 and len(view["cells"]) == 2
    assert len(view["cells"][0]) == len(view["steps"]) == len(view["actions"])
    assert abs(sum(view["actions"][0][0]) - 1) < 1e-2  # push and pop (no no-op in anbn)


def test_the_structure_sliders_redraw_their_steps(browser, tmp_path):
    for preset, overrides, name in (
        ("transduction_reversal", STRUCTURE, "structure"),
        ("anbn", {"task.min_n": "2", "task.max_n": "3", "model.stacks": "2"}, "stack-rnn"),
    ):
        page, errors = open_report(browser, structure_report(tmp_path, preset, overrides))
        assert page.locator(f"#{name}").count() == 1 and page.locator(f"#{name} svg rect").count()
        label, detail = page.text_content(f"#{name}-step-label"), page.inner_html(f"#{name}-detail")
        page.fill(f"#{name}-slider", page.get_attribute(f"#{name}-slider", "max"))
        assert page.text_content(f"#{name}-step-label") != label
        assert page.inner_html(f"#{name}-detail") != detail
        assert_not_blank(page)
        assert errors == []
        page.close()


def memn2n_report(tmp_path) -> Path:
    overrides = {
        "task.id": "1",
        "task.train_size": "8",
        "model.embedding_size": "6",
        "model.linear_start_steps": "0",
    }
    run = tmp_path / "memn2n"
    Trainer(load_preset("babi_memn2n", {**TINY_TRAIN, **overrides}), run).train(progress=False)
    return {p.name: p for p in visualise_run(run).paths}["report.html"]


def test_a_memory_network_report_shows_each_hops_attention_over_the_statements(tmp_path):
    data = embedded(memn2n_report(tmp_path))
    assert set(data["views"]) == {"memory_hops"}
    view = data["views"]["memory_hops"]
    count = len(view["statements"])
    assert len(view["attention"]) == 3 and all(len(hop) == count for hop in view["attention"])
    assert all(abs(sum(hop) - 1) < 1e-2 for hop in view["attention"])
    assert len(view["supports"]) == count and any(view["supports"])
    assert view["question"].startswith("where is ") and view["answer"]


def test_the_memory_hops_table_draws_in_a_browser(browser, tmp_path):
    report = memn2n_report(tmp_path)
    page, errors = open_report(browser, report)
    rows = page.locator("#memory-hops-table tr")
    view = embedded(report)["views"]["memory_hops"]
    assert rows.count() == 1 + len(view["statements"])
    assert page.locator("#memory-hops-table td.p").count() == 3 * len(view["statements"])
    assert "★" in page.inner_text("#memory-hops-table")
    assert_not_blank(page)
    assert errors == []
    page.close()


def neural_gpu_report(tmp_path) -> Path:
    overrides = {"task.max_n": "4", "model.maps": "4", "model.parameter_sets": "2"}
    run = tmp_path / "neural_gpu"
    preset = load_preset("long_binary_addition", {**TINY_TRAIN, **overrides})
    Trainer(preset, run).train(progress=False)
    return {p.name: p for p in visualise_run(run).paths}["report.html"]


def test_a_neural_gpu_report_shows_the_result_forming_over_the_steps(tmp_path):
    data = embedded(neural_gpu_report(tmp_path))
    assert set(data["views"]) == {"neural_gpu"}
    view = data["views"]["neural_gpu"]
    digits = len(view["targets"])
    assert len(view["target_probability"]) == digits
    assert all(len(column) == view["total"] for column in view["target_probability"])
    assert all(0 <= p <= 1 for column in view["target_probability"] for p in column)
    assert len(view["written"]) == view["total"] and len(view["written"][0]) == digits


def test_the_neural_gpu_slider_redraws_the_digits_written(browser, tmp_path):
    report = neural_gpu_report(tmp_path)
    page, errors = open_report(browser, report)
    assert page.locator("#neural-gpu-probability rect").count() > 0
    detail = page.inner_text("#neural-gpu-detail")
    assert "target:" in detail and "digits right" in detail
    slider = page.locator("#neural-gpu-slider")
    slider.fill(str(int(slider.get_attribute("max"))))
    slider.dispatch_event("input")
    assert page.text_content("#neural-gpu-step-label").startswith("step ")
    assert_not_blank(page)
    assert errors == []
    page.close()


NRAM = {"task.min_size": "2", "task.max_size": "4", "model.hidden_size": "8"}
RL_NTM = {
    "task.max_length": "4",
    "task.symbols": "5",
    "model.hidden_size": "8",
    "model.memory_width": "4",
}


@pytest.fixture(scope="module")
def pointer_and_tape_reports(tmp_path_factory) -> dict[str, Path]:
    """Reports of a tiny NRAM on listk and a tiny RL-NTM with a memory tape on repeat copy."""
    root, out = tmp_path_factory.mktemp("pointer_runs"), {}
    for preset, overrides in (("nram_listk", NRAM), ("rl_ntm_repeat_copy", RL_NTM)):
        run = root / preset
        Trainer(load_preset(preset, {**TINY_TRAIN, **overrides}), run).train(progress=False)
        out[preset] = {p.name: p for p in visualise_run(run).paths}["report.html"]
    return out


def test_memory_and_tape_episodes_get_a_report_with_their_model_s_section(
    pointer_and_tape_reports,
):
    reports = pointer_and_tape_reports
    nram, rl = embedded(reports["nram_listk"]), embedded(reports["rl_ntm_repeat_copy"])
    assert set(nram["views"]) == {"nram"} and set(rl["views"]) == {"rl_ntm"}
    io = nram["io"]
    cells = len(io["source"])
    assert io["kind"] == "memory" and len(io["target"]) == len(io["output"]) == cells
    assert io["scored"] == [i == 2 for i in range(cells)]  # listk writes cell 2 only
    view = nram["views"]["nram"]
    steps = len(view["steps"])
    assert len(view["values"]) == len(view["stop"]) == len(view["circuits"]) == steps
    assert len(view["values"][0]) == cells and view["scored"] == [2]
    assert view["circuits"][0].startswith("t=1: ") and abs(sum(view["stop"]) - 1) < 1e-2
    assert all(0 <= p <= 1 for row in view["sureness"] for p in row)
    tape = rl["views"]["rl_ntm"]
    assert rl["io"]["kind"] == "tape" and rl["io"]["source"][-1] == "∅"
    assert tape["tape"] == rl["io"]["source"] and tape["memory_head"] is not None
    assert all(0 <= cell < len(tape["tape"]) for cell in tape["input_head"])
    assert len(tape["input_move"][0]) == 3 and abs(sum(tape["input_move"][0]) - 1) < 1e-2


def test_the_nram_and_rl_ntm_sliders_redraw_their_steps(browser, pointer_and_tape_reports):
    reports = pointer_and_tape_reports
    page, errors = open_report(browser, reports["nram_listk"])
    assert page.locator("#nram-targets rect").count() >= 1
    assert "t=1: " in page.text_content("#nram-detail")
    cells = page.inner_html("#nram-cells")
    page.fill("#nram-slider", page.get_attribute("#nram-slider", "max"))
    assert "t=1: " not in page.text_content("#nram-detail")
    assert page.locator("#nram-cells .tok.scored").count() == 1
    assert page.inner_html("#nram-cells") != cells or "p_t" in page.text_content("#nram-detail")
    assert_not_blank(page)
    assert errors == []
    page.close()
    page, errors = open_report(browser, reports["rl_ntm_repeat_copy"])
    assert page.locator("#rl-ntm-input-head rect").count() >= 1
    assert page.locator("#rl-ntm-memory-head rect").count() >= 1
    label = page.text_content("#rl-ntm-step-label")
    assert "input move: back" in page.text_content("#rl-ntm-detail")
    page.fill("#rl-ntm-slider", page.get_attribute("#rl-ntm-slider", "max"))
    assert page.text_content("#rl-ntm-step-label") != label
    assert_not_blank(page)
    assert errors == []
    page.close()
