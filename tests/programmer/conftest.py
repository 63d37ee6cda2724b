import pytest
import torch


@pytest.fixture
def one_thread():
    """One torch thread: on a busy machine, more oversubscribe its cores and slow small
    recurrent training steps many times over."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
