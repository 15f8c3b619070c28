"""`stargan translate`: apply named attributes to the faces in photos with a trained generator.

Every face found (or `--face N`, or the whole centre square with `--no-detect`) is cut with the training
framing, translated in batches on the device, and pasted back into the full-resolution photo
(faces.py). Attributes the user does not name keep the source value, which the model reads from the
face where it can (StarGAN: the discriminator's classifier) or `--from` gives. Targets of several
datasets become several passes (StarGAN: each with its own mask).

`--native` translates each whole image at its own resolution instead (the generators are fully
convolutional): padded by reflection to the model's multiple (CycleGAN: 4) and cut back, one image at a
time, the way CycleGAN's users translate scenes; source attributes are read from its centre at model size.
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import checkpoint
from .accelerators import check_device, free_memory
from .checkpoint import model_file
from .console import progress, warn
from .errors import ImageError, LabelError, StarganError
from .faces import FaceDetector, Region, cut, paste
from .images import grid, heatmap_overlay, to_tensor, to_uint8
from .inference import sample_columns, translate
from .labels import LabelSpace, Target
from .models import spec
from .models.spec import Guide
from .photos import WRITABLE, InputFile, collect_inputs, declared_pixels, output_path, read_photo, write_photo

ATTENTION_SIDE = 512  # faces in --attention pictures are drawn at their size in the photo, at most this
NO_FACE = (  # what `frame` tells the command line's user to do when no face is found
    "pass --no-detect if it already is a face crop, or --native to translate the whole image (scenes, e.g. a "
    "CycleGAN model)"
)
HELD_PIXELS = 100_000_000  # photos read ahead, and photos waiting in a batch, each hold at most this many


def parse_source(label_space: LabelSpace, spec: str) -> dict[int, torch.Tensor]:
    """`--from black,male`: the named attributes are 1, every other attribute of their datasets 0."""
    vectors: dict[int, torch.Tensor] = {}
    for t in label_space.parse_targets(spec):
        vec = vectors.setdefault(t.dataset, torch.zeros(len(label_space.datasets[t.dataset].attributes)))
        vec[label_space.datasets[t.dataset].index(t.attribute)] = t.value
    return vectors


def suffix_of(spec: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", spec.replace(",", "_")).replace("=", "-").strip("_")


@dataclass(frozen=True)
class NativeLimits:
    """What a whole frame (`--native`, serve's whole-image framing) must be for the model: at most `pixels`
    (what fits in free memory; None: not estimated, for ONNX) and at least `smallest` px a side (padded to
    the model's multiple, the deepest feature map is then 2x2 at least: its instance norms and reflection
    padding need more than one pixel)."""

    pixels: int | None
    smallest: int

    def check(self, height: int, width: int, name: str) -> None:
        if min(height, width) < self.smallest:
            raise ImageError(
                f"{name} is {width}x{height}: too small to translate whole (--native); this model needs at "
                f"least {self.smallest} px a side"
            )
        if self.pixels is not None and height * width > self.pixels:
            fits = int(max(height, width) * (self.pixels / (height * width)) ** 0.5) // 100 * 100
            raise ImageError(
                f"{name} is {width}x{height}: translating it whole (--native) needs more memory than is "
                f"free here (room for about {self.pixels / 1e6:.1f} megapixels); pass --max-side "
                f"{max(fits, 100)} or translate its faces without --native"
            )


@dataclass
class LoadedModel:
    """A loaded model on a device, ready for photos: the method's translator and its image size."""

    model: spec.Translator
    label_space: LabelSpace
    image_size: int
    device: torch.device
    missing: tuple[str, ...] = ()  # the method's optional files that were not beside the entry file
    multiple: int = 1  # what a whole frame's sides are padded to (`--native`)
    resample: str = "lanczos"  # how faces are resized to the model: as its training images were
    networks: tuple = ()  # the loaded networks (for the memory estimate of --native)
    info: checkpoint.ModelInfo | None = None  # the entry file's metadata: method, step, config
    guides: tuple[str, ...] = ()  # what the method takes beside targets (models/spec.py GUIDES)

    @classmethod
    def load(cls, model: str | Path, device: str = "cpu") -> LoadedModel:
        """The entry file (generator.safetensors) and the method's other networks beside it (StarGAN:
        the discriminator, whose classifier reads source attributes). `.onnx` files run through
        onnxruntime."""
        loader = None
        if Path(model).suffix == ".onnx":
            from .onnx_models import load_onnx

            def loader(path, role):
                return load_onnx(model_file(path, role), role)

        networks, info = checkpoint.load_exported(model, loader=loader)
        networks = {name: net.to(device) for name, net in networks.items()}
        translator = info.method.model.translator(networks, info.label_space, info.config)
        suffix = Path(model).suffix if Path(model).suffix == ".onnx" else ".safetensors"
        missing = tuple(f"{n}{suffix}" for n in info.method.model.exported if n not in networks)
        multiple = info.method.model.multiple(info.config)
        resample = info.resize or "lanczos"
        return cls(
            translator,
            info.label_space,
            info.config.image_size,
            torch.device(device),
            missing,
            multiple,
            resample,
            tuple(networks.values()),
            info,
            info.method.model.guides,
        )

    def check_guides(self, reference: bool = False, seed: int | None = None, samples: int = 1) -> None:
        """Refuse, in one line, what the method does not take (a reference image, a seed, several samples)
        and what cannot go together; callers check before reading a reference photo."""
        method = self.info.architecture if self.info else "this"
        asked = [what for what, given in (("reference", reference), ("seed", seed is not None or samples != 1))
                 if given]  # fmt: skip
        for what in asked:
            if what not in self.guides:
                takes = " and ".join(self.guides) or "named targets only"
                raise LabelError(
                    f"a {method} model takes no {'reference image' if what == 'reference' else what} "
                    f"(it takes {takes}); StarGAN v2 models take a reference image or a seed"
                )
        if samples < 1:
            raise LabelError(f"samples must be at least 1, got {samples}")
        if reference and (samples != 1 or seed is not None):
            raise LabelError("a reference image gives one style; ask for samples or a seed without it")

    def guides_for(
        self, reference: torch.Tensor | None = None, seed: int | None = None, samples: int = 1
    ) -> list[Guide | None]:
        """One guide per output asked for: the reference's style, or samples 0..samples-1 of `seed` (0 when
        not given), or [None] for a method that takes neither (check_guides refuses the rest)."""
        self.check_guides(reference is not None, seed, samples)
        if reference is not None:
            return [Guide(reference=reference.to(self.device))]
        if not self.guides:
            return [None]
        return [Guide(seed=seed or 0, sample=k) for k in range(samples)]

    def reference_crop(
        self, photo: np.ndarray, name: str, detector: FaceDetector | None, no_face: str = NO_FACE
    ) -> tuple[torch.Tensor, Region]:
        """A reference photo framed as the inputs are (its first face, or the centre square without a
        detector): the (1, 3, S, S) crop on the device, and the region it took."""
        job = frame(photo, name, detector, self.image_size, None, self.resample, no_face=no_face)
        return to_tensor(job.crops[:1], self.device), job.regions[0]

    def sources(
        self, x: torch.Tensor, datasets: list[int], given: dict[int, torch.Tensor]
    ) -> dict[int, torch.Tensor]:
        out = {}
        for d in datasets:
            if d in given:
                out[d] = given[d].to(self.device).expand(x.shape[0], -1)
            elif (read := self.model.read_source(x, d)) is not None:
                out[d] = read
            elif self.label_space.datasets[d].kind == "single":
                out[d] = x.new_zeros(x.shape[0], len(self.label_space.datasets[d].attributes))
            else:
                why = f"no {', '.join(self.missing)} beside it" if self.missing else "it has no classifier"
                raise LabelError(
                    f"this model cannot read the source attributes of a face ({why}); give them with --from "
                    "(e.g. --from black,male)"
                )
        return out

    @torch.no_grad()
    def apply(
        self,
        x: torch.Tensor,
        targets: list[Target],
        given: dict[int, torch.Tensor],
        probe: torch.Tensor | None = None,
        guide: Guide | None = None,
    ) -> torch.Tensor:
        """Translate x; source attributes are read from `probe` (the same images at the model's size) when
        x is a whole frame at another size; `guide` for a method that takes one (guides_for)."""
        order = list(dict.fromkeys(t.dataset for t in targets))  # datasets in the order of --to
        sources = self.sources(x if probe is None else probe, order, given)
        return translate(self.model, x, self._passes(targets, sources), guide)

    def _passes(
        self, targets: list[Target], sources: dict[int, torch.Tensor]
    ) -> list[tuple[int, torch.Tensor]]:
        """One (dataset, target labels) pass per dataset of the targets, in the order of --to."""
        order = dict.fromkeys(t.dataset for t in targets)
        return [(d, self.label_space.apply_targets(d, sources[d], targets)) for d in order]

    def _probe_passes(
        self, targets: list[Target], side: int
    ) -> tuple[torch.Tensor, list[tuple[int, torch.Tensor]]]:
        """A zero image of `side` px and the targets' passes from all-zero sources: what the model does,
        without a face to read sources from."""
        probe = torch.zeros(1, 3, side, side, device=self.device)
        zeros = {
            t.dataset: probe.new_zeros(1, len(self.label_space.datasets[t.dataset].attributes))
            for t in targets
        }
        return probe, self._passes(targets, zeros)

    def has_attention(self, targets: list[Target]) -> bool:
        """Whether the model gives attention maps (U-GAT-IT's PyTorch generators do)."""
        probe, passes = self._probe_passes(targets, self.image_size)
        dataset, target = passes[0]
        return self.model.attention(probe, dataset, target) is not None

    @torch.no_grad()
    def attention(
        self,
        x: torch.Tensor,
        targets: list[Target],
        given: dict[int, torch.Tensor],
        over: torch.Tensor | None = None,
    ) -> torch.Tensor | None:
        """The attention map of x's translation (the first dataset's pass) laid over `over` (the same
        images at another resolution; default x itself), or None for models without maps."""
        d = targets[0].dataset
        sources = self.sources(x, [d], given)
        heat = self.model.attention(x, d, self.label_space.apply_targets(d, sources[d], targets))
        return None if heat is None else heatmap_overlay(x if over is None else over, heat)

    @torch.no_grad()
    def whole_frame(
        self,
        photo: np.ndarray,
        probe: np.ndarray,
        targets: list[Target],
        given: dict[int, torch.Tensor],
        guide: Guide | None = None,
    ) -> np.ndarray:
        """`--native`: the whole (H, W, 3) photo at its own resolution, padded by reflection to the model's
        multiple and cut back; sources read from `probe` (its centre at the model's size)."""
        x = to_tensor(photo[None], self.device)
        height, width = photo.shape[:2]
        pad_h, pad_w = -height % self.multiple, -width % self.multiple
        if pad_h or pad_w:
            mode = "reflect" if pad_h < height and pad_w < width else "replicate"
            x = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        y = self.apply(x, targets, given, probe=to_tensor(probe, self.device), guide=guide)
        return to_uint8(y[..., :height, :width])[0]

    @torch.no_grad()
    def native_pixels(self, targets: list[Target]) -> int | None:
        """How many pixels one `--native` frame may have in the memory free on the device now. The targets'
        passes over a small probe frame, with every layer's output size recorded, give the bytes per pixel:
        the largest output times 4 (its input, itself, a skip connection and a normalisation's temporary
        are alive at once; the measured peak of a large frame is in benchmarks/RESULTS.md). The probe frame
        is the model's own size. None for networks that are not PyTorch modules (ONNX), which manage
        their own memory."""
        modules = [m for net in self.networks if isinstance(net, torch.nn.Module) for m in net.modules()]
        if not modules:
            return None
        largest = 0

        def record(_module, _inputs, output) -> None:
            nonlocal largest
            if isinstance(output, torch.Tensor):
                largest = max(largest, output.numel() * output.element_size())

        side = self.image_size  # the one frame every generator takes (the full U-GAT-IT takes no other)
        probe, passes = self._probe_passes(targets, side)
        hooks = [m.register_forward_hook(record) for m in modules]
        try:
            translate(self.model, probe, passes)
        finally:
            for hook in hooks:
                hook.remove()
        return int(free_memory(self.device) * side * side / (4 * largest))

    def native_limits(self, targets: list[Target]) -> NativeLimits:
        return NativeLimits(self.native_pixels(targets), self.multiple + 1)

    @torch.no_grad()
    def grid(self, x: torch.Tensor, given: dict[int, torch.Tensor], attention: bool = False) -> np.ndarray:
        known = {d: v.to(self.device).expand(x.shape[0], -1) for d, v in given.items()}
        columns = sample_columns(self.model, x, known, attention)
        return grid([x] + [images for _, images in columns])


@dataclass
class Job:
    """One input photo in flight: its faces' regions and their model-size crops."""

    item: InputFile | None  # None for a photo that is not a file (`stargan serve`'s uploads)
    photo: np.ndarray
    regions: list[Region]
    crops: np.ndarray  # (faces, size, size, 3) uint8


@dataclass
class TranslateResult:
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    faces: int = 0
    inputs: int = 0


@dataclass
class Options:
    targets: list[Target]
    given: dict[int, torch.Tensor]
    tag: str  # the targets as they appear in output names
    grid: bool = False
    detect: bool = True
    face: int | None = None  # 1-based, left to right
    native: bool = False  # whole frames at their own resolution
    attention: bool = False  # also write where the generator looked (U-GAT-IT's CAM heatmap)
    out: str | None = None
    fmt: str | None = None
    inputs: set[Path] = field(default_factory=set)  # resolved input paths, never overwritten
    # one output per (name suffix, guide): [("", None)] for a method without guides; `--samples 3 --seed 7`
    # gives ("_seed7-0", sample 0 of seed 7), ... and `--ref r.jpg` ("_ref-r", its style)
    outputs: list[tuple[str, Guide | None]] = field(default_factory=lambda: [("", None)])

    def tags(self) -> list[tuple[str, Guide | None]]:
        """(the tag of each output's name, its guide)."""
        return [(self.tag + suffix, guide) for suffix, guide in self.outputs]


def _load(
    item: InputFile,
    detector: FaceDetector | None,
    size: int,
    face: int | None,
    resample: str = "lanczos",
    max_side: int | None = None,
    native: NativeLimits | None = None,
) -> Job:
    photo = read_photo(item.path, max_side=max_side)
    return frame(photo, str(item.path), detector, size, face, resample, native, item)


def frame(
    photo: np.ndarray,
    name: str,
    detector: FaceDetector | None,
    size: int,
    face: int | None = None,
    resample: str = "lanczos",
    native: NativeLimits | None = None,
    item: InputFile | None = None,
    no_face: str = NO_FACE,
) -> Job:
    """A photo's faces (or its centre square, without a detector) cut at the model's size; `name` is how
    errors call the photo. Refuses a photo with no face (saying `no_face`: what to do instead), and a
    whole frame outside the model's `native` limits."""
    if native is not None:
        native.check(*photo.shape[:2], name)
    if detector is None:
        regions = [Region.centre(*photo.shape[:2])]
    else:
        regions = detector(photo)
        if not regions:
            raise ImageError(f"no face found in {name}; {no_face}")
        if face is not None:
            if face > len(regions):
                raise ImageError(f"{name} has {len(regions)} face(s) found; --face {face} is not one of them")
            regions = [regions[face - 1]]
    return Job(item, photo, regions, np.stack([cut(photo, r, size, resample) for r in regions]))


def _jobs(items: list[InputFile], load, result: TranslateResult, ahead: int) -> Iterator[Job | None]:
    """Read and detect in a background thread, up to `ahead` photos in advance and no more than
    HELD_PIXELS of them (as their headers declare; always at least one). With several inputs a failure is
    warned about, recorded in `result.skipped` and yielded as None; a single input's failure raises."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: deque = deque()  # (item, its declared pixels, future)
        queue = deque(items)
        while queue or pending:
            while queue and len(pending) < ahead:
                pixels = declared_pixels(queue[0].path)
                if pending and sum(p for _, p, _ in pending) + pixels > HELD_PIXELS:
                    break
                item = queue.popleft()
                pending.append((item, pixels, pool.submit(load, item)))
            item, _, future = pending.popleft()
            try:
                yield future.result()
            except StarganError as exc:
                if len(items) == 1:
                    raise
                warn(str(exc))
                result.skipped.append((item.path, str(exc)))
                yield None


def _finish(
    job: Job,
    translations: list[np.ndarray],
    translator: LoadedModel,
    options: Options,
    result: TranslateResult,
) -> None:
    """Paste a photo's translated faces back and write it, once per output of options.tags() (each from
    its own translations of the faces), and its grid."""
    outputs: list[tuple[Path, np.ndarray]] = []
    if options.attention and options.targets:  # the faces (or the whole frame) with the map laid over them
        if options.native:
            overlay = translator.attention(
                to_tensor(job.photo[None], translator.device), options.targets, options.given
            )
        else:  # each face at its size in the photo (at most ATTENTION_SIDE), the map from its model-size crop
            side = min(ATTENTION_SIDE, max(r.side for r in job.regions))
            faces = np.stack([cut(job.photo, r, side, translator.resample) for r in job.regions])
            x, over = (to_tensor(a, translator.device) for a in (job.crops, faces))
            overlay = translator.attention(x, options.targets, options.given, over)
        outputs.append((_attention_path(job.item, options), np.concatenate(list(to_uint8(overlay)), axis=1)))
    if options.targets:
        tags = options.tags()
        for (tag, guide), translated in zip(tags, translations, strict=True):
            into = job if len(tags) == 1 else dataclasses.replace(job, photo=job.photo.copy())
            photo = result_photo(into, translated, translator, options, guide)
            outputs.append((output_path(job.item, options.out, tag, options.fmt), photo))
    if options.grid:
        x = to_tensor(job.crops, translator.device)
        picture = translator.grid(x, options.given, options.attention)
        outputs.append((output_path(job.item, options.out, "grid", "png"), picture))
    for path, image in outputs:
        if path.resolve() in options.inputs:
            raise ImageError(f"refusing to overwrite the input {path}; choose another --out")
        result.written.append(write_photo(image, path))


def translate_crops(
    translator: LoadedModel, crops: np.ndarray, options: Options, guide: Guide | None = None
) -> np.ndarray:
    """(N, size, size, 3) uint8 faces -> their translations, uint8; `--native` translates whole frames
    later (result_photo), so the crops pass through."""
    if not options.targets or options.native:
        return crops
    x = to_tensor(crops, translator.device)
    return to_uint8(translator.apply(x, options.targets, options.given, guide=guide))


def result_photo(
    job: Job, translated: np.ndarray, translator: LoadedModel, options: Options, guide: Guide | None = None
) -> np.ndarray:
    """The photo the user gets: the whole frame translated (`--native`), the translated faces pasted back
    into the photo itself (the crops are cut; nothing reads it after this), or the centre square at the
    input's resolution with the generator's change added (`--no-detect`)."""
    if options.native:
        return translator.whole_frame(job.photo, job.crops, options.targets, options.given, guide)
    if options.detect:
        for region, before, after in zip(job.regions, job.crops, translated, strict=True):
            paste(job.photo, region, before, after)
        return job.photo
    region = job.regions[0]
    photo = cut(job.photo, region, region.side)
    paste(photo, Region(0, 0, region.side), job.crops[0], translated[0], feather=0.0)
    return photo


def translate_photo(
    translator: LoadedModel,
    photo: np.ndarray,
    name: str,
    options: Options,
    detector: FaceDetector | None,
    no_face: str = NO_FACE,
) -> tuple[Job, np.ndarray]:
    """One photo through the command line's own steps (frame, translate_crops, result_photo), for the
    front ends that take a photo at a time (the Python API, serve): its job (the faces found) and the photo
    to give back. `photo` is changed in place (the faces are pasted into it)."""
    limits = translator.native_limits(options.targets) if options.native else None
    detector = detector if options.detect else None
    job = frame(
        photo, name, detector, translator.image_size, None, translator.resample, limits, no_face=no_face
    )
    (_, guide), *more = options.tags()
    if more:
        raise LabelError("one photo gives one output here; ask for several samples from the command line")
    translated = translate_crops(translator, job.crops, options, guide)
    return job, result_photo(job, translated, translator, options, guide)


def _guide_suffix(guide: Guide | None, reference: str | None, seed: int | None, samples: int) -> str:
    """What an output's name adds for its guide: "_ref-<the reference's name>", "_seed<N>-<sample>" (when a
    seed or several samples were asked for), else nothing."""
    if guide is None:
        return ""
    if guide.reference is not None:
        return f"_ref-{suffix_of(Path(reference or 'reference').stem)}"
    return f"_seed{guide.seed}-{guide.sample}" if seed is not None or samples > 1 else ""


def _attention_path(item: InputFile, options: Options) -> Path:
    return output_path(item, options.out, f"{options.tag}_attention", "png")


def _outputs_of(item: InputFile, options: Options) -> list[Path]:
    tags = [tag for tag, _ in options.tags()] if options.targets else []
    outputs = [output_path(item, options.out, tag, options.fmt) for tag in tags]
    outputs += [_attention_path(item, options)] if options.attention and options.targets else []
    return outputs + ([output_path(item, options.out, "grid", "png")] if options.grid else [])


def _plan_outputs(items: list[InputFile], options: Options, result: TranslateResult) -> list[InputFile]:
    """Before anything is written: two inputs that would write one file are refused (neither would be
    safe); an input whose output would overwrite another input is skipped with a warning, the rest go on."""
    owner: dict[Path, InputFile] = {}
    for item in items:
        for path in _outputs_of(item, options):
            other = owner.setdefault(path.resolve(), item)
            if other is not item:
                raise ImageError(
                    f"{other.path} and {item.path} would both be written to {path}; translate them into "
                    "different --out folders or rename one"
                )
    kept = []
    for item in items:
        clash = next((p for p in _outputs_of(item, options) if p.resolve() in options.inputs), None)
        if clash is not None:
            reason = f"{item.path}: its output {clash} is one of the inputs; skipped (choose another --out)"
            warn(reason)
            result.skipped.append((item.path, reason))
        else:
            kept.append(item)
    return kept


def run(
    inputs: list[str],
    model: str,
    to: str | None,
    out: str | None = None,
    grid_: bool = False,
    source: str | None = None,
    batch_size: int = 16,
    device: str = "cpu",
    detect: bool = True,
    face: int | None = None,
    pattern: str | None = None,
    fmt: str | None = None,
    native: bool = False,
    max_side: int | None = None,
    attention: bool = False,
    reference: str | None = None,
    seed: int | None = None,
    samples: int = 1,
) -> TranslateResult:
    """Translate every face of every input; returns what was written and what was skipped (and why).
    `native`: each whole image at its own resolution instead (no face detection). `max_side`: inputs
    larger than this (longest side) are scaled down first. For a method that takes them (StarGAN v2):
    `reference`, a photo whose (first) face's style every output takes, framed as the inputs are; or
    `samples` outputs of sampled styles from `seed`."""
    if not to and not grid_:
        raise LabelError("say what to change with --to (e.g. --to blond,male=0) or ask for --grid")
    if native and (grid_ or not to):
        raise LabelError("--native translates whole images to --to targets; --grid works on model-size crops")
    if native and face is not None:
        raise LabelError("--native translates whole images; --face picks a detected face: use one of them")
    detect = detect and not native
    if fmt and f".{fmt.lower().lstrip('.')}" not in WRITABLE:
        raise ImageError(f"--format {fmt}: choose one of png, jpg, webp")
    if face is not None and (face < 1 or not detect):
        raise LabelError("--face N counts detected faces from 1 (left to right) and needs face detection")
    if batch_size < 1:
        raise LabelError(f"--batch-size must be at least 1, got {batch_size}")
    if max_side is not None and max_side < 16:
        raise ImageError(f"--max-side must be at least 16 pixels, got {max_side}")
    translator = LoadedModel.load(model, check_device(device))
    translator.check_guides(reference is not None, seed, samples)  # before a reference photo is read
    detector = FaceDetector() if detect else None
    crop = None
    if reference is not None:
        crop, _ = translator.reference_crop(
            read_photo(Path(reference), max_side=max_side), reference, detector
        )
    guides = translator.guides_for(crop, seed, samples)
    options = Options(
        targets=translator.label_space.parse_targets(to) if to else [],
        given=parse_source(translator.label_space, source) if source else {},
        tag=suffix_of(to) if to else "",
        grid=grid_,
        detect=detect,
        face=face,
        native=native,
        attention=attention,
        out=out,
        fmt=fmt,
        outputs=[(_guide_suffix(g, reference, seed, samples), g) for g in guides],
    )
    if attention:
        space = translator.label_space
        if not translator.has_attention(
            options.targets or space.parse_targets(translator.model.targets(0)[0])
        ):
            raise LabelError(
                "--attention: this model has no attention maps (U-GAT-IT models have; StarGAN and CycleGAN "
                "do not), or it is an ONNX file, which holds only the translation"
            )
    items = collect_inputs(inputs, pattern)
    options.inputs = {i.path.resolve() for i in items}
    result = TranslateResult(inputs=len(items))
    items = _plan_outputs(items, options, result)
    size = translator.image_size
    limits = translator.native_limits(options.targets) if native else None

    def flush(batch: list[Job]) -> None:
        crops = np.concatenate([job.crops for job in batch])
        translations = [translate_crops(translator, crops, options, guide) for _, guide in options.tags()]
        start = 0
        for job in batch:
            count = len(job.crops)
            _finish(job, [t[start : start + count] for t in translations], translator, options, result)
            result.faces += count
            start += count
            bar.advance(task)
        batch.clear()

    with progress() as bar:
        task = bar.add_task("translate", total=len(items))
        batch: list[Job] = []

        def load(item: InputFile) -> Job:
            return _load(item, detector, size, face, translator.resample, max_side, limits)

        for job in _jobs(items, load, result, ahead=2 * batch_size):
            if job is None:
                bar.advance(task)
                continue
            batch.append(job)
            held = sum(j.photo.shape[0] * j.photo.shape[1] for j in batch)
            if sum(len(j.crops) for j in batch) >= batch_size or held >= HELD_PIXELS:
                flush(batch)
        if batch:
            flush(batch)
    return result
