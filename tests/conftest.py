"""Shared fixtures: ``device`` runs a test on every device torch can use here (the CPU, and a
CUDA GPU when one is present), so the same tests check the GPU paths on a machine that has one."""

import pytest
import torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    return torch.device(request.param)
