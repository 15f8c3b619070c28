"""The domains of a domain-translation method, named in the label space: K >= 2 of them for a K-domain
method (StarGAN v2: every class of AFHQ), K = 2 for the two-domain family (CycleGAN, U-GAT-IT, UNIT).

A domain model is trained on one prepared dataset and translates between its label values, given as
`model.domains = ["A", "B", ...]` with `--to`-style names:

- two classes of a single-label dataset (CycleGAN's own folders: `horse`, `zebra`; RaFD: `happy`, `sad`);
- two members of an exclusive group (toy-celeba: `Black_Hair`, `Blond_Hair`);
- one attribute at its two values (`Male=0`, `Male=1`).

Domain A is the first name. The label space stays the dataset's own, so `--to blond` resolves exactly as
it does for StarGAN, and evaluate scores both methods with the same classifier on the same images: a
target picks the direction (a target in B is translated A -> B), and a source outside the opposite domain
(a brown-haired face for a black <-> blond model) is not a pair the model was trained for.

Also here, what every two-domain method (CycleGAN, U-GAT-IT) shares on the inference side: the translator
that routes each row to the generator of its target's domain, and the exported generators' signatures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError, LabelError
from ..labels import LabelSpace
from .spec import Signature


@dataclass(frozen=True)
class Domain:
    name: str  # as the model config gives it, e.g. "Male=0"
    attribute: str
    index: int  # of the attribute in the dataset
    value: float  # 0 or 1

    @property
    def label(self) -> str:
        """The dataset's own name of the domain: `Blond_Hair`, `Male=0`."""
        return self.attribute if self.value else f"{self.attribute}=0"

    def holds(self, labels: torch.Tensor | np.ndarray):
        """Which rows of (B, A) 0/1 labels are in this domain (bool tensor or array)."""
        column = labels[:, self.index]
        return column > 0.5 if self.value else column < 0.5


