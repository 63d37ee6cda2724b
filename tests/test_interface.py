"""The model interface: what a model must provide, the capabilities it declares, and the
description of a model kind."""

from dataclasses import dataclass, fields

import pytest

from augrnn.interface import Model, ModelConfig, ModelKind, core_field, is_core_field


def test_models_without_a_capability_say_so():
    class Plain(Model):
        def loss(self, task, batch):
            raise AssertionError

        def evaluation_outputs(self, batch):
            raise AssertionError

        def traced(self, batch):
            raise AssertionError

    model = Plain()
    assert not (model.supports_compile or model.supports_checkpointing or model.decodes)
    with pytest.raises(NotImplementedError, match="Plain has no compiled step"):
        model.compile_step()
    with pytest.raises(NotImplementedError, match="Plain has no gradient checkpointing"):
        model.set_checkpointing(2)
    with pytest.raises(TypeError, match="abstract"):

        class Partial(Model):
            def loss(self, task, batch):
                raise AssertionError

        Partial()


def test_a_model_kind_has_exactly_one_builder():
    @dataclass
    class Config(ModelConfig):
        width: int = 1

    with pytest.raises(ValueError, match="exactly one of build_core and build_model"):
        ModelKind(Config)
    with pytest.raises(ValueError, match="exactly one of build_core and build_model"):
        ModelKind(Config, build_core=print, build_model=print)
    assert ModelKind(Config, build_core=print).is_core
    assert not ModelKind(Config, build_model=print).is_core
    assert Config().summary("wide") == "wide"


def test_a_core_field_is_marked_and_defaults_to_none():
    @dataclass
    class Wrapper(ModelConfig):
        core: ModelConfig | None = core_field()
        depth: int = 2

    marked = {f.name: is_core_field(f) for f in fields(Wrapper)}
    assert marked == {"core": True, "depth": False} and Wrapper().core is None
