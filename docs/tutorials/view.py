# A view of your own: a figure drawn from what a model traced, registered by the names it needs.
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from augrnn.memory.ntm import NTM  # noqa: E402
from augrnn.tasks.copy import CopyConfig, CopyTask  # noqa: E402
from augrnn.viz.views import applicable_views, heat_map, new_figure, register_view  # noqa: E402


@register_view("read_vectors", needs=("reads",))
def read_vectors(trace, batch, task, logits, index):
    """What the NTM's first read head read at each step (width down, time across)."""
    reads = trace.stack("reads")[:, index, 0].numpy()  # (T, M): step, slot width
    fig = new_figure(6, 3)
    ax = fig.subplots()
    heat_map(fig, ax, reads.T, "read vector r_t", "time step", "memory width", cmap="RdBu_r")
    fig.suptitle(f"{task.name}: what the read head read")
    return fig


task = CopyTask(CopyConfig(bits=4, min_length=3, max_length=5))
batch = task.sample(2, torch.Generator().manual_seed(0))
model = NTM(task.input_size, task.output_size, memory_slots=16, memory_width=6).eval()
with torch.no_grad():
    logits, trace = model.traced(batch)  # every Model gives its outputs and a Trace
views = [view.name for view in applicable_views(trace, task)]
assert "read_vectors" in views and "ntm_weights" in views
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "read_vectors.png"
    read_vectors(trace, batch, task, logits, 0).savefig(path)
    assert path.stat().st_size > 5_000
print("views that apply:", ", ".join(views))