@dataclass(frozen=True)
class Domains:
    dataset: int  # index into the label space
    members: tuple[Domain, ...]  # K >= 2, in the order model.domains names them

    @property
    def a(self) -> Domain:
        return self.members[0]

    @property
    def b(self) -> Domain:
        return self.members[1]

    @classmethod
    def resolve(cls, names: tuple[str, ...], label_space: LabelSpace, count: int | None = 2) -> Domains:
        """`model.domains` -> the domains, checked: one dataset, `count` of them (None: two or more; every
        class of a single-label dataset when none are named), and no label in two of them."""
        what = "two" if count == 2 else f"{count}" if count else "two or more"
        if len(label_space.datasets) != 1:
            raise ConfigError(
                f"a {'two' if count == 2 else 'K'}-domain model trains on one prepared dataset; data.datasets lists "
                f"{len(label_space.datasets)} ({label_space.describe()})"
            )
        spec = label_space.datasets[0]
        if not names:
            if spec.kind == "single" and (count is None or len(spec.attributes) == count):
                names = spec.attributes
            else:
                raise ConfigError(
                    f"model.domains is empty: name {what} domains of {spec.name}, e.g. --set "
                    f"model.domains={','.join(spec.attributes[:2])} (its labels: {', '.join(spec.attributes)})"
                )
        if (count is not None and len(names) != count) or len(names) < 2:
            raise ConfigError(f"model.domains must name {what} domains, got {len(names)}: {', '.join(names)}")
        try:
            targets = [label_space.parse_targets(n)[0] for n in names]
        except LabelError as exc:
            raise ConfigError(f"model.domains: {exc}") from None
        for name, t in zip(names, targets, strict=True):
            if t.value not in (0.0, 1.0) or "," in name:
                raise ConfigError(f"model.domains: {name!r} must be one label, at 0 or 1")
        members = tuple(
            Domain(n, t.attribute, spec.index(t.attribute), t.value)
            for n, t in zip(names, targets, strict=True)
        )
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                _check_apart(spec, a, b)
        return cls(0, members)

    @property
    def count(self) -> int:
        return len(self.members)

    def describe(self) -> str:
        return " <-> ".join(d.label for d in self.members)

    def index(self, labels: np.ndarray) -> np.ndarray:
        """The domain of each row of (N, A) 0/1 labels (its position in `members`), -1 for none."""
        out = np.full(len(labels), -1, np.int64)
        for k, domain in enumerate(self.members):
            out[np.asarray(domain.holds(labels))] = k
        return out

    def target_names(self) -> tuple[str, ...]:
        """The single targets (LabelSpace.single_targets names) that move an image between the domains."""
        return tuple(dict.fromkeys(d.attribute for d in self.members))

    def rows(self, labels: np.ndarray) -> tuple[np.ndarray, ...]:
        """The row indices of each domain in a split's labels."""
        return tuple(np.flatnonzero(d.holds(labels)) for d in self.members)

    def direction(self, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(into B, into A): the rows whose target labels are in each domain; every row must be in one."""
        into_b, into_a = self.b.holds(target), self.a.holds(target)
        if not bool((into_a | into_b).all()):
            raise LabelError(
                f"this model translates {self.describe()}; the target is neither (name one of them with --to)"
            )
        return into_b, into_a

    def covers(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Rows whose source is in one domain and target in another: the pairs the model learnt."""
        if self.count == 2:
            return (self.a.holds(source) & self.b.holds(target)) | (
                self.b.holds(source) & self.a.holds(target)
            )
        covered = torch.zeros(len(source), dtype=torch.bool, device=source.device)
        for i, a in enumerate(self.members):
            for j, b in enumerate(self.members):
                if i != j:
                    covered |= a.holds(source) & b.holds(target)
        return covered


def _check_apart(spec, a: Domain, b: Domain) -> None:
    """Two domains no image can be in at once: two classes, two members of an exclusive group, or one
    attribute at 0 and at 1."""
    same_attribute = a.attribute == b.attribute and a.value != b.value
    group = spec.group_of(a.attribute)
    exclusive = (
        a.attribute != b.attribute
        and a.value == b.value == 1.0
        and (spec.kind == "single" or (group is not None and b.attribute in group))
    )
    if not (same_attribute or exclusive):
        raise ConfigError(
            f"model.domains {a.label} and {b.label} can hold the same image; name two classes, two "
            "hair colours of one group, or one attribute at 0 and 1 (e.g. Male=0,Male=1)"
        )


class TwoDomainTranslator:
    """What translates (models/spec.py) for any two-domain method: the target's domain picks the
    generator of each row (`generator` into B, `generator_b` into A). The source does not matter to the
    model (it reads as zeros); a target in neither domain is an error naming the two."""

    def __init__(self, networks: Mapping[str, Callable], label_space: LabelSpace, domains: Domains) -> None:
        self.into = {"b": networks["generator"], "a": networks.get("generator_b")}
        self.label_space, self.domains = label_space, domains

    @classmethod
    def for_model(
        cls, networks: Mapping[str, Callable], label_space: LabelSpace, config
    ) -> TwoDomainTranslator:
        """A ModelSpec's `translator`: the domains are the model config's `domains` in the label space."""
        return cls(networks, label_space, Domains.resolve(config.domains, label_space))

    def controls(self, dataset: int) -> list[dict]:
        """The serve page's control: a choice of direction (only into B for a one-way model)."""
        a, b = self.domains.a.label, self.domains.b.label
        options = [{"label": f"{a} \u2192 {b}", "to": b}]
        if self.into["a"] is not None:
            options.append({"label": f"{b} \u2192 {a}", "to": a})
        return [{"kind": "choice", "label": "direction", "options": options, "strength": False}]

    def translate(self, x: torch.Tensor, dataset: int, target: torch.Tensor) -> torch.Tensor:
        return self.route(x, target, lambda generator, rows: generator(rows))

    def attention(self, x: torch.Tensor, dataset: int, target: torch.Tensor) -> torch.Tensor | None:
        return None

    def route(self, x: torch.Tensor, target: torch.Tensor, run: Callable) -> torch.Tensor:
        """`run(generator, rows)` for the rows of x each generator translates, put back in x's order."""
        into_b, into_a = self.domains.direction(target.to(x.device))
        if bool(into_a.any()) and self.into["a"] is None:
            raise LabelError(
                f"this model has only the {self.domains.a.label} -> {self.domains.b.label} generator; "
                f"it cannot translate into {self.domains.a.label}"
            )
        if bool(into_b.all()):
            return run(self.into["b"], x)
        if bool(into_a.all()):
            return run(self.into["a"], x)
        to_b, to_a = run(self.into["b"], x[into_b]), run(self.into["a"], x[into_a])
        out = x.new_empty((len(x), *to_b.shape[1:]))
        out[into_b] = to_b.to(x.dtype)
        out[into_a] = to_a.to(x.dtype)
        return out

    def read_source(self, x: torch.Tensor, dataset: int) -> torch.Tensor | None:
        return x.new_zeros(x.shape[0], len(self.label_space.datasets[dataset].attributes))

    def targets(self, dataset: int) -> tuple[str, ...]:
        names = self.domains.target_names()
        return names if self.into["a"] is not None else names[-1:]  # one way: into B only

    def covers(self, dataset: int, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.into["a"] is None:
            return self.domains.a.holds(source) & self.domains.b.holds(target)
        return self.domains.covers(source, target)


def _image(config, label_space: LabelSpace, batch: int, gen: torch.Generator) -> tuple[torch.Tensor]:
    return (torch.rand(batch, 3, config.image_size, config.image_size, generator=gen) * 2 - 1,)


# the exported generators of a two-domain method: an image in, its translation out (ONNX names)
TWO_GENERATORS = {
    "generator": Signature(("image",), ("translated",), _image),
    "generator_b": Signature(("image",), ("translated",), _image),
}
