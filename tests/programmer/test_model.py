import pytest
import torch

from augrnn.core import Trace
from augrnn.programmer import OPERATIONS, NeuralProgrammer, NeuralProgrammerConfig
from augrnn.programmer.regularisers import mean_selection_entropy, mean_selection_uniform_kl
from augrnn.programmer.search import answer_log_likelihood, lookup_log_likelihood
from augrnn.registry import build_model
from augrnn.tasks.table_qa import TableBatch, TableQAConfig, TableQATask


def _setup(columns=3, **kw):
    task = TableQATask(TableQAConfig(columns=columns, min_rows=4, max_rows=9, **kw))
    model = NeuralProgrammer(len(task.vocab), columns, embedding_size=6, hidden_size=10, steps=4)
    return task, model, task.sample(5, torch.Generator().manual_seed(0))


def test_shapes_and_trace():
    task, model, batch = _setup()
    outputs, info = model(batch)
    rows = batch.table.shape[1]
    assert outputs.scalar.shape == (5,) and outputs.lookup.shape == (5, rows, 3)
    assert info["alpha_op"].shape == (4, 5, len(OPERATIONS))
    assert info["alpha_col"].shape == (4, 5, 3) and info["pivots"].shape == (5, 2)
    assert torch.allclose(info["alpha_op"].sum(-1), torch.ones(4, 5))
    trace = Trace()
    model(batch, trace=trace)
    assert len(trace) == 4
    assert trace.stack("operation_weights").shape == (4, 5, len(OPERATIONS))
    assert trace.stack("column_weights").shape == (4, 5, 3)


def test_hard_selection_is_one_hot_and_scored_by_the_task():
    task, model, batch = _setup()
    _, info = model(batch, hard=True)
    assert set(info["alpha_op"].unique().tolist()) <= {0.0, 1.0}
    assert (info["alpha_col"].sum(-1) == 1).all()
    metrics = task.metrics(model.evaluation_outputs(batch), batch)
    assert 0.0 <= metrics["error_rate"] <= 1.0


def test_loss_is_finite_and_gradients_reach_every_parameter():
    task, model, _ = _setup()
    batch = task.sample(64, torch.Generator().manual_seed(1))
    total, task_loss = model.loss(task, batch)
    assert torch.isfinite(total) and total is task_loss
    total.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_program_printing():
    task, model, batch = _setup(question_types="count_greater")
    text = model.program(batch, 0, task.column_names)
    steps = text.split(" -> ")
    assert len(steps) == 4
    assert all(step.split("(")[0] in OPERATIONS for step in steps)
    # Force greater on "qty" then count, whatever the question says.
    with torch.no_grad():
        model.op_embeddings.zero_()
        model.col_embeddings.zero_()
        model.op_hidden.weight.zero_()
        model.op_hidden.bias.fill_(1.0)
        model.col_hidden.weight.zero_()
        model.col_hidden.bias.fill_(1.0)
        model.op_embeddings[OPERATIONS.index("greater")] = 1.0
        model.col_embeddings[1] = 1.0
    pivot = model(batch)[1]["pivots"][0, 0].item()
    assert pivot == batch.question_numbers[0, 0].item()
    expected = f'greater(col="qty", pivot={pivot:g})'
    assert model.program(batch, 0, task.column_names) == " -> ".join([expected] * 4)
    assert model.program(batch, 0).startswith('greater(col="col1"')


def test_built_from_the_config_and_column_mismatch_is_an_error():
    task = TableQATask(TableQAConfig(columns=2))
    config = NeuralProgrammerConfig(embedding_size=8, hidden_size=12, steps=3)
    model = build_model(config, task.input_size, task.output_size)
    assert isinstance(model, NeuralProgrammer) and model.steps == 3 and model.columns == 2
    with pytest.raises(ValueError, match="columns"):
        model(TableQATask(TableQAConfig(columns=3)).sample(2, torch.Generator().manual_seed(0)))


