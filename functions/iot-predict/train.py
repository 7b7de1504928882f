"""Train the iot-predict model (standard library only; deterministic).

Logistic regression predicting an industrial machine failure within the next
hour from five sensor readings, the kind of IoT prediction function the edge
serverless research evaluates. The data is synthetic: readings drawn around
normal operating points, and failures drawn from a known logistic rule plus
noise, so the fitted weights can be checked against that rule.

    python3 functions/iot-predict/train.py > functions/iot-predict/model.json
"""
import json
import math
import random

FEATURES = ["temperature_c", "vibration_mm_s", "pressure_bar", "humidity_pct", "rpm"]
CENTRE = [70.0, 3.0, 5.0, 45.0, 1500.0]
SPREAD = [12.0, 1.5, 1.0, 15.0, 300.0]
# The rule the data comes from (per standardized unit): heat and vibration
# dominate, pressure matters a little, humidity not at all, high rpm a bit.
TRUE_W = [1.6, 2.2, -0.6, 0.0, 0.7]
TRUE_B = -2.5


def sigmoid(z):
    if z < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def main():
    rng = random.Random(42)
    rows, labels = [], []
    for _ in range(4000):
        x = [rng.gauss(c, s) for c, s in zip(CENTRE, SPREAD)]
        z = sum(w * (v - c) / s for w, v, c, s in zip(TRUE_W, x, CENTRE, SPREAD)) + TRUE_B + rng.gauss(0, 0.5)
        rows.append(x)
        labels.append(1 if rng.random() < sigmoid(z) else 0)
    n = len(rows)
    mean = [sum(r[j] for r in rows) / n for j in range(len(FEATURES))]
    std = [math.sqrt(sum((r[j] - mean[j]) ** 2 for r in rows) / n) for j in range(len(FEATURES))]
    xs = [[(r[j] - mean[j]) / std[j] for j in range(len(FEATURES))] for r in rows]
    w = [0.0] * len(FEATURES)
    b = 0.0
    lr = 0.5
    for _ in range(400):
        gw = [0.0] * len(FEATURES)
        gb = 0.0
        for x, y in zip(xs, labels):
            err = sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b) - y
            for j, xi in enumerate(x):
                gw[j] += err * xi
            gb += err
        w = [wi - lr * g / n for wi, g in zip(w, gw)]
        b -= lr * gb / n
    correct = sum(1 for x, y in zip(xs, labels) if (sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b) >= 0.5) == (y == 1))
    model = {
        "name": "iot-failure-logreg",
        "version": "1",
        "features": FEATURES,
        "mean": [round(v, 6) for v in mean],
        "std": [round(v, 6) for v in std],
        "weights": [round(v, 6) for v in w],
        "bias": round(b, 6),
        "threshold": 0.5,
        "training": {"samples": n, "positives": sum(labels), "accuracy": round(correct / n, 4), "seed": 42},
    }
    print(json.dumps(model, indent=2))


if __name__ == "__main__":
    main()
