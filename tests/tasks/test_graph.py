"""Graph queries: the answers follow the graph, shortest paths are shortest, the encoding is the
documented one, and bad settings are clear errors."""

import pytest
import torch

from augrnn.tasks.base import LN2
from augrnn.tasks.graph import ANSWER, DESCRIPTION, QUERY, GraphConfig, GraphTask


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def decode(task, batch, b):
    """The triples, query steps and answer of episode ``b``, read back from its inputs."""
    c = task.config
    L, E = c.node_labels, c.edge_labels
    triples, query, answer = [], [], []
    for t in range(int(batch.input_mask[:, b].sum())):
        x = batch.inputs[t, b]
        parts = [x[:L], x[L : L + E], x[L + E : 2 * L + E]]
        assert all(p.sum() in (0, 1) for p in parts)  # one-hot or absent
        step = tuple(int(p.argmax()) if p.any() else None for p in parts)
        flag = int(x[2 * L + E :].argmax())
        assert x[2 * L + E :].sum() == 1
        if flag == DESCRIPTION:
            triples.append(step)
        elif flag == QUERY:
            query.append(step)
        else:
            assert flag == ANSWER and step == (None, None, None) and batch.mask[t, b] == 1
            answer.append(tuple(batch.targets[t, b].tolist()))
    return triples, query, answer


def test_a_traversal_answer_follows_the_queried_edges_from_the_start():
    task = GraphTask(GraphConfig(min_nodes=5, max_nodes=7, max_path=4))
    batch = task.sample(20, gen(1))
    for b in range(20):
        triples, query, answer = decode(task, batch, b)
        nodes = {s for s, _, _ in triples}
        assert 5 <= len(nodes) <= 7 and len(triples) == 2 * len(nodes)
        assert query[0][0] is not None and all(q[0] is None for q in query[1:])
        assert [e for _, e, _ in query] == [e for _, e, _ in answer]
        assert answer == task.traverse(triples, query[0][0], [e for _, e, _ in query])
        assert answer[0][0] == query[0][0] and all(t in triples for t in answer)
        assert int(batch.lengths[b]) == len(answer) <= 4


def test_a_shortest_path_answer_is_a_path_and_no_shorter_one_exists():
    task = GraphTask(GraphConfig(query="shortest_path", min_nodes=6, max_nodes=8, max_path=3))
    batch = task.sample(30, gen(2), length=3)
    for b in range(30):
        triples, query, answer = decode(task, batch, b)
        ((source, edge, end),) = query
        assert edge is None and len(answer) == 3
        assert answer[0][0] == source and answer[-1][2] == end
        assert all(answer[i][2] == answer[i + 1][0] for i in range(2))
        assert all(t in triples for t in answer)
        # Breadth-first search by hand: the destination is exactly three edges away.
        reached, frontier = {source}, {source}
        for _ in range(2):
            frontier = {d for s, _, d in triples if s in frontier} - reached
            reached |= frontier
        assert end not in reached


def test_both_queries_are_drawn_and_the_length_fixes_the_path():
    task = GraphTask(GraphConfig(query="both"))
    batch = task.sample(40, gen(3), length=2)
    # A shortest-path query is one step; a traversal of 2 edges, two.
    assert {len(decode(task, batch, b)[1]) for b in range(40)} == {1, 2}
    assert (batch.lengths == 2).all()


def test_perfect_logits_cost_nothing_and_the_sampler_is_seeded():
    task = GraphTask()
    batch = task.sample(8, gen(4))
    assert torch.equal(batch.inputs, task.sample(8, gen(4)).inputs)
    logits = torch.full((*batch.targets.shape[:2], 3, task.classes), -50.0)
    logits.scatter_(-1, batch.targets.unsqueeze(-1), 50.0)
    metrics = task.metrics(logits.flatten(2), batch)
    assert metrics["sequence_error_rate"] == 0.0 and metrics["cost_bits"] < 1e-6
    uniform = task.metrics(torch.zeros(*batch.targets.shape[:2], 3 * task.classes), batch)
    expected = 3 * torch.log(torch.tensor(float(task.classes))) / LN2 * batch.mask.sum(0)
    assert uniform["cost_bits"] == pytest.approx(float(expected.mean()), rel=1e-5)
    assert "graph, a path of" in task.render(batch, 0, logits.flatten(2))


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"max_nodes": 12}, "min_nodes <= max_nodes <= node_labels"),
        ({"out_degree": 5}, "out_degree <= edge_labels"),
        ({"min_path": 4}, "min_path <= max_path"),
        ({"query": "longest"}, "query must be one of traversal, shortest_path, both"),
        ({"min_nodes": 1}, "min_nodes must be an integer >= 2"),
    ],
)
def test_bad_settings_are_clear_errors(settings, message):
    with pytest.raises(ValueError, match=message):
        GraphConfig(**settings)


def test_an_impossible_shortest_path_is_a_clear_error():
    task = GraphTask(GraphConfig(query="shortest_path", min_nodes=2, max_nodes=2, max_path=3))
    with pytest.raises(ValueError, match="no shortest path of 3 edges"):
        task.sample(1, gen(5), length=3)


def test_graphs_can_grow_with_the_path_for_a_curriculum():
    settings = {"min_nodes": 3, "max_nodes": 9, "max_path": 4, "nodes_per_path_edge": 2}
    task = GraphTask(GraphConfig(**settings))
    assert [task.largest_graph(k) for k in (1, 2, 3, 4)] == [3, 5, 7, 9]
    for path, largest in ((1, 3), (3, 7)):
        batch = task.sample(30, gen(6), length=path)
        sizes = {len({s for s, _, _ in decode(task, batch, b)[0]}) for b in range(30)}
        assert max(sizes) <= largest and min(sizes) >= 3
    assert GraphTask().largest_graph(1) == GraphTask().largest_graph(3) == 8