def _fit(model: NeuralProgrammer, task: TableQATask, steps: int, lr: float, seed: int) -> None:
    """Adam on batches of 32 drawn with ``seed``, gradients clipped at norm 10."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        loss, _ = model.loss(task, task.sample(32, generator))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()


def test_learns_simple_single_column_questions(one_thread):
    torch.manual_seed(0)
    task = TableQATask(
        TableQAConfig(
            columns=1,
            min_rows=5,
            max_rows=10,
            train_range=10,
            eval_range=20,
            question_types="sum,count,count_less",
            huber_delta=1000.0,
        )
    )
    model = NeuralProgrammer(len(task.vocab), 1, embedding_size=32, hidden_size=32)
    evaluation = task.sample_evaluation(300, torch.Generator().manual_seed(2))
    before = task.metrics(model.evaluation_outputs(evaluation), evaluation)["accuracy"]
    _fit(model, task, steps=300, lr=1e-2, seed=1)
    after = task.metrics(model.evaluation_outputs(evaluation), evaluation)
    # A constant answer gets almost none right; sums and counts are learned within 300 steps
    # (with a quadratic loss on these small answers: see TableQAConfig.huber_delta).
    assert before < 0.2
    assert after["accuracy"] > 0.6
    assert after["accuracy_sum"] > 0.95 and after["accuracy_count"] > 0.95


def test_gradient_noise_decays_and_only_applies_in_training():
    task = TableQATask(TableQAConfig(columns=1, min_rows=4, max_rows=6))
    batch = task.sample(8, torch.Generator().manual_seed(0))

    def grads(model):
        model.zero_grad()
        model.loss(task, batch)[0].backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    torch.manual_seed(0)
    plain = NeuralProgrammer(len(task.vocab), 1, embedding_size=4, hidden_size=6)
    torch.manual_seed(0)
    noisy = NeuralProgrammer(
        len(task.vocab), 1, embedding_size=4, hidden_size=6, gradient_noise=1.0
    )
    assert noisy.noise_std(0) == 1.0
    assert noisy.noise_std(99) == pytest.approx(100**-0.275)
    difference = grads(noisy) - grads(plain)
    assert difference.abs().mean() > 0.3 and int(noisy.noise_step) == 1
    noisy.eval()
    assert torch.allclose(grads(noisy), grads(plain))
    assert int(noisy.noise_step) == 1
    with pytest.raises(ValueError, match="gradient_noise"):
        NeuralProgrammer(5, 1, gradient_noise=-1.0)


def test_text_columns_widen_the_column_choice_and_unmask_text_match():
    task, model, batch = _setup(columns=3)
    _, info = model(batch)
    assert (info["alpha_op"][..., OPERATIONS.index("text_match")] == 0).all()
    task = TableQATask(TableQAConfig(columns=2, text_columns=2, min_rows=4, max_rows=9))
    model = NeuralProgrammer(len(task.vocab), task.output_size, embedding_size=6, hidden_size=10)
    batch = task.sample(5, torch.Generator().manual_seed(0))
    outputs, info = model(batch)
    assert info["alpha_col"].shape == (4, 5, 4) and outputs.lookup.shape[-1] == 2
    assert (info["alpha_op"][..., OPERATIONS.index("text_match")] > 0).all()
    with pytest.raises(ValueError, match="model built for 3 columns, table has 4"):
        NeuralProgrammer(len(task.vocab), 3)(batch)
    # Force text_match on "city" then count: the printed program names the text column.
    with torch.no_grad():
        model.op_embeddings.zero_()
        model.col_embeddings.zero_()
        model.op_embeddings[OPERATIONS.index("text_match"), 0] = 50.0
        model.op_hidden.weight[0] = 0.0
        model.op_hidden.bias[0] = 1.0
        model.col_embeddings[3, 0] = 50.0
        model.col_hidden.weight[0] = 0.0
        model.col_hidden.bias[0] = 1.0
    assert model.program(batch, 0, task.column_names).startswith('text_match(col="city")')


def test_columns_are_represented_by_their_names():
    task, model, batch = _setup(columns=3)
    _, info = model(batch)
    # The same tables with the names of columns 0 and 2 swapped: with no per-position part,
    # the column weights swap with them.
    swapped = batch._replace(column_words=batch.column_words[:, [2, 1, 0]])
    _, info_swapped = model(swapped)
    torch.testing.assert_close(info_swapped["alpha_col"][0], info["alpha_col"][0][:, [2, 1, 0]])


def test_models_saved_before_column_names_load_and_keep_their_choices():
    task, model, batch = _setup(columns=3)
    state = model.state_dict()
    state["col_embeddings"] = torch.randn(3, 10)
    del state["column_names.weight"]
    fresh = NeuralProgrammer(len(task.vocab), 3, embedding_size=6, hidden_size=10, steps=4)
    fresh.load_state_dict(state)
    assert (fresh.column_names.weight == 0).all()
    # The first step's column weights as the earlier model computed them: P = col_embeddings.
    with torch.no_grad():
        q, _ = fresh.encode(batch)
        h = torch.tanh(fresh.history(torch.cat([q.new_zeros(5, 12), q.new_zeros(5, 10)], -1)))
        query = torch.tanh(fresh.col_hidden(torch.cat([q, h], -1)))
        expected = torch.softmax(query @ state["col_embeddings"].T, -1)
        _, info = fresh(batch)
    torch.testing.assert_close(info["alpha_col"][0], expected)


def test_the_model_on_each_device_matches_a_float64_cpu_reference(matches_float64_cpu):
    task = TableQATask(TableQAConfig(columns=2, text_columns=1, min_rows=4, max_rows=9))
    batch = task.sample(5, torch.Generator().manual_seed(0))

    def run(model, dtype, device):
        cast = TableBatch(*(t.to(dtype) if t.is_floating_point() else t for t in batch))
        # the argmax program's answers (no gradient) beside the soft program's
        answers = [model(cast.to(device), hard=hard)[0] for hard in (True, False)]
        return torch.cat([torch.cat([a.scalar[:, None], a.lookup.flatten(1)], -1) for a in answers])

    matches_float64_cpu(
        lambda: NeuralProgrammer(len(task.vocab), 3, embedding_size=6, hidden_size=10), run
    )


def _bidirectional(task, hidden_size=10):
    return NeuralProgrammer(
        len(task.vocab), 3, embedding_size=6, hidden_size=hidden_size, bidirectional=True
    )


def test_a_bidirectional_question_rnn_reads_both_ends_of_the_question():
    task, _, batch = _setup()
    model = _bidirectional(task, hidden_size=7)
    q, keys = model.encode(batch)
    assert q.shape == (5, 14) and keys.shape == (5, batch.question_numbers.shape[1], 14)
    outputs, info = model(batch)
    assert outputs.scalar.shape == (5,) and torch.isfinite(outputs.scalar).all()
    # The backward half of q is the backward RNN's state at the first word.
    changed = batch.question.clone()
    changed[0] = task.vocab.encode(["sum"])[0]
    q_changed, _ = model.encode(batch._replace(question=changed))
    assert not torch.allclose(q_changed[:, 7:], q[:, 7:])


def test_a_bidirectional_question_ignores_the_padding_after_it():
    task, _, batch = _setup()
    model = _bidirectional(task)
    q, keys = model.encode(batch)
    # Five more padding tokens after every question: the same q and pivot keys.
    padded = torch.cat([batch.question, batch.question.new_zeros(5, 5)])
    q_padded, keys_padded = model.encode(batch._replace(question=padded))
    torch.testing.assert_close(q_padded, q)
    torch.testing.assert_close(keys_padded, keys)


def test_a_bidirectional_question_is_built_from_the_config_and_trains():
    task, _, _ = _setup()
    config = NeuralProgrammerConfig(embedding_size=6, hidden_size=10, bidirectional=True)
    model = build_model(config, len(task.vocab), 3)
    assert model.bidirectional and model.question_rnn.bidirectional
    batch = task.sample(64, torch.Generator().manual_seed(1))
    total, _ = model.loss(task, batch)
    total.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_selection_entropy_lowers_the_total_by_each_episodes_loss_times_its_entropy():
    task = TableQATask(TableQAConfig(columns=1, min_rows=4, max_rows=9))
    batch = task.sample(32, torch.Generator().manual_seed(2))

    def build(beta):
        torch.manual_seed(0)
        return NeuralProgrammer(
            len(task.vocab), 1, embedding_size=6, hidden_size=10, selection_entropy=beta
        )

    plain, entropic = build(0.0), build(0.5)
    total, task_loss = entropic.loss(task, batch)
    assert torch.allclose(task_loss, plain.loss(task, batch)[1])
    outputs, info = entropic(batch)
    losses = task.loss_per_example(outputs, batch)
    entropy = mean_selection_entropy(info["alpha_op"], info["alpha_col"])
    expected = (losses * (1 - 0.5 * entropy)).mean()
    assert torch.allclose(total, expected) and total < task_loss
    # One column and no text: text_match is masked (α = 0), and the gradients stay finite.
    total.backward()
    for name, parameter in entropic.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="selection_entropy must be in"):
            NeuralProgrammer(5, 1, selection_entropy=bad)
    model = build_model(NeuralProgrammerConfig(selection_entropy=0.3), len(task.vocab), 1)
    assert model.selection_entropy == 0.3


def test_the_uniform_kl_penalty_adds_each_episodes_capped_loss_times_its_kl():
    task = TableQATask(TableQAConfig(columns=3, min_rows=4, max_rows=9))
    batch = task.sample(32, torch.Generator().manual_seed(2))

    def build(**kw):
        torch.manual_seed(0)
        return NeuralProgrammer(len(task.vocab), 3, embedding_size=6, hidden_size=10, **kw)

    cap = 5.0
    model = build(selection_entropy=0.5, selection_penalty="uniform_kl", selection_loss_cap=cap)
    total, task_loss = model.loss(task, batch)
    assert torch.allclose(task_loss, build().loss(task, batch)[1])
    outputs, info = model(batch)
    losses = task.loss_per_example(outputs, batch)
    assert (losses > cap).any() and (losses < cap).any()
    kl = mean_selection_uniform_kl(info["alpha_op"], info["alpha_col"])
    expected = (losses + 0.5 * losses.clamp_max(cap) * kl).mean()
    assert torch.allclose(total, expected) and total > task_loss
    total.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
    # The cap bounds the entropy's weight the same way.
    capped = build(selection_entropy=0.5, selection_loss_cap=cap)
    entropy = mean_selection_entropy(info["alpha_op"], info["alpha_col"])
    expected = (losses - 0.5 * losses.clamp_max(cap) * entropy).mean()
    assert torch.allclose(capped.loss(task, batch)[0], expected)
    with pytest.raises(ValueError, match="selection_penalty must be one of"):
        NeuralProgrammer(5, 1, selection_penalty="kl")
    with pytest.raises(ValueError, match="selection_loss_cap must be positive"):
        NeuralProgrammer(5, 1, selection_loss_cap=0.0)
    config = NeuralProgrammerConfig(selection_penalty="uniform_kl", selection_loss_cap=100.0)
    built = build_model(config, len(task.vocab), 3)
    assert built.selection_penalty == "uniform_kl" and built.selection_loss_cap == 100.0


def _variant(task, model, **options) -> NeuralProgrammer:
    """A 3-column model built from a config with ``options``, holding ``model``'s parameters."""
    config = NeuralProgrammerConfig(embedding_size=6, hidden_size=10, **options)
    variant = build_model(config, len(task.vocab), 3)
    variant.load_state_dict(model.state_dict())
    return variant


