"""``augrnn viz``: tiny runs of each model kind get their figures, and the figures are not blank."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from augrnn.cli import main  # noqa: E402
from augrnn.core import Trace  # noqa: E402
from augrnn.tasks.copy import CopyTask  # noqa: E402
from augrnn.train.config import load_preset  # noqa: E402
from augrnn.train.loop import Trainer  # noqa: E402
from augrnn.viz import VIEWS, register_view, visualise_run  # noqa: E402
from augrnn.viz.views import applicable_views, new_figure, strengths_by_push_step  # noqa: E402

TINY_TRAIN = {
    "train.steps": "2",
    "train.eval_every": "1",
    "train.batch_size": "2",
    "train.eval_sequences": "4",
    "train.eval_batch_size": "4",
    "train.tensorboard": "false",
}


def tiny_run(tmp_path: Path, preset: str, **overrides: str) -> Path:
    config = load_preset(preset, {**TINY_TRAIN, **overrides})
    run = tmp_path / preset
    Trainer(config, run).train(progress=False)
    return run


def assert_figures(paths, names):
    by_name = {path.stem: path for path in paths}
    assert set(names) <= set(by_name), sorted(by_name)
    for name in names:
        path = by_name[name]
        assert path.parent.name == "viz" and path.stat().st_size > 5_000
        pixels = mpimg.imread(path)
        assert pixels.ndim == 3 and pixels[..., :3].var() > 1e-3, f"{name} looks blank"


NTM = {
    "task.bits": "3",
    "task.max_length": "3",
    "model.controller_size": "8",
    "model.memory_slots": "8",
    "model.memory_width": "4",
}


def test_ntm_on_copy_draws_bits_weights_memory_and_curves(tmp_path):
    run = tiny_run(tmp_path, "copy", **NTM)
    result = visualise_run(run)
    assert_figures(
        result.paths,
        ["inputs_targets_outputs", "ntm_weights", "ntm_memory", "learning_curves"],
    )
    assert result.messages == []


def test_act_around_an_ntm_draws_pondering_and_the_inner_weights(tmp_path):
    ntm = {key.replace("model.", "model.core."): value for key, value in NTM.items()}
    run = tiny_run(tmp_path, "copy_act", **ntm, **{"model.max_steps": "4"})
    result = visualise_run(run, example=1, length=2)
    assert_figures(result.paths, ["act_pondering", "ntm_weights", "ntm_memory"])


@pytest.mark.parametrize("preset", ["parity", "logic"])
def test_act_around_a_recurrent_net_draws_pondering(tmp_path, preset):
    sizes = {"task.size": "8"} if preset == "parity" else {}
    run = tiny_run(
        tmp_path, preset, **sizes, **{"model.core.hidden_size": "8", "model.max_steps": "5"}
    )
    result = visualise_run(run)
    assert_figures(result.paths, ["inputs_targets_outputs", "act_pondering", "learning_curves"])


def test_seq2seq_on_reversal_draws_the_attention_matrix(tmp_path):
    run = tiny_run(tmp_path, "reversal", **{"model.embedding_size": "8", "model.hidden_size": "8"})
    result = visualise_run(run)
    assert_figures(result.paths, ["attention", "learning_curves"])
    assert "inputs_targets_outputs" not in {path.stem for path in result.paths}


def test_show_attend_tell_on_digit_row_draws_attention_over_the_image(tmp_path):
    pytest.importorskip("sklearn")
    sizes = {"model.channels": "8", "model.embedding_size": "8", "model.hidden_size": "8"}
    run = tiny_run(tmp_path, "digit_row", **sizes, **{"model.position_features": "4"})
    result = visualise_run(run)
    assert_figures(result.paths, ["image_attention", "learning_curves"])


def test_a_model_with_no_trace_view_gets_curves_and_a_message(tmp_path):
    run = tiny_run(tmp_path, "copy_lstm", **{"task.bits": "3", "task.max_length": "3"})
    result = visualise_run(run)
    stems = {path.stem for path in result.paths}
    assert "learning_curves" in stems and "ntm_weights" not in stems
    assert any("no view draws what it attends to" in m for m in result.messages)


def test_a_registered_view_is_drawn_when_its_names_are_traced(tmp_path):
    @register_view("test_reads", needs=("reads",))
    def reads_view(trace, batch, task, logits, index):
        fig = new_figure(4, 3)
        ax = fig.subplots()
        ax.imshow(trace.stack("reads")[:, index, 0].numpy().T, aspect="auto")
        ax.set_title("reads")
        return fig

    try:
        trace = Trace()
        assert reads_view not in [v.fn for v in applicable_views(trace, CopyTask())]
        run = tiny_run(tmp_path, "copy", **NTM)
        assert_figures(visualise_run(run).paths, ["test_reads"])
    finally:
        del VIEWS["test_reads"]


def test_long_traces_are_downsampled_and_say_so(tmp_path):
    import numpy as np

    from augrnn.viz.views import downsample, stride_note

    shown, stride = downsample(np.zeros((1000, 3)))
    assert stride == 3 and shown.shape == (334, 3)
    assert "1 step in 3 of 1000 shown" in stride_note(stride, 1000)


def test_cli_viz_prints_the_paths(tmp_path):
    run = tiny_run(tmp_path, "copy", **NTM)
    result = CliRunner().invoke(main, ["viz", str(run), "--example", "2"])
    assert result.exit_code == 0, result.output
    assert str(run / "viz" / "ntm_weights.png") in result.output


def test_cli_viz_without_a_checkpoint_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["viz", str(tmp_path / "nothing")])
    assert result.exit_code != 0
    assert "no run folder" in result.output and "Traceback" not in result.output


def test_a_programmer_run_draws_its_selection_and_prints_question_program_and_answer(tmp_path):
    run = tiny_run(tmp_path, "table_qa_columns3", **{"model.hidden_size": "8"})
    result = CliRunner().invoke(main, ["viz", str(run), "--example", "5"])
    assert result.exit_code == 0, result.output
    assert str(run / "viz" / "programmer_selection.png") in result.output
    lines = result.output.splitlines()
    question = next(line for line in lines if line.startswith("question: "))
    program = next(line for line in lines if line.startswith("program: "))
    answer = next(line for line in lines if line.startswith("answer: "))
    assert len(question) > 15 and len(program.split(" -> ")) == 4
    assert answer.endswith(("(right)", "(wrong)"))
    assert_figures(visualise_run(run, example=5).paths, ["programmer_selection"])


def test_a_table_run_without_operations_gets_curves_and_a_message_at_any_number_of_rows(
    tmp_path,
):
    run = tiny_run(tmp_path, "table_qa_lstm", **{"model.hidden_size": "8"})
    result = visualise_run(run)
    assert [path.stem for path in result.paths] == ["learning_curves"]
    assert any("table_lstm on table_qa traced nothing" in m for m in result.messages)
    assert result.messages[0].startswith("question: ")
    result = CliRunner().invoke(main, ["viz", str(run), "--length", "5"])
    assert result.exit_code == 0 and "Traceback" not in result.output


def test_rows_are_reindexed_by_the_step_that_pushed_them():
    # Three steps, two rows, the newest last: at t = 2 the value of step 0 was shifted out.
    strengths = np.array([[0.0, 0.1], [0.1, 0.2], [0.2, 0.3]])
    grid = strengths_by_push_step(strengths)
    expected = [[0.1, 0.1, np.nan], [np.nan, 0.2, 0.2], [np.nan, np.nan, 0.3]]
    np.testing.assert_array_equal(grid, expected)
    bottom = strengths_by_push_step(strengths[:, ::-1], newest_last=False)
    np.testing.assert_array_equal(bottom, expected)
