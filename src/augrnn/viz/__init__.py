"""Figures of what trained models do, drawn from Traces (see :mod:`augrnn.viz.views` to add one)."""

from augrnn.viz.figures import VizResult, visualise_run
from augrnn.viz.views import VIEWS, View, applicable_views, register_view

__all__ = ["VIEWS", "View", "VizResult", "applicable_views", "register_view", "visualise_run"]