@pytest.mark.parametrize(
    ("option", "question_types", "answer"),
    [("and_product", "count_between", "scalar"), ("expected_extremes", "greatest,least", "lookup")],
)
def test_a_soft_operation_option_changes_only_the_soft_program_and_comes_from_the_config(
    option, question_types, answer
):
    task, model, batch = _setup(question_types=question_types)
    variant = _variant(task, model, **{option: True})
    assert getattr(variant, option) and not getattr(model, option)
    hard = [getattr(m(batch, hard=True)[0], answer) for m in (model, variant)]
    assert torch.equal(*hard)
    assert not torch.allclose(*[getattr(m(batch)[0], answer) for m in (model, variant)])


def test_operation_noise_moves_only_the_training_selections_and_comes_from_the_config():
    task, model, batch = _setup()
    noisy = _variant(task, model, operation_noise=1.0)
    assert noisy.operation_noise == 1.0 and model.operation_noise == 0.0
    _, plain = model(batch)
    _, first = noisy(batch)
    _, second = noisy(batch)
    # in training: every step of every episode perturbed, afresh at each call
    assert not torch.allclose(first["alpha_op"], plain["alpha_op"])
    assert not torch.allclose(first["alpha_op"], second["alpha_op"])
    assert torch.allclose(first["alpha_op"].sum(-1), torch.ones(4, 5))
    text_match = OPERATIONS.index("text_match")  # masked out without text columns, noise or not
    assert (first["alpha_op"][..., text_match] == 0).all()
    # the column scores get no noise: the first step's column choice, made before any noisy
    # operation choice is fed back to the history RNN, is the plain one
    assert torch.equal(first["alpha_col"][0], plain["alpha_col"][0])
    noisy.eval()
    model.eval()
    assert torch.equal(noisy(batch)[1]["alpha_op"], model(batch)[1]["alpha_op"])
    noisy.train()
    assert torch.equal(noisy(batch, hard=True)[0].scalar, model(batch, hard=True)[0].scalar)
    with pytest.raises(ValueError, match="operation_noise must be >= 0"):
        NeuralProgrammer(len(task.vocab), 3, operation_noise=-0.1)


