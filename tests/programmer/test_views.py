import torch

from augrnn.core import Trace
from augrnn.programmer import OPERATIONS, NeuralProgrammer
from augrnn.programmer.model import program_text
from augrnn.programmer.views import programmer_selection
from augrnn.tasks.table_qa import TableQAConfig, TableQATask
from augrnn.viz.views import applicable_views


def test_programmer_selection_draws_both_weights_and_the_printed_program():
    torch.manual_seed(0)
    task = TableQATask(TableQAConfig(columns=2, text_columns=1, min_rows=4, max_rows=9))
    model = NeuralProgrammer(len(task.vocab), task.output_size, embedding_size=6, hidden_size=10)
    batch = task.sample(3, torch.Generator().manual_seed(0))
    trace = Trace()
    model(batch, trace=trace)
    assert "programmer_selection" in [view.name for view in applicable_views(trace, task)]
    fig = programmer_selection(trace, batch, task, None, 1)
    ops_ax, cols_ax = fig.axes[:2]  # then their colour bars
    assert [t.get_text() for t in ops_ax.get_yticklabels()] == list(OPERATIONS)
    assert [t.get_text() for t in cols_ax.get_yticklabels()] == ["price", "qty", "color"]
    image = ops_ax.get_images()[0].get_array()
    assert image.shape == (len(OPERATIONS), 4)
    torch.testing.assert_close(
        torch.as_tensor(image.sum(0)), torch.ones(4, dtype=torch.float64), check_dtype=False
    )
    title = fig.get_suptitle()
    assert task.question_text(batch, 1) in title
    # The argmax of the drawn (soft) selections, one step per line when it is wider than the
    # figure. (The hard program can differ from it where a step is nearly tied: in hard mode the
    # history RNN is fed the one-hot choices.)
    argmax = program_text(
        trace.stack("operation_weights")[:, 1].argmax(-1).tolist(),
        trace.stack("column_weights")[:, 1].argmax(-1).tolist(),
        trace.stack("pivots")[0, 1].tolist(),
        task.column_names,
    )
    assert argmax in title.replace(" ->\n", " -> ")
