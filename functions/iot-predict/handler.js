'use strict';
// ML-style inference: logistic regression over a JSON feature vector
// (model.json, trained by train.py on synthetic IoT sensor data). Loaded once
// per replica; each request costs a few multiply-adds per instance.
//
// Body: {"features": [t, v, p, h, rpm]} or {"features": {"temperature_c": ...}}
//   or {"instances": [[...], {...}, ...]} for a batch.
const model = require('./model.json');

class InputError extends Error {}

function vector(input, at) {
  const values = Array.isArray(input)
    ? input
    : input && typeof input === 'object'
      ? model.features.map((f) => input[f])
      : undefined;
  if (!values || values.length !== model.features.length || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new InputError(`${at}: expected ${model.features.length} finite numbers (${model.features.join(', ')}), as an array or an object`);
  }
  return values;
}

function predict(values) {
  let z = model.bias;
  for (let i = 0; i < values.length; i++) z += model.weights[i] * ((values[i] - model.mean[i]) / model.std[i]);
  const probability = 1 / (1 + Math.exp(-z));
  return { probability: Math.round(probability * 1e6) / 1e6, label: probability >= model.threshold ? 'failure' : 'normal' };
}

module.exports = async (event, context) => {
  let body = event.body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      body = JSON.parse(body.toString() || 'null');
    } catch {
      return context.status(400).succeed({ error: 'body must be JSON' });
    }
  }
  try {
    if (body && Array.isArray(body.instances)) {
      const predictions = body.instances.map((x, i) => predict(vector(x, `instances[${i}]`)));
      return context.status(200).succeed({ model: `${model.name}@${model.version}`, predictions });
    }
    if (body && body.features !== undefined) {
      return context.status(200).succeed({ model: `${model.name}@${model.version}`, ...predict(vector(body.features, 'features')) });
    }
    return context.status(200).succeed({ model: `${model.name}@${model.version}`, features: model.features, usage: 'POST {"features": [...]} or {"instances": [[...], ...]}' });
  } catch (err) {
    if (err instanceof InputError) return context.status(400).succeed({ error: err.message });
    throw err;
  }
};
