"""Human-activity recognition with a 1-D CNN: the ML-inference workload of the
research this project builds on (edge serverless benchmarks with the UCI "Human
Activity Recognition Using Smartphones" data: 128 time steps x 9 sensor
channels, 6 activities).

The network has the shape of the benchmarked model - four Conv1D(kernel 2,
"same" padding) + ReLU + MaxPool(2) blocks with 18, 36, 72 and 144 filters,
then one dense layer to 6 classes and a softmax - in plain Python, so the
template needs no packages. The weights are NOT trained: they are generated
once per process from a fixed seed, which gives the same compute and memory
profile as the real model (about 630k multiply-adds per window) and
deterministic answers, but not meaningful classifications.

Request: POST a JSON body {"window": [[9 numbers] x 128]}; without a body a
synthetic window is generated (query ?seed=N picks it). Response: the
predicted class, its label and the class probabilities.
"""

import json
import math
import operator
import random

STEPS = 128
CHANNELS = 9
FILTERS = (18, 36, 72, 144)
KERNEL = 2
LABELS = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING")
SEED = 20221


def _build_model():
    rng = random.Random(SEED)
    layers = []
    width = CHANNELS
    for filters in FILTERS:
        scale = math.sqrt(2.0 / (KERNEL * width))  # He initialisation
        kernels = [[rng.gauss(0.0, scale) for _ in range(KERNEL * width)] for _ in range(filters)]
        layers.append((kernels, [0.0] * filters))
        width = filters
    flat = (STEPS // 2 ** len(FILTERS)) * width
    scale = math.sqrt(1.0 / flat)
    dense = [[rng.gauss(0.0, scale) for _ in range(flat)] for _ in LABELS]
    return layers, dense


# Loaded once per process: the http-mode watchdog keeps this process warm.
MODEL = _build_model()


def _conv_relu_pool(x, kernels, bias):
    """x: list of time steps, each a list of channel values."""
    zeros = [0.0] * len(x[0])
    padded = x + [zeros] * (KERNEL - 1)
    out = []
    mul = operator.mul
    for t in range(len(x)):
        window = [v for step in padded[t:t + KERNEL] for v in step]
        out.append([max(0.0, sum(map(mul, window, k)) + b) for k, b in zip(kernels, bias)])
    return [[max(a, b) for a, b in zip(out[t], out[t + 1])] for t in range(0, len(out) - 1, 2)]


def predict(window):
    layers, dense = MODEL
    x = window
    for kernels, bias in layers:
        x = _conv_relu_pool(x, kernels, bias)
    flat = [v for step in x for v in step]
    logits = [sum(map(operator.mul, flat, w)) for w in dense]
    top = max(logits)
    exps = [math.exp(v - top) for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def synthetic_window(seed):
    rng = random.Random(seed)
    phases = [rng.uniform(0, 2 * math.pi) for _ in range(CHANNELS)]
    freqs = [rng.uniform(0.5, 3.0) for _ in range(CHANNELS)]
    return [
        [math.sin(2 * math.pi * freqs[c] * t / 50.0 + phases[c]) + rng.gauss(0, 0.1) for c in range(CHANNELS)]
        for t in range(STEPS)
    ]


def _parse_window(body):
    doc = json.loads(body)
    window = doc.get("window") if isinstance(doc, dict) else None
    if not isinstance(window, list) or len(window) != STEPS:
        raise ValueError("body must be {\"window\": [...]} with %d time steps" % STEPS)
    out = []
    for i, step in enumerate(window):
        if not isinstance(step, list) or len(step) != CHANNELS:
            raise ValueError("time step %d must be a list of %d numbers" % (i, CHANNELS))
        try:
            out.append([float(v) for v in step])
        except (TypeError, ValueError):
            raise ValueError("time step %d must hold numbers only" % i)
    return out


def handle(event, context):
    try:
        if event.body.strip():
            window = _parse_window(event.body)
            source = "request"
        else:
            seed = int(event.query.get("seed", "1"))
            window = synthetic_window(seed)
            source = "synthetic(seed=%d)" % seed
    except ValueError as err:
        return {"statusCode": 400, "body": "%s\n" % err, "headers": {"Content-Type": "text/plain"}}
    probabilities = predict(window)
    best = max(range(len(LABELS)), key=probabilities.__getitem__)
    return {
        "statusCode": 200,
        "body": {
            "class": best,
            "activity": LABELS[best],
            "probabilities": [round(p, 6) for p in probabilities],
            "input": source,
        },
    }
