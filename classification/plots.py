"""Learning-curve and confusion-matrix figures (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_history(history_csv: str | Path, out_png: str | Path) -> None:
    rows = list(csv.DictReader(open(history_csv, newline="")))
    if not rows:
        return
    plt = _pyplot()
    epochs = np.arange(1, len(rows) + 1)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, key, title in zip(axes, ("loss", "age_acc", "gender_acc"), ("loss", "age-group accuracy", "gender accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = [float(r[prefix + key]) for r in rows if r.get(prefix + key) not in (None, "")]
            if values:
                ax.plot(epochs[: len(values)], values, style, label=("validation" if prefix else "training"))
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


def plot_confusion(matrix: np.ndarray, labels, out_png: str | Path, title: str) -> None:
    plt = _pyplot()
    norm = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)


def CurvesPlot(history_csv, out_png):
    """Keras callback that redraws the learning curves after every epoch."""
    from runtime import import_tensorflow
    keras = import_tensorflow().keras

    class _CurvesPlot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            try:
                plot_history(history_csv, out_png)
            except Exception as exc:  # a plot must never end a training run
                print(f"warning: could not draw curves: {exc}")

    return _CurvesPlot()
