"""Shared fixtures: ``device`` runs a test on every device torch can use here (the CPU, and a
CUDA GPU when one is present), so the same tests check the GPU paths on a machine that has one;
``matches_float64_cpu`` checks a model on that device against a float64 copy on the CPU."""

import contextlib
from collections.abc import Callable

import pytest
import torch
from torch import nn

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    return torch.device(request.param)


@contextlib.contextmanager
def full_float32():
    """float32 without TensorFloat-32: on CUDA, cuDNN's recurrent layers (nn.LSTM) round
    float32 products to TF32 by default, about 1e-3 relative, beyond a float32 check's
    tolerance."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _check_against_float64_cpu(
    build: Callable[[], nn.Module],
    run: Callable[[nn.Module, torch.dtype, torch.device], torch.Tensor],
    device: torch.device,
) -> None:
    """Build the model twice from the same seed; run one in float32 on ``device`` and the other
    in float64 on the CPU (``run(model, dtype, device)`` returns a floating-point output); the
    outputs and every parameter's gradient of the outputs' sum of squares must agree."""
    torch.manual_seed(0)
    reference = build().double()
    torch.manual_seed(0)
    model = build().to(device)
    expected = run(reference, torch.float64, torch.device("cpu"))
    with full_float32():
        got = run(model, torch.float32, device)
    assert got.device.type == device.type and got.dtype == torch.float32
    torch.testing.assert_close(got.cpu().double(), expected, rtol=1e-4, atol=1e-5)
    expected.square().sum().backward()
    with full_float32():
        got.square().sum().backward()
    named = dict(model.named_parameters())
    for name, p in reference.named_parameters():
        if p.grad is None:
            assert named[name].grad is None, name
            continue
        torch.testing.assert_close(
            named[name].grad.cpu().double(), p.grad, rtol=1e-3, atol=1e-5, msg=name
        )


@pytest.fixture
def matches_float64_cpu(device) -> Callable:
    """``matches_float64_cpu(build, run)``: see :func:`_check_against_float64_cpu`."""
    return lambda build, run: _check_against_float64_cpu(build, run, device)


#: The settings of the tiny spoken corpus of the speech tests (sizes 1-2, held-out up to 3).
TINY_SPEECH = {
    "min_size": 1,
    "max_size": 2,
    "long_max": 3,
    "train_utterances": 24,
    "test_utterances": 9,
}


@pytest.fixture(scope="session")
def tiny_speech() -> dict:
    """The tiny corpus's task settings, as ``SpeechConfig`` keywords."""
    return dict(TINY_SPEECH)


@pytest.fixture(scope="session")
def speech_cache(tmp_path_factory):
    """A cache folder holding the tiny spoken corpus (:data:`TINY_SPEECH`), made once per
    session and set as ``$AUGRNN_CACHE_DIR``; the test is skipped where eSpeak NG or the
    feature package is missing."""
    import os
    import shutil

    if shutil.which("espeak-ng") is None:
        pytest.skip("eSpeak NG is not installed (apt-get install espeak-ng, or make speech)")
    pytest.importorskip("kaldi_native_fbank", reason="pip install 'augrnn[speech]'")
    from augrnn.tasks.speech import SpeechConfig, SpeechTask

    root = tmp_path_factory.mktemp("speech-cache")
    saved = os.environ.get("AUGRNN_CACHE_DIR")
    os.environ["AUGRNN_CACHE_DIR"] = str(root)
    try:
        SpeechTask(SpeechConfig(**TINY_SPEECH)).corpus  # noqa: B018 - generates and caches
        yield root
    finally:
        if saved is None:
            os.environ.pop("AUGRNN_CACHE_DIR", None)
        else:
            os.environ["AUGRNN_CACHE_DIR"] = saved