def test_program_search_adds_minus_log_probability_of_the_right_programs_in_training_only():
    task, model, batch = _setup(question_types="difference,sum,greatest")
    searching = _variant(task, model, program_search=0.5, program_search_episodes=4)
    assert searching.program_search == 0.5 and searching.program_search_episodes == 4
    total, task_loss = searching.loss(task, batch)
    assert torch.allclose(task_loss, model.loss(task, batch)[1])
    _, info = searching(batch)
    lookup = batch.is_lookup[:4] > 0.5
    assert lookup.any() and not lookup.all()
    args = {
        name: torch.arange(4)[chosen] for name, chosen in (("scalar", ~lookup), ("lookup", lookup))
    }
    log_likelihoods = []
    for kind, search, answers in (
        ("scalar", answer_log_likelihood, batch.answer_scalar),
        ("lookup", lookup_log_likelihood, batch.answer_lookup),
    ):
        episodes = args[kind]
        log_likelihoods.append(
            search(
                info["log_alpha_op"][:, episodes],
                info["log_alpha_col"][:, episodes],
                batch.table[episodes],
                batch.row_mask[episodes],
                info["pivots"][episodes],
                answers[episodes],
            )
        )
    log_likelihood = torch.cat(log_likelihoods)
    assert torch.isfinite(log_likelihood).all()  # the template's program answers each
    assert torch.allclose(total - task_loss, -0.5 * log_likelihood.mean(), atol=1e-3)
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in searching.parameters() if p.grad is not None)
    searching.eval()
    evaluated, evaluated_task = searching.loss(task, batch)
    assert evaluated is evaluated_task


