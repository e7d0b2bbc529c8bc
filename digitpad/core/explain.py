"""Why does it say 7? One prediction explained as data (arrays and numbers, no Qt).

The Canvas tab's Explain panel and `digitpad explain` both draw an `Explanation`; this module is
the one place it is computed:

1. the preprocessing steps (ink as drawn, cropped, fitted into 20×20, centred in 28×28, normalized),
   the very arrays `preprocess.mnist_steps` made;
2. softmax step by step (logits → exp → sum → p) at any temperature, and for a chosen label the
   cross-entropy −log p[label] and its gradient on the logits, p − onehot(label);
3. what is inside the network, recorded by forward hooks during the one forward pass: softmax
   regression's evidence maps w_c ⊙ x, the MLP's hidden activations, the CNN's feature maps per
   block (with each map's 5×5 filter, batch norm folded in, for the patch arithmetic) and its
   dense activations;
4. saliency by gradient × input integrated from a blank field, from one backward pass (see `Saliency`
   for why, and why not occlusion).
"""

from __future__ import annotations

import copy
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
import torch
import torch.nn.functional as F
from torch import nn

from digitpad.core.checkpoints import ModelMeta, TrainedModel
from digitpad.core.inference import UNSURE_BELOW, Prediction, prediction_from_logits, with_not_digit_check
from digitpad.core.models import affine_map, only_affine_map
from digitpad.core.preprocess import PreprocessSteps, mnist_steps, stroke_steps
from digitpad.core.strokes import StrokeSet

THUMB_SIDE = 112  # the drawn and cropped steps are kept at most this big: they are shown, not computed on
# Integrated gradients' steps: enough for the map to sum to z(x) − z(blank) within ~10 % for every shipped
# model (fewer left the MLP's far off; docs/BENCHMARKS.md, "Explain panel").
IG_STEPS = 32
EXP_LIMIT = 80.0  # beyond ±80, exp(z/T) is shifted by max(z/T) so it stays finite (softmax is unchanged)


# --- 1. from drawing to input ----------------------------------------------------------------

