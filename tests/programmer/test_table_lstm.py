import torch

from augrnn.programmer import TableLSTM, TableLSTMConfig
from augrnn.registry import build_model
from augrnn.tasks.table_qa import TableBatch, TableQAConfig, TableQATask


def test_shapes_padding_rows_and_a_built_model_learns_a_little(one_thread):
    task = TableQATask(TableQAConfig(columns=2, text_columns=1, min_rows=3, max_rows=7))
    model = build_model(
        TableLSTMConfig(embedding_size=6, hidden_size=10),
        task.input_size,
        task.output_size,
    )
    assert isinstance(model, TableLSTM)
    batch = task.sample(5, torch.Generator().manual_seed(0))
    outputs, _ = model(batch)
    rows = batch.table.shape[1]
    assert outputs.scalar.shape == (5,) and outputs.lookup.shape == (5, rows, 2)
    assert (outputs.lookup[batch.row_mask == 0] == 0).all()
    # Padding rows do not change the answers: the shortest table alone, cut to its rows.
    i = int(batch.row_mask.sum(-1).argmin())
    rows_i = int(batch.row_mask[i].sum())
    alone = batch._replace(
        **{
            name: getattr(batch, name)[i : i + 1, :rows_i]
            for name in ("table", "text_table", "row_mask", "answer_lookup")
        },
        **{
            name: getattr(batch, name)[i : i + 1]
            for name in ("question_lengths", "question_numbers", "number_positions", "number_mask")
        },
        question=batch.question[:, i : i + 1],
    )
    assert rows_i < rows
    torch.testing.assert_close(model(alone)[0].scalar, outputs.scalar[i : i + 1])
    torch.testing.assert_close(model(alone)[0].lookup, outputs.lookup[i : i + 1, :rows_i])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(30):
        loss, _ = model.loss(task, task.sample(16, generator))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) < sum(losses[:5])
    metrics = task.metrics(model.evaluation_outputs(batch), batch)
    assert 0.0 <= metrics["accuracy"] <= 1.0 and "program_intended" not in metrics


def test_the_baseline_on_each_device_matches_a_float64_cpu_reference(matches_float64_cpu):
    task = TableQATask(TableQAConfig(columns=2, text_columns=1, min_rows=3, max_rows=7))
    batch = task.sample(5, torch.Generator().manual_seed(0))

    def run(model, dtype, device):
        cast = TableBatch(*(t.to(dtype) if t.is_floating_point() else t for t in batch))
        outputs, _ = model(cast.to(device))
        return torch.cat([outputs.scalar[:, None], outputs.lookup.flatten(1)], -1)

    matches_float64_cpu(lambda: TableLSTM(task.input_size, task.output_size, 6, 10), run)