def test_program_search_counts_only_episodes_some_program_answers_and_rejects_bad_settings():
    task, model, batch = _setup(question_types="sum")
    unanswerable = batch._replace(answer_scalar=torch.full_like(batch.answer_scalar, 1e6))
    searching = _variant(task, model, program_search=1.0)
    total, task_loss = searching.loss(task, unanswerable)
    assert total.item() == task_loss.item()
    with pytest.raises(ValueError, match="program_search must be >= 0"):
        NeuralProgrammer(len(task.vocab), 3, program_search=-1.0)
    with pytest.raises(ValueError, match="program_search_episodes must be >= 1"):
        NeuralProgrammer(len(task.vocab), 3, program_search_episodes=0)


def _train_difference(program_search: float, steps: int) -> float:
    """Train a small model on "difference" alone (2 columns, 5-10 rows); held-out accuracy of
    its argmax programs."""
    torch.manual_seed(0)
    task = TableQATask(
        TableQAConfig(
            columns=2,
            min_rows=5,
            max_rows=10,
            question_types="difference",
            huber_delta=1000.0,
            answer_scaled_error=True,
        )
    )
    model = NeuralProgrammer(
        len(task.vocab), 2, embedding_size=16, hidden_size=32, program_search=program_search
    )
    _fit(model, task, steps, lr=3e-3, seed=0)
    evaluation = task.sample_evaluation(200, torch.Generator().manual_seed(1))
    return task.metrics(model.evaluation_outputs(evaluation), evaluation)["accuracy"]


def test_program_search_finds_the_difference_program_the_soft_loss_alone_misses(one_thread):
    # sum(a) -> greater(b) -> sum(b) -> difference: the soft loss settles on lesser -> sum,
    # right only where a and b are the same column and no entry equals x.
    assert _train_difference(program_search=0.0, steps=300) < 0.5
    assert _train_difference(program_search=1000.0, steps=300) > 0.95