def thumbnail(image: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    """Block-average a large array down to at most `side` px across."""
    k = math.ceil(max(image.shape) / side)
    if k <= 1:
        return image.astype(np.float32, copy=False)
    h, w = (image.shape[0] // k) * k, (image.shape[1] // k) * k
    if h == 0 or w == 0:  # a long thin stroke shorter than one block: keep every k-th pixel
        return np.ascontiguousarray(image[::k, ::k], dtype=np.float32)
    rows = image[:h, :w].reshape(h // k, k, w).sum(axis=1)  # rows first: contiguous, 2.5× faster than one mean
    return (rows.reshape(h // k, w // k, k).sum(axis=2) * (1.0 / (k * k))).astype(np.float32)


@dataclass(frozen=True)
class InputSteps:
    """The preprocessing as the panel's strip of images; drawn and cropped are display copies."""

    drawn: np.ndarray
    cropped: np.ndarray
    fitted: np.ndarray
    centred: np.ndarray
    normalized: np.ndarray
    drawn_size: tuple[int, int]  # (height, width) of the ink as drawn, before the display copy
    cropped_size: tuple[int, int]
    mean: float
    std: float


def input_steps(steps: PreprocessSteps | None, pixels: np.ndarray, mean: float, std: float) -> InputSteps:
    """The strip from preprocess's own steps; without them (a 28×28 field handed in) each step is the field."""
    normalized = ((pixels - mean) / std).astype(np.float32)
    if steps is None:
        return InputSteps(pixels, pixels, pixels, pixels, normalized, pixels.shape, pixels.shape, mean, std)
    return InputSteps(thumbnail(steps.ink), thumbnail(steps.cropped), steps.fitted, steps.pixels, normalized,
                      steps.ink.shape, steps.cropped.shape, mean, std)


# --- 2. softmax, step by step ----------------------------------------------------------------

@dataclass(frozen=True)
class SoftmaxSteps:
    """p = exp(z/T) / Σ exp(z/T), each stage kept so it can be shown with its numbers."""

    logits: np.ndarray
    temperature: float
    scaled: np.ndarray  # z / T
    shift: float  # subtracted from z/T before exp when it would overflow; 0 otherwise
    exps: np.ndarray  # exp(z/T − shift)
    total: float
    probabilities: np.ndarray


def softmax_steps(logits: np.ndarray, temperature: float = 1.0) -> SoftmaxSteps:
    """Softmax at temperature T. Dividing by T > 0 keeps the order of the logits, so never the argmax."""
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive number, got {temperature}")
    logits = np.asarray(logits, dtype=np.float64)
    scaled = logits / temperature
    top = float(scaled.max())
    shift = top if abs(top) > EXP_LIMIT else 0.0
    exps = np.exp(scaled - shift)
    total = float(exps.sum())
    return SoftmaxSteps(logits, temperature, scaled, shift, exps, total, exps / total)


@dataclass(frozen=True)
class LabelLoss:
    """"Suppose it is a …": the cross-entropy for that label and its gradient on the (scaled) logits."""

    label: int
    loss: float  # −log p[label]
    gradient: np.ndarray  # p − onehot(label) = ∂loss/∂(z/T)


def label_loss(softmax: SoftmaxSteps, label: int) -> LabelLoss:
    """Computed as log-sum-exp so that a probability that rounds to 0 still gives a finite loss."""
    if not 0 <= label < len(softmax.logits):
        raise ValueError(f"label must be 0…{len(softmax.logits) - 1}, got {label}")
    loss = math.log(softmax.total) - (softmax.scaled[label] - softmax.shift)
    gradient = softmax.probabilities.copy()
    gradient[label] -= 1.0
    return LabelLoss(label, float(loss), gradient)


# --- 3. inside the network -------------------------------------------------------------------

@dataclass(frozen=True)
class EvidenceMaps:
    """Softmax regression: logit_c = Σ (w_c ⊙ x) + b_c, with x the normalized input the model sees."""

    CAPTION: ClassVar[str] = ("Softmax regression: each logit is the sum of its evidence map w_c ⊙ x (x = the "
                              "normalized input) plus a bias; top class first.")
    maps: np.ndarray  # 10×28×28
    bias: np.ndarray  # 10

    @property
    def sums(self) -> np.ndarray:
        return self.maps.sum(axis=(1, 2)) + self.bias


@dataclass(frozen=True)
class DenseActivations:
    """One hidden layer's outputs after its ReLU."""

    CAPTION: ClassVar[str] = "Each hidden layer's activations after ReLU, 32 units a row, in order."
    name: str
    values: np.ndarray  # (units,)

    @property
    def active(self) -> int:
        return int((self.values > 0).sum())


@dataclass(frozen=True)
class ConvBlock:
    """One conv block (conv 5×5 → batch norm → max-pool 2 → ReLU) as it ran on this input.

    `filters` and `bias` have the batch norm folded in, so pre_pool = input ⋆ filters + bias exactly.
    """

    CAPTION: ClassVar[str] = ("The feature maps of each conv block (after max-pool + ReLU) for this drawing. "
                              "Click a map to see its filter.")
    name: str
    input: np.ndarray  # C_in×H×W, what the block received
    pre_pool: np.ndarray  # C×H'×W', convolution (+ batch norm)
    maps: np.ndarray  # C×H'/2×W'/2, after max-pool and ReLU: the block's output
    filters: np.ndarray  # C×C_in×k×k
    bias: np.ndarray  # C


Layer = EvidenceMaps | DenseActivations | ConvBlock


def captions(layers: tuple[Layer, ...]) -> list[str]:
    """What each kind of layer shown says about itself, once per kind, in the order they come."""
    return list(dict.fromkeys(layer.CAPTION for layer in layers))


@dataclass(frozen=True)
class UnitArithmetic:
    """One unit of a feature map, computed by hand: Σ patch × filter + bias → max-pool → ReLU."""

    channel: int
    row: int  # position in the block's output map
    col: int
    conv_row: int  # the position, before pooling, that the max-pool picked
    conv_col: int
    patch: np.ndarray  # C_in×k×k input patch under the filter
    filter: np.ndarray  # C_in×k×k
    bias: float
    dot: float  # Σ patch × filter
    pool_window: np.ndarray  # the 2×2 pre-pool values the max-pool chose from
    output: float  # max(window) after ReLU, = the map's value

    @property
    def pre_activation(self) -> float:
        return self.dot + self.bias


def unit_arithmetic(block: ConvBlock, channel: int, row: int | None = None, col: int | None = None) -> UnitArithmetic:
    """The arithmetic behind one value of a map; by default its strongest unit."""
    fmap = block.maps[channel]
    if row is None or col is None:
        row, col = (int(v) for v in np.unravel_index(int(fmap.argmax()), fmap.shape))
    window = block.pre_pool[channel, 2 * row:2 * row + 2, 2 * col:2 * col + 2]
    dr, dc = (int(v) for v in np.unravel_index(int(window.argmax()), window.shape))
    r, c = 2 * row + dr, 2 * col + dc
    k = block.filters.shape[-1]
    patch = block.input[:, r:r + k, c:c + k]
    weights = block.filters[channel]
    return UnitArithmetic(channel, row, col, r, c, patch, weights, float(block.bias[channel]),
                          float((patch.astype(np.float64) * weights).sum()), window.copy(),
                          max(float(window.max()), 0.0))


def strongest_on_ink(block: ConvBlock, channel: int) -> tuple[int, int] | None:
    """The strongest unit of a map whose input patch holds some ink (some input above the input's lowest value,
    which is the blank paper's): a student who clicks a map wants to see it answer to the drawing, while many a
    first-block map is strongest on the blank paper, where the patch is empty. None when no unit sees ink."""
    fmap, pre = block.maps[channel], block.pre_pool[channel]
    k = block.filters.shape[-1]
    inked = (block.input > block.input.min() + 1e-6).any(axis=0)
    patch_has_ink = sliding_window_view(inked, (k, k)).any(axis=(-2, -1))[:pre.shape[0], :pre.shape[1]]
    rows, cols = fmap.shape
    windows = pre[:2 * rows, :2 * cols].reshape(rows, 2, cols, 2).transpose(0, 2, 1, 3).reshape(rows, cols, 4)
    chosen = windows.argmax(axis=-1)  # where the max-pool took each unit from
    r = 2 * np.arange(rows)[:, None] + chosen // 2
    c = 2 * np.arange(cols)[None, :] + chosen % 2
    on_ink = patch_has_ink[r, c]
    if not on_ink.any():
        return None
    masked = np.where(on_ink, fmap, -np.inf)
    row, col = np.unravel_index(int(masked.argmax()), fmap.shape)
    return int(row), int(col)


_FOLDED: "weakref.WeakKeyDictionary[nn.Conv2d, tuple]" = weakref.WeakKeyDictionary()


def _fold_batch_norm(conv: nn.Conv2d, bn: nn.BatchNorm2d | None) -> tuple[np.ndarray, np.ndarray]:
    """conv then eval-mode batch norm as a single convolution: w·γ/σ, (b − μ)·γ/σ + β.

    Kept per layer until its tensors change (their version counters), since every stroke needs it.
    """
    tensors = [t for m in (conv, bn) if m is not None for t in m.state_dict(keep_vars=True).values()]
    key = (id(bn), tuple(t._version for t in tensors), tuple(t.data_ptr() for t in tensors))
    cached = _FOLDED.get(conv)
    if cached is None or cached[0] != key:
        cached = (key, _folded(conv, bn))
        _FOLDED[conv] = cached
    return cached[1]


def _folded(conv: nn.Conv2d, bn: nn.BatchNorm2d | None) -> tuple[np.ndarray, np.ndarray]:
    w = conv.weight.detach().double()
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
    if bn is not None:
        scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
        w = w * scale[:, None, None, None]
        b = (b - bn.running_mean.double()) * scale + bn.bias.detach().double()
    return w.float().numpy(), b.float().numpy()


@dataclass
class _Record:
    module: nn.Module
    input: torch.Tensor
    output: torch.Tensor


def _recording(model: nn.Module) -> tuple[list[_Record], list]:
    """Forward hooks on every leaf module, recording (module, input, output) of the first batch item."""
    records: list[_Record] = []

    def hook(module, inputs, output):
        records.append(_Record(module, inputs[0][0].detach(), output[0].detach()))
    leaves = [m for m in model.modules() if not list(m.children())]
    return records, [m.register_forward_hook(hook) for m in leaves]


def _layers(model: nn.Module, records: list[_Record]) -> tuple[Layer, ...]:
    """Read the recorded forward pass as the course draws it: conv blocks, hidden layers, evidence maps.

    What to draw comes from the layers themselves, not the model's name: a model that is one affine map
    (nn.Linear, or the course's X @ W + b) has evidence maps; every Linear followed by a ReLU is a hidden
    layer; every conv (+ batch norm) ended by a ReLU is a conv block.
    """
    affine = only_affine_map(model)
    if affine is not None:
        record = next(r for r in records if affine_map(r.module) is not None)
        weight, bias = (t.detach() for t in affine)
        x = record.input.reshape(-1)
        side = int(math.isqrt(x.numel()))
        maps = (weight * x).reshape(-1, side, side)
        return (EvidenceMaps(maps.numpy(), bias.numpy()),)
    layers: list[Layer] = []
    block: dict | None = None
    hidden = 0
    for i, rec in enumerate(records):
        mod = rec.module
        if isinstance(mod, nn.Conv2d):
            block = {"conv": mod, "input": rec.input, "pre_pool": rec.output, "bn": None}
        elif isinstance(mod, nn.BatchNorm2d) and block is not None:
            block.update(bn=mod, pre_pool=rec.output)
        elif isinstance(mod, nn.ReLU) and block is not None:
            filters, bias = _fold_batch_norm(block["conv"], block["bn"])
            n = len([x for x in layers if isinstance(x, ConvBlock)]) + 1
            layers.append(ConvBlock(f"conv block {n}: {filters.shape[0]} maps", block["input"].numpy(),
                                    block["pre_pool"].numpy(), rec.output.numpy(), filters, bias))
            block = None
        elif isinstance(mod, nn.ReLU) and i > 0 and isinstance(records[i - 1].module, nn.Linear):
            hidden += 1
            layers.append(DenseActivations(f"hidden layer {hidden}: {rec.output.numel()} units",
                                           rec.output.reshape(-1).numpy()))
    return tuple(layers)


# --- 4. which pixels mattered ----------------------------------------------------------------

@dataclass(frozen=True)
class Saliency:
    """Which pixels mattered, on the 28×28 pixels in [0, 1].

    top: gradient × input, the gradient averaged along the way from a blank field to the drawing
    (integrated gradients, IG_STEPS steps). Its sum is the top logit's rise over a blank field
    (z(x) − z(blank), within ~10 % at 32 steps), so red ink raised the score and blue ink lowered
    it. The plain gradient × input at the drawing alone came out half blue on the CNN's own ink (its positive share
    averaged −2 % over the ten plain digits, 67 % with 10 steps): it reads as "the 7's ink argues
    against 7". For softmax regression both equal the weight × pixel.
    runner_up: the plain gradient of (z_runner-up − z_top) at the drawing, not × input, so it also
    shows where ink that is *not* there would tip the answer: red = more ink here favours the runner-up.

    Why not occlusion: one forward pass per occluded patch (~170 for 4×4 patches at stride 2) and a
    blocky map; this is one batched forward and one backward pass.
    """

    top: np.ndarray
    runner_up: np.ndarray
    label: int  # the class `top` is for: the model's answer
    second: int  # the runner-up that `runner_up` is for


# --- the whole explanation ---------------------------------------------------------------------

@dataclass(frozen=True)
class Explanation:
    prediction: Prediction
    architecture: str  # the model's registered name (names.MODELS), for the caption: what to draw comes from `layers`
    class_names: tuple[str, ...]
    steps: InputSteps
    layers: tuple[Layer, ...]
    saliency: Saliency | None  # None until `with_saliency` adds it
    unsure_below: float = UNSURE_BELOW

    @property
    def label(self) -> int:
        return self.prediction.label

    @property
    def runner_up(self) -> int:
        return self.prediction.runner_up

    @property
    def unsure(self) -> bool:
        return self.prediction.unsure(self.unsure_below)

    def softmax(self, temperature: float = 1.0) -> SoftmaxSteps:
        return softmax_steps(np.asarray(self.prediction.logits), temperature)


def explain_pixels(trained: TrainedModel, pixels: np.ndarray, steps: PreprocessSteps | None = None,
                   unsure_below: float = UNSURE_BELOW, saliency: bool = True) -> Explanation:
    """Everything above from one forward pass of the drawing (hooks), then the saliency (`with_saliency`).

    saliency=False leaves `saliency` None: the Canvas tab paints the rest while a child process computes
    the saliency, the one costly part (IG_STEPS + 1 images forward and backward), with `saliency_of`.
    """
    meta = trained.meta
    field_ = torch.tensor(np.asarray(pixels, dtype=np.float32))
    records, handles = _recording(trained.model)
    try:
        with torch.no_grad():
            logits = trained.model(((field_ - meta.mean) / meta.std)[None, None])
    finally:
        for h in handles:
            h.remove()
    explanation = Explanation(with_not_digit_check(trained, prediction_from_logits(logits[0], pixels)), meta.architecture,
                              tuple(meta.class_names), input_steps(steps, pixels, meta.mean, meta.std),
                              _layers(trained.model, records), None, unsure_below)
    return with_saliency(trained, explanation) if saliency else explanation


def with_saliency(trained: TrainedModel, explanation: Explanation) -> Explanation:
    """The explanation with its `Saliency` (on this thread, with the model itself: the CLI's way)."""
    return replace(explanation, saliency=saliency_of(trained.model, trained.meta, explanation.prediction.pixels))


def private_copy(model: nn.Module) -> nn.Module:
    """The model as `saliency_of` runs it in the saliency process, while the GUI thread keeps using the original.

    A copy, so the Explain panel's forward hooks, which come and go on the shared model, are never pickled
    with it; take it on the thread that owns the model. Eval mode and no parameter gradients (the saliency
    needs the input's only), batch norm folded into its convolution, channels-last: the same function,
    ~20 % faster for the CNN.
    """
    clone = copy.deepcopy(model).eval()
    if isinstance(clone, nn.Sequential):
        layers = list(clone)
        for i, (conv, bn) in enumerate(zip(layers, layers[1:])):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                weight, bias = _folded(conv, bn)
                conv.weight, conv.bias = nn.Parameter(torch.from_numpy(weight)), nn.Parameter(torch.from_numpy(bias))
                clone[i + 1] = nn.Identity()
    for p in clone.parameters():
        p.requires_grad_(False)
    if any(isinstance(m, nn.Conv2d) for m in clone.modules()):
        clone = clone.to(memory_format=torch.channels_last)
    return clone


def _first_affine(model: nn.Module) -> tuple[Callable[[torch.Tensor, bool], torch.Tensor], nn.Module]:
    """The model's first layer, when it is affine (a convolution, or flatten + linear), and the rest of it.

    Returns f(t, with_bias) and the rest; any other model splits into the identity and the whole model.
    """
    layers = list(model) if isinstance(model, nn.Sequential) else []
    if layers and isinstance(layers[0], nn.Conv2d) and layers[0].padding_mode == "zeros":
        conv = layers[0]
        return (lambda t, bias: F.conv2d(t, conv.weight, conv.bias if bias else None, conv.stride, conv.padding,
                                         conv.dilation, conv.groups)), model[1:]
    if len(layers) > 1 and isinstance(layers[0], nn.Flatten) and isinstance(layers[1], nn.Linear):
        linear = layers[1]
        return (lambda t, bias: F.linear(t.flatten(1), linear.weight, linear.bias if bias else None)), model[2:]
    return (lambda t, bias: t), model


def saliency_of(model: nn.Module, meta: ModelMeta, pixels: np.ndarray) -> Saliency:
    """`Saliency` of the model's answer for these 28×28 pixels, from one batched forward and one backward.

    The batch is the drawing itself (item 0: its logits give the top class and the runner-up, and
    ∂(z_runner-up − z_top)) followed by IG_STEPS fainter copies α·x on the way from a blank field (∂z_top,
    summed). It needs only the pixels, so the saliency process starts on it before the GUI thread's own
    forward pass (`core/saliency_process.py`).

    The first layer is affine, so at α·x its output is α·first(x / σ, no bias) + first(blank): the fainter
    copies cost one image there, forward and backward (the CNN's saliency in 5.6 ms instead of 7.2).
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    field_ = torch.from_numpy(pixels)[None, None]
    drawing, path = field_.clone().requires_grad_(True), field_.clone().requires_grad_(True)
    first, rest = _first_affine(model)
    alphas = (torch.arange(IG_STEPS) + 0.5) / IG_STEPS
    with torch.enable_grad():
        along = first(path / meta.std, False)
        blank = first(torch.full_like(field_, -meta.mean / meta.std), True)
        alpha = alphas.view(-1, *[1] * (along.dim() - 1))
        logits = rest(torch.cat([first((drawing - meta.mean) / meta.std, True), alpha * along + blank]))
    top, second = (int(c) for c in torch.topk(logits[0].detach(), 2).indices)
    # ∂z(α·x)/∂x is α times the gradient at α·x: divided by α, the path's gradients are summed as they are.
    target = logits[0, second] - logits[0, top] + (logits[1:, top] / alphas).sum()
    g_drawing, g_path = torch.autograd.grad(target, [drawing, path])
    return Saliency((g_path[0, 0] / IG_STEPS).numpy() * pixels, g_drawing[0, 0].numpy().copy(), top, second)


def explain_steps(trained: TrainedModel, steps: PreprocessSteps | None, unsure_below: float = UNSURE_BELOW,
                  saliency: bool = True) -> Explanation | None:
    """None when there is no ink: nothing to explain."""
    return None if steps is None else explain_pixels(trained, steps.pixels, steps, unsure_below, saliency)


def explain_strokes(trained: TrainedModel, strokes: StrokeSet, unsure_below: float = UNSURE_BELOW,
                    saliency: bool = True) -> Explanation | None:
    return explain_steps(trained, stroke_steps(strokes), unsure_below, saliency)


def explain_image(trained: TrainedModel, image, unsure_below: float = UNSURE_BELOW) -> Explanation | None:
    return explain_steps(trained, mnist_steps(image), unsure_below)
