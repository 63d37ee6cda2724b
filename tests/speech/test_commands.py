"""The speech runs from the command line: train, predict --audio (with the bad WAV files a user
may give), viz (figures and the report, in a browser) and speech-eval."""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from augrnn.cli import main  # noqa: E402
from augrnn.tasks.speech.audio import write_wav  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
TINY_MODEL = [
    "--model.listener_size=8",
    "--model.pyramid_layers=1",
    "--model.speller_size=16",
    "--model.speller_layers=1",
    "--model.embedding_size=8",
    "--model.attention_size=8",
    "--model.location_kernel=3",
]
TINY_TRAIN = [
    "--train.steps=3",
    "--train.eval_every=3",
    "--train.batch_size=4",
    "--train.eval_sequences=6",
    "--train.eval_batch_size=6",
    "--train.tensorboard=false",
    "--train.seed=0",
]


@pytest.fixture(scope="session")
def tiny_task(tiny_speech) -> list[str]:
    return [f"--task.{name}={value}" for name, value in tiny_speech.items()]


@pytest.fixture(scope="module")
def las_run(speech_cache, tiny_task, tmp_path_factory):
    run = tmp_path_factory.mktemp("las") / "run"
    trained = CliRunner().invoke(
        main,
        ["train", "las_digits_location", "--run-dir", str(run), *tiny_task, *TINY_MODEL,
         *TINY_TRAIN],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    return run


def test_predict_transcribes_wav_files_and_draws_the_alignment(las_run, tmp_path):
    rng = np.random.default_rng(0)
    speech = 0.2 * rng.standard_normal(8000)
    good = write_wav(tmp_path / "mono.wav", speech)
    stereo = write_wav(tmp_path / "stereo.wav", np.stack([speech, speech], 1), rate=22_050)
    eight_bit = write_wav(tmp_path / "eight.wav", speech, sample_width=1)
    deep = write_wav(tmp_path / "deep.wav", speech, sample_width=3)
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0))
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio but it is long enough to have a header")
    saved = tmp_path / "heard.json"
    result = CliRunner().invoke(
        main,
        ["predict", str(las_run), "--attention", "--save", str(saved),
         *(f"--audio={p}" for p in (good, stereo, eight_bit, deep, empty, text))],
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # two files refused, the rest transcribed
    assert "2 of 6 files could not be read" in result.output
    assert "empty.wav: not read:" in result.output and "holds no samples" in result.output
    assert "notes.wav: not read:" in result.output and "not a PCM WAV" in result.output
    assert "2 channels averaged to mono" in result.output
    assert "resampled from 22050 Hz" in result.output
    assert "8-bit samples" in result.output and "24-bit samples" in result.output
    heard = json.loads(saved.read_text())
    assert [h["audio"] for h in heard] == [str(p) for p in (good, stereo, eight_bit, deep)]
    for record in heard:
        assert len(record["attention"]) == len(record["tokens"])
        assert all(abs(sum(row) - 1) < 1e-4 for row in record["attention"])
        assert (
            las_run / "predict" / f"{record['audio'].split('/')[-1][:-4]}.attention.png"
        ).stat().st_size > 1000


def test_predict_needs_audio_for_a_speech_run(las_run):
    result = CliRunner().invoke(main, ["predict", str(las_run), "three one four"])
    assert result.exit_code != 0 and "reads audio, not texts; give --audio" in result.output
    nothing = CliRunner().invoke(main, ["predict", str(las_run)])
    assert nothing.exit_code != 0 and "--audio FILE.wav" in nothing.output


def test_viz_draws_the_attention_over_the_spectrogram(las_run):
    result = CliRunner().invoke(main, ["viz", str(las_run)])
    assert result.exit_code == 0, result.output
    assert (las_run / "viz" / "speech_attention.png").stat().st_size > 1000
    html = (las_run / "viz" / "report.html").read_text()
    data = json.loads(
        re.search(r"<script type='application/json' id='report-data'>(.*?)</script>", html, re.S)
        .group(1)
        .replace("\\u003c", "<")
        .replace("\\u003e", ">")
    )
    view = data["views"]["speech_attention"]
    assert len(view["spectrogram"]) == 40 and view["frames"] > 0
    assert len(view["outputs"]) == len(view["weights"]) >= 1
    assert all(abs(sum(row) - 1) < 0.01 for row in view["weights"])


def test_speech_eval_scores_every_snr_and_size(las_run, tmp_path):
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(main, ["speech-eval", str(las_run), "--json", str(out)])
    assert result.exit_code == 0, result.output
    scores = json.loads(out.read_text())
    assert sorted(scores["snr"]) == ["10", "20", "5", "clean"]
    assert sorted(scores["size"]) == ["1", "2", "3"]
    assert 0 <= scores["alignment"]["monotonic"] <= 1
    assert 0 < scores["alignment"]["sharpness"] <= 1


def test_hovering_a_character_moves_where_it_listened(las_run):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    report = las_run / "viz" / "report.html"
    if not report.exists():
        assert CliRunner().invoke(main, ["viz", str(las_run)]).exit_code == 0
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(report.resolve().as_uri())
        assert page.locator("#speech-attention").count() == 1
        assert page.locator("#speech-spectrogram rect").count() > 40 * 10  # the spectrogram
        tokens = page.locator("#speech-output-tokens .speech-token")
        assert tokens.count() >= 2
        first = page.inner_html("#speech-attention-overlay")
        assert first.count("listen-step") >= 1  # the first character's attention, from the start
        tokens.nth(tokens.count() - 1).hover()
        assert page.inner_html("#speech-attention-overlay") != first
        assert "listens most to" in page.text_content("#speech-attention-readout")
        assert errors == []
        browser.close()


def test_speech_corpus_generates_and_reports_the_presets_corpus(speech_cache, tiny_task):
    result = CliRunner().invoke(main, ["speech-corpus", "las_digits", *tiny_task])
    assert result.exit_code == 0, result.output
    assert "train: 24 utterances" in result.output and "test@5: 9 utterances" in result.output
    refused = CliRunner().invoke(main, ["speech-corpus", "dates"])
    assert refused.exit_code != 0 and "a preset of dates, not of speech" in refused.output


def test_a_ctc_run_draws_its_label_probabilities(speech_cache, tiny_task, tmp_path):
    run = tmp_path / "ctc"
    trained = CliRunner().invoke(
        main,
        ["train", "ctc_digits", "--run-dir", str(run), *tiny_task, "--model.listener_size=8",
         *TINY_TRAIN],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evaluated = [m for m in metrics if m["split"] == "eval"]
    assert evaluated and "word_error_rate" in evaluated[-1]
    shown = CliRunner().invoke(main, ["viz", str(run)])
    assert shown.exit_code == 0, shown.output
    assert (run / "viz" / "ctc_probabilities.png").stat().st_size > 1000
    wav = write_wav(tmp_path / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(6000))
    heard = CliRunner().invoke(main, ["predict", str(run), f"--audio={wav}"])
    assert heard.exit_code == 0 and heard.output.startswith(f"{wav} -> ")
