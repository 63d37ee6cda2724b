"""Graph queries (the DNC paper's structured-data tasks, Graves et al. 2016, Fig. 2), at CPU scale.

Each episode is a random directed graph given as triples (source, edge, destination), then a
query, then the answer as triples:

- **traversal**: a start node and a sequence of edge labels; the answer is the path those edges
  take from the start, one triple per edge (the paper's "traversal" on the London Underground);
- **shortest path**: a source and a destination node; the answer is a shortest path between
  them, one triple per edge (when several have the same length, the one breadth-first search
  meets first, edges explored in label order).

The graph has N ~ U{min_nodes..max_nodes} nodes with distinct labels drawn from
``node_labels``; each node has ``out_degree`` outgoing edges with distinct labels (of
``edge_labels``) to random other nodes, so every traversal can go on. The ``length`` of an
episode is its path length (edges in the answer), U{min_path..max_path} in training; a
curriculum (``train.curriculum_start``) raises it step by step, and with
``nodes_per_path_edge`` the graphs' size with it.

Inputs (T, B, 2 L + E + 3), one step each: a triple as three one-hot parts (source L, edge E,
destination L; a part not given is zero) and three flags (description, query, answer).
Description steps hold the graph's triples in random order; a traversal's query steps hold the
start node with the first edge label, then one edge label each; a shortest-path query is one
step with source and destination. During the answer steps (the answer flag on, the rest zero)
the targets are the path's triples: (T, B, 3) class indices (source, edge, destination) of
max(L, E) classes, scored where ``mask`` is 1.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from augrnn.settings import Range, at_least, check_integers
from augrnn.tasks.base import Batch, ClassificationTask, TaskConfig

QUERIES = ("traversal", "shortest_path", "both")
#: Flag channels after the triple's one-hot parts.
DESCRIPTION, QUERY, ANSWER = range(3)


@dataclass
class GraphConfig(TaskConfig):
    min_nodes: int = 4
    max_nodes: int = 8
    #: L, the node labels (nodes get distinct ones); at least ``max_nodes``.
    node_labels: int = 10
    #: E, the edge labels.
    edge_labels: int = 4
    #: Outgoing edges per node, with distinct labels; at most ``edge_labels``.
    out_degree: int = 2
    #: Edges in the answer: U{min_path..max_path} in training.
    min_path: int = 1
    max_path: int = 3
    #: "traversal", "shortest_path", or "both" (each episode one of the two, drawn uniformly).
    query: str = "traversal"
    #: Graphs grow with the path: an episode whose path is k edges longer than ``min_path``
    #: draws at most ``min_nodes + k * nodes_per_path_edge`` nodes (and at most ``max_nodes``),
    #: so a curriculum on the path length (``train.curriculum_start``) grows both. 0: graph
    #: sizes do not depend on the path.
    nodes_per_path_edge: int = 0

    RANGES: ClassVar[dict[str, Range]] = {
        "min_nodes": at_least(2),
        "max_nodes": at_least(2),
        "node_labels": at_least(2),
        "edge_labels": at_least(1),
        "out_degree": at_least(1),
        "min_path": at_least(1),
        "max_path": at_least(1),
        "nodes_per_path_edge": at_least(0),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.min_nodes <= self.max_nodes <= self.node_labels:
            raise ValueError(
                f"graph needs min_nodes <= max_nodes <= node_labels, got {self.min_nodes}, "
                f"{self.max_nodes}, {self.node_labels}"
            )
        if self.out_degree > self.edge_labels:
            raise ValueError(
                f"graph needs out_degree <= edge_labels (a node's edges have distinct labels), "
                f"got {self.out_degree} > {self.edge_labels}"
            )
        if self.min_path > self.max_path:
            raise ValueError(
                f"graph needs min_path <= max_path, got {self.min_path}, {self.max_path}"
            )
        if self.query not in QUERIES:
            raise ValueError(f"graph query must be one of {', '.join(QUERIES)}, got {self.query!r}")


Triple = tuple[int, int, int]


class GraphTask(ClassificationTask):
    """Answer traversal or shortest-path queries about a random graph given as triples."""

    name = "graph"
    description = "traverse a random graph given as triples, or find a shortest path (DNC Fig. 2)"
    config_class = GraphConfig
    config: GraphConfig
    length_name = "path"

    @property
    def input_size(self) -> int:
        return 2 * self.config.node_labels + self.config.edge_labels + 3

    @property
    def groups(self) -> int:
        return 3

    @property
    def classes(self) -> int:
        return max(self.config.node_labels, self.config.edge_labels)

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_path, self.config.max_path)

    def largest_graph(self, path: int) -> int:
        """The most nodes an episode whose answer is ``path`` edges long draws."""
        c = self.config
        if not c.nodes_per_path_edge:
            return c.max_nodes
        grown = c.min_nodes + (path - c.min_path) * c.nodes_per_path_edge
        return max(c.min_nodes, min(c.max_nodes, grown))

    def random_graph(
        self, rng: random.Random, largest: int | None = None
    ) -> tuple[list[int], list[Triple]]:
        """Node labels and the (source, edge, destination) triples of one random graph of
        ``min_nodes``-``largest`` nodes (default: ``max_nodes``)."""
        c = self.config
        largest = c.max_nodes if largest is None else largest
        nodes = rng.sample(range(c.node_labels), rng.randint(c.min_nodes, largest))
        triples = []
        for node in nodes:
            for edge in sorted(rng.sample(range(c.edge_labels), c.out_degree)):
                triples.append((node, edge, rng.choice([n for n in nodes if n != node])))
        return nodes, triples

    @staticmethod
    def traverse(triples: list[Triple], start: int, edges: list[int]) -> list[Triple]:
        """The triples that following ``edges`` from ``start`` passes along."""
        step = {(s, e): (s, e, d) for s, e, d in triples}
        path, node = [], start
        for edge in edges:
            path.append(step[(node, edge)])
            node = path[-1][2]
        return path

    @staticmethod
    def shortest_paths(triples: list[Triple], source: int) -> dict[int, list[Triple]]:
        """Breadth-first search from ``source``: a shortest path (as triples) to every node it
        reaches, edges explored in label order."""
        out: dict[int, list[Triple]] = {}
        for triple in sorted(triples, key=lambda t: (t[0], t[1])):
            out.setdefault(triple[0], []).append(triple)
        paths: dict[int, list[Triple]] = {source: []}
        queue = deque([source])
        while queue:
            node = queue.popleft()
            for triple in out.get(node, []):
                if triple[2] not in paths:
                    paths[triple[2]] = paths[node] + [triple]
                    queue.append(triple[2])
        return paths

    def _episode(
        self, rng: random.Random, length: int
    ) -> tuple[list[Triple], list[tuple], list[Triple], str]:
        """One episode: the graph's triples, the query's steps as (source, edge, destination)
        with None for a part not given, the answer's triples and the query kind."""
        c = self.config
        kind = c.query if c.query != "both" else rng.choice(QUERIES[:2])
        for _ in range(100):
            nodes, triples = self.random_graph(rng, self.largest_graph(length))
            if kind == "traversal":
                start = node = rng.choice(nodes)
                step = {(s, e): (s, e, d) for s, e, d in triples}
                path = []
                for _ in range(length):
                    edge = rng.choice([e for s, e, _ in triples if s == node])
                    path.append(step[(node, edge)])
                    node = path[-1][2]
                query = [(start if i == 0 else None, e, None) for i, (_, e, _) in enumerate(path)]
                return triples, query, path, kind
            sources = rng.sample(nodes, len(nodes))
            for source in sources:
                paths = self.shortest_paths(triples, source)
                ends = [n for n, p in paths.items() if len(p) == length]
                if ends:
                    end = rng.choice(ends)
                    return triples, [(source, None, end)], paths[end], kind
        raise ValueError(
            f"graph found no shortest path of {length} edges in 100 random graphs of "
            f"{c.min_nodes}-{c.max_nodes} nodes; choose a shorter path or more nodes"
        )

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Episodes; ``length`` fixes the path length (edges in the answer)."""
        check_integers(self.name, batch_size=batch_size, path=length)
        c = self.config
        if batch_size < 1:
            raise ValueError(f"graph batch_size must be >= 1, got {batch_size}")
        if length is not None and length < 1:
            raise ValueError(f"graph path must be >= 1, got {length}")
        # Python's generator for the graphs' structure, seeded from torch's: one stream.
        rng = random.Random(int(torch.randint(0, 2**62, (1,), generator=generator)))
        episodes = []
        for _ in range(batch_size):
            size = length if length is not None else rng.randint(c.min_path, c.max_path)
            triples, query, answer, kind = self._episode(rng, size)
            rng.shuffle(triples)
            episodes.append((triples, query, answer, kind))
        total = max(len(t) + len(q) + len(a) for t, q, a, _ in episodes)
        L, E = c.node_labels, c.edge_labels
        inputs = torch.zeros(total, batch_size, self.input_size)
        targets = torch.zeros(total, batch_size, 3, dtype=torch.long)
        mask = torch.zeros(total, batch_size)
        input_mask = torch.zeros(total, batch_size)
        lengths = torch.zeros(batch_size, dtype=torch.long)
        flags = 2 * L + E

        def put(t: int, b: int, triple, flag: int) -> None:
            source, edge, destination = triple
            if source is not None:
                inputs[t, b, source] = 1.0
            if edge is not None:
                inputs[t, b, L + edge] = 1.0
            if destination is not None:
                inputs[t, b, L + E + destination] = 1.0
            inputs[t, b, flags + flag] = 1.0

        for b, (triples, query, answer, _) in enumerate(episodes):
            t = 0
            for triple in triples:
                put(t, b, triple, DESCRIPTION)
                t += 1
            for step in query:
                put(t, b, step, QUERY)
                t += 1
            for triple in answer:
                put(t, b, (None, None, None), ANSWER)
                targets[t, b] = torch.tensor(triple)
                mask[t, b] = 1.0
                t += 1
            input_mask[:t, b] = 1.0
            lengths[b] = len(answer)
        return Batch(inputs, targets, mask, lengths, input_mask)

    def describe_size(self, size: int) -> str:
        return f"a path of {size} edges"

    def render(self, batch: Batch, index: int = 0, logits: Tensor | None = None) -> str:
        c = self.config
        L, E = c.node_labels, c.edge_labels
        lines = [f"graph, {self.describe_size(int(batch.lengths[index]))}"]
        names = ("description", "query", "answer")
        steps = int(batch.input_mask[:, index].sum()) if batch.input_mask is not None else 0
        predicted = None
        if logits is not None:
            predicted = self._grouped(logits, batch)[:, index].argmax(-1)
        for t in range(steps):
            x = batch.inputs[t, index]
            parts = [x[:L], x[L : L + E], x[L + E : 2 * L + E]]
            shown = [str(int(p.argmax())) if p.any() else "-" for p in parts]
            flag = names[int(x[2 * L + E :].argmax())]
            line = f"{flag:11s} ({', '.join(shown)})"
            if batch.mask[t, index] > 0:
                line += f"  target {tuple(batch.targets[t, index].tolist())}"
                if predicted is not None:
                    line += f"  output {tuple(predicted[t].tolist())}"
            lines.append(line)
        return "\n".join(lines)
