"""Iris: the steps of the classic "orchestrate a data science project" article, as plain functions.

The data-engineering flow reads iris.csv, finds the classes and encodes the
species column as numbers; the encoded table is its output (and is saved to
outputs/iris_encoded.csv). The data-science flow runs data-engineering as its
first node (a flow of flows), splits the table into train and test rows,
trains a softmax regression, predicts and reports the accuracy.

Nothing here imports Plait: these are ordinary typed functions, and
`plait export data-science --to py` turns a flow of them into an ordinary script.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

TARGET = "species"


def get_classes(data: pd.DataFrame, target: str = TARGET) -> list[str]:
    """The classes to predict: the distinct values of the target column, sorted."""
    return sorted(str(value) for value in data[target].unique())


def encode_target(data: pd.DataFrame, classes: list[str], target: str = TARGET) -> pd.DataFrame:
    """Replace each class name in the target column by its position in `classes`."""
    unknown = sorted(set(data[target]) - set(classes))
    if unknown:
        raise ValueError(f"column {target!r} has values that are not classes: {unknown}")
    encoded = data.copy()
    encoded[target] = data[target].map({name: index for index, name in enumerate(classes)})
    return encoded


class Split(NamedTuple):
    """Features (X) and encoded classes (y) of the train and test rows."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def split_data(data: pd.DataFrame, test_data_ratio: float = 0.2, target: str = TARGET,
               seed: int = 0) -> Split:
    """Shuffle the rows and hold out `test_data_ratio` of them for testing.

    Args:
        data: The encoded table: numeric features and the target column.
        test_data_ratio: The share of rows kept for testing, between 0 and 1.
        target: The column to predict.
        seed: Seed of the shuffle, so a run can be repeated exactly.
    """
    import numpy as np

    if not 0 < test_data_ratio < 1:
        raise ValueError(f"test_data_ratio must be between 0 and 1, got {test_data_ratio}")
    features = data.drop(columns=[target]).to_numpy(dtype=float)
    labels = data[target].to_numpy(dtype=int)
    order = np.random.default_rng(seed).permutation(len(labels))
    held_out = max(1, round(len(labels) * test_data_ratio))
    test, train = order[:held_out], order[held_out:]
    return Split(features[train], features[test], labels[train], labels[test])


class Training(NamedTuple):
    """The fitted model and its loss after each step."""

    model: dict
    losses: list[float]


def train_model(X_train: np.ndarray, y_train: np.ndarray, num_train_iter: int = 500,
                learning_rate: float = 0.5) -> Training:
    """Fit a softmax (multinomial logistic) regression by gradient descent.

    Args:
        X_train: Features of the training rows.
        y_train: Classes of the training rows, as numbers from 0.
        num_train_iter: Gradient steps to take.
        learning_rate: Size of each step.
    """
    import numpy as np

    mean, scale = X_train.mean(axis=0), X_train.std(axis=0) + 1e-9
    x = (X_train - mean) / scale  # standardised, so one learning rate suits every feature
    classes = int(y_train.max()) + 1
    truth = np.eye(classes)[y_train]
    weights, bias = np.zeros((x.shape[1], classes)), np.zeros(classes)
    losses = []
    for _ in range(num_train_iter):
        logits = x @ weights + bias
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        losses.append(float(-np.mean(np.sum(truth * np.log(probabilities + 1e-12), axis=1))))
        gradient = (probabilities - truth) / len(x)
        weights -= learning_rate * x.T @ gradient
        bias -= learning_rate * gradient.sum(axis=0)
    model = {"weights": weights, "bias": bias, "mean": mean, "scale": scale}
    return Training(model, losses)


def predict(model: dict, X_test: np.ndarray) -> np.ndarray:
    """The most likely class of each test row."""
    x = (X_test - model["mean"]) / model["scale"]
    return (x @ model["weights"] + model["bias"]).argmax(axis=1)


def accuracy(predictions: np.ndarray, y_test: np.ndarray) -> float:
    """The share of test rows predicted right; also printed, so it shows in the run's log."""
    correct = int((predictions == y_test).sum())
    share = correct / len(y_test)
    print(f"Accuracy: {share:.2%} ({correct} of {len(y_test)} test flowers)")
    return share
