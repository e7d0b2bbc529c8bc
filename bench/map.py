"""The map of the digits: how long a map of 5,000 MNIST test images takes per shipped model (features,
PCA, the 5-NN score), placing one drawing on it, and — the baseline the issue set, ≤ 10 s — t-SNE with
openTSNE on the same features when openTSNE is installed (it is not a dependency: it was measured too
slow here; `pip install openTSNE` to measure it again).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, section  # noqa: E402

from digitpad.core import projection  # noqa: E402
from digitpad.core.checkpoints import ASSETS_DIR, load_checkpoint  # noqa: E402
from digitpad.core.datasets import load_dataset  # noqa: E402
from digitpad.core.devices import keep_this_thread_serial, train_on_all_cores  # noqa: E402

POINTS = 5000
MODELS = ("mnist-softmax", "mnist-mlp", "mnist-cnn")


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def tsne_seconds(features) -> tuple[float, float] | None:
    """openTSNE (FFT gradients, both cores, PCA initialisation) on the same features: seconds and 5-NN score."""
    if importlib.util.find_spec("openTSNE") is None:
        return None
    from openTSNE import TSNE

    layout, seconds = timed(lambda f: TSNE(n_components=2, perplexity=30, initialization="pca", n_jobs=2,
                                           random_state=0, negative_gradient_method="fft").fit(f), features.numpy())
    return seconds, layout


def main() -> str:
    test = load_dataset("mnist").test
    labels = test.labels[:POINTS].numpy()
    rows = []
    for name in MODELS:
        trained = load_checkpoint(ASSETS_DIR / f"{name}.pt")
        keep_this_thread_serial()  # as build_map runs (one core: see projection.build_map)
        (features, _), t_features = timed(projection.image_features, trained, test.images[:POINTS])
        pca, t_pca = timed(projection.fit_pca, features)
        positions = pca.place(features)
        score, t_knn = timed(projection.knn_accuracy, positions, labels)
        pixels = test.images[0].numpy() / 255
        place_ms = median([timed(lambda: pca.place(projection.pixel_features(trained, pixels)))[1] * 1000
                           for _ in range(30)])
        train_on_all_cores()  # openTSNE's own threads aside, torch's part of the baseline on both cores
        tsne = tsne_seconds(features)
        tsne_text = "openTSNE not installed" if tsne is None else (
            f"{tsne[0]:.1f} s, 5-NN {projection.knn_accuracy(tsne[1], labels):.1%}")
        rows.append([name, features.shape[1], f"{t_features:.2f}", f"{t_pca:.3f}", f"{t_knn:.2f}",
                     f"{t_features + t_pca + t_knn:.2f}", f"{score:.1%}", f"{place_ms:.2f}", tsne_text])
    load = os.getloadavg()
    return section(f"Map of the digits: {POINTS:,} MNIST test images per shipped model (load average at the end: "
                   f"{load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f})",
                   ["model", "features", "features s", "PCA s", "5-NN score s", "map total s", "5-NN accuracy (PCA)",
                    "placing a drawing ms", "t-SNE (baseline, goal ≤ 10 s)"], rows,
                   "One core for the map, as the app and `digitpad map` compute it; placing a drawing: its features "
                   "and PCA's formula, as on the GUI thread (median of 30).")


if __name__ == "__main__":
    main()
