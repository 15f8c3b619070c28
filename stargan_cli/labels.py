"""The label space: every label vector in the toolkit is built here (docs/design.md, contract 1).

A label space is an ordered list of datasets. Each dataset has ordered attribute names and a kind:
"multi" (independent 0/1 attributes, e.g. CelebA, with optional mutually exclusive groups such as hair
colours) or "single" (exactly one class, e.g. RaFD expressions).

- classifier layout: every dataset's attributes concatenated (CelebA 5 + RaFD 8 = 13 logits).
- generator layout: the classifier layout, then a one-hot mask over datasets when there are several
  ([5 | 8 | 2] = 15 for CelebA + RaFD, the reference layout).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field

import torch

from .errors import LabelError

KINDS = ("multi", "single")


@dataclass(frozen=True)
class DatasetLabels:
    """The labels of one dataset."""

    name: str
    attributes: tuple[str, ...]
    kind: str = "multi"
    exclusive: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise LabelError(f"dataset {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if len(set(self.attributes)) != len(self.attributes) or not self.attributes:
            raise LabelError(f"dataset {self.name!r}: attribute names must be unique and non-empty")
        for group in self.exclusive:
            unknown = [a for a in group if a not in self.attributes]
            if unknown:
                raise LabelError(f"dataset {self.name!r}: exclusive group names unknown attributes {unknown}")

    def index(self, attribute: str) -> int:
        return self.attributes.index(attribute)

    def group_of(self, attribute: str) -> tuple[str, ...] | None:
        for group in self.exclusive:
            if attribute in group:
                return group
        return None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "attributes": list(self.attributes),
            "kind": self.kind,
            "exclusive": [list(g) for g in self.exclusive],
        }

    @classmethod
    def from_dict(cls, data: dict) -> DatasetLabels:
        return cls(
            name=data["name"],
            attributes=tuple(data["attributes"]),
            kind=data.get("kind", "multi"),
            exclusive=tuple(tuple(g) for g in data.get("exclusive", ())),
        )


@dataclass(frozen=True)
class Target:
    """One resolved `--to` token: set `attribute` of `dataset` to `value` (0..1)."""

    dataset: int
    attribute: str
    value: float


@dataclass(frozen=True)
class LabelSpace:
    datasets: tuple[DatasetLabels, ...]
    _offsets: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.datasets:
            raise LabelError("a label space needs at least one dataset")
        names = [d.name for d in self.datasets]
        if len(set(names)) != len(names):
            raise LabelError(f"dataset names must be unique, got {names}")
        offsets, total = [], 0
        for d in self.datasets:
            offsets.append(total)
            total += len(d.attributes)
        object.__setattr__(self, "_offsets", tuple(offsets))

    # ----- sizes and slices -------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        """Discriminator classifier outputs: all attributes, no mask."""
        return sum(len(d.attributes) for d in self.datasets)

    @property
    def mask_size(self) -> int:
        return len(self.datasets) if len(self.datasets) > 1 else 0

    @property
    def generator_dim(self) -> int:
        return self.num_classes + self.mask_size

    def slice(self, dataset: int) -> slice:
        """Where dataset `dataset`'s attributes live in the classifier (and generator) layout."""
        start = self._offsets[dataset]
        return slice(start, start + len(self.datasets[dataset].attributes))

    def dataset_index(self, name: str) -> int:
        for i, d in enumerate(self.datasets):
            if d.name == name:
                return i
        raise LabelError(f"unknown dataset {name!r}; this label space has {[d.name for d in self.datasets]}")

    # ----- vectors ----------------------------------------------------------------------------------
    def generator_label(self, dataset: int, labels: torch.Tensor) -> torch.Tensor:
        """(B, A_dataset) 0/1 labels of one dataset -> (B, generator_dim) with zeros elsewhere + mask."""
        out = labels.new_zeros(labels.shape[0], self.generator_dim)
        out[:, self.slice(dataset)] = labels
        if self.mask_size:
            out[:, self.num_classes + dataset] = 1
        return out

    def single_targets(self, dataset: int, source: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        """Every single-attribute target of a dataset, applied to (B, A) source labels.

        multi: for an attribute in an exclusive group, set it and clear the others of its group; for any
        other attribute, flip it. single: each class one-hot. Returns [(name, (B, A) target)].
        """
        spec = self.datasets[dataset]
        out = []
        for i, name in enumerate(spec.attributes):
            if spec.kind == "single":
                trg = torch.zeros_like(source)
                trg[:, i] = 1
            else:
                trg = source.clone()
                group = spec.group_of(name)
                if group is not None:
                    for other in group:
                        trg[:, spec.index(other)] = 0
                    trg[:, i] = 1
                else:
                    trg[:, i] = 1 - trg[:, i]
            out.append((name, trg))
        return out

    # ----- names ------------------------------------------------------------------------------------
    def all_names(self) -> list[str]:
        return [a for d in self.datasets for a in d.attributes]

    def resolve(self, token: str) -> tuple[int, str]:
        """Attribute name -> (dataset index, attribute): exact, then by a word of the name, then prefix."""
        wanted = token.strip().lower()
        candidates = [(i, a) for i, d in enumerate(self.datasets) for a in d.attributes]
        for rule in (
            lambda a: a.lower() == wanted,
            lambda a: wanted in a.lower().replace("-", "_").split("_"),
            lambda a: a.lower().startswith(wanted),
        ):
            hits = [(i, a) for i, a in candidates if rule(a)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise LabelError(
                    f"{token!r} is ambiguous: it matches {', '.join(a for _, a in hits)}; "
                    f"write one of them in full"
                )
        names = self.all_names()
        close = difflib.get_close_matches(token, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise LabelError(f"unknown attribute {token!r}.{hint} Valid names: {', '.join(names)}")

    def parse_targets(self, spec: str) -> list[Target]:
        """`blond,male=0,young=0.5` -> resolved targets, in the order given."""
        targets = []
        for raw in (t for t in spec.split(",") if t.strip()):
            name, _, value_text = raw.partition("=")
            dataset, attribute = self.resolve(name)
            value = 1.0
            if value_text.strip():
                try:
                    value = float(value_text)
                except ValueError:
                    raise LabelError(f"target {raw!r}: value must be a number from 0 to 1") from None
                if not 0.0 <= value <= 1.0:
                    raise LabelError(f"target {raw!r}: value must be between 0 and 1")
            if self.datasets[dataset].kind == "single" and value not in (0.0, 1.0):
                raise LabelError(f"target {raw!r}: {attribute} is a class of a single-label dataset; use 1")
            targets.append(Target(dataset, attribute, value))
        if not targets:
            raise LabelError(f"no targets given; valid names: {', '.join(self.all_names())}")
        seen: dict[tuple[int, str], float] = {}
        for t in targets:
            key = (t.dataset, t.attribute)
            if key in seen and seen[key] != t.value:
                raise LabelError(
                    f"{spec!r} sets {t.attribute} twice ({seen[key]:g} and {t.value:g}); name it once"
                )
            seen[key] = t.value
        for d, ds in enumerate(self.datasets):
            for group in ds.exclusive + ((ds.attributes,) if ds.kind == "single" else ()):
                full = [a for a in group if seen.get((d, a)) == 1.0]
                if len(full) > 1:
                    raise LabelError(
                        f"{spec!r} asks for {' and '.join(full)} at once, but an image has one of them; name one"
                    )
        return targets

    def apply_targets(self, dataset: int, source: torch.Tensor, targets: list[Target]) -> torch.Tensor:
        """Source labels (B, A) of one dataset + the targets of that dataset -> target labels (B, A).

        Attributes that are not named keep the source value; naming a member of an exclusive group clears
        the rest of its group (scaled by 1 - value for fractional targets); single-label datasets become
        one-hot on the named class.
        """
        spec = self.datasets[dataset]
        trg = source.clone().float()
        for t in (t for t in targets if t.dataset == dataset):
            i = spec.index(t.attribute)
            if spec.kind == "single":
                trg.zero_()
                trg[:, i] = 1
                continue
            group = spec.group_of(t.attribute)
            if group is not None and t.value > 0:
                for other in group:
                    trg[:, spec.index(other)] = trg[:, spec.index(other)] * (1 - t.value)
            trg[:, i] = t.value
        return trg

    # ----- serialisation ----------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"datasets": [d.to_dict() for d in self.datasets]}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LabelSpace:
        data = json.loads(text)
        return cls(tuple(DatasetLabels.from_dict(d) for d in data["datasets"]))

    def describe(self) -> str:
        parts = [f"{d.name}[{len(d.attributes)}]" for d in self.datasets]
        return " + ".join(parts) + (f" + mask[{self.mask_size}]" if self.mask_size else "")
