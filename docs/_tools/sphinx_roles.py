"""A griffe extension for the API pages: the docstrings' Sphinx-style cross-references
(``:class:`~augrnn.core.Trace```, ``:func:`.evaluate```, ``:meth:`Core.sequence_loss```) become
links to the objects' entries (optional ones: a name the reference does not document stays
plain code), and their double backquotes stay code."""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`(~?)([.\w]+)`")


def _target(name: str, obj: griffe.Object) -> str | None:
    """The full path a reference most likely means, from where ``obj`` stands; None for one
    outside augrnn."""
    if name.startswith("augrnn."):
        return name
    module = obj if isinstance(obj, griffe.Module) else obj.module
    if name.startswith("."):
        package = module.path.split(".")
        if not module.is_init_module:
            package = package[:-1]
        dots = len(name) - len(name.lstrip("."))
        return ".".join([*package[: len(package) - dots + 1], name.lstrip(".")])
    if "." in name and not name[0].isupper():
        return None  # torch.Tensor, nn.LSTM and the like
    if "." not in name and not name[0].isupper():
        # a method or attribute named from its class, or from a method of that class
        owner = obj if isinstance(obj, griffe.Class) else obj.parent
        if isinstance(owner, griffe.Class):
            return f"{owner.path}.{name}"
    return f"{module.path}.{name}"


def _linked(match: re.Match, obj: griffe.Object) -> str:
    tilde, name = match.groups()
    shown = name.lstrip(".").split(".")[-1] if tilde or name.startswith(".") else name
    target = _target(name, obj)
    if target is None:
        return f"`{shown}`"
    return f'<autoref identifier="{target}" optional><code>{shown}</code></autoref>'


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(lambda m: _linked(m, obj), obj.docstring.value)
