/**
 * Autoscaling configuration (part of the gateway config, parsed from the
 * same env object). Durations: bare integer = seconds, or Go syntax.
 *
 * | Variable | Default | Meaning |
 * |---|---|---|
 * | `embedded_autoscaler` | false (`faas-ts up`: true) | run the in-process rule engine |
 * | `autoscaler_rules` | repo `deploy/prometheus/alert.rules.yml` | Prometheus rule file the engine loads |
 * | `autoscaler_eval_interval` | 1s | sample + evaluate period (upstream Prometheus: 15s scrape of a remote target; in-process sampling is cheap, and a 10 s rate window needs ≥ 2 samples) |
 * | `autoscaler_repeat_interval` | 30s | re-send a still-firing alert (Alertmanager `repeat_interval`) |
 * | `alert_cooldown` | 5s | minimum time between two firing steps of one function (0 = none) |
 * | `scale_to_zero` | true | run the idler for functions labelled `com.openfaas.scale.zero=true` |
 * | `scale_zero_duration` | 15m | idle time before scaling to 0 (label `com.openfaas.scale.zero-duration` overrides) |
 * | `scale_zero_interval` | 30s | how often the idler checks |
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ScalingConfig {
  readonly embeddedAutoscaler: boolean;
  readonly rulesFile: string;
  readonly evalIntervalMs: number;
  readonly repeatIntervalMs: number;
  readonly alertCooldownMs: number;
  readonly scaleToZero: boolean;
  readonly zeroDurationMs: number;
  readonly zeroIntervalMs: number;
}

/** The repo's deploy/prometheus folder: found by walking up from this module (works from dist/ too). */
export function shippedMonitoringDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'deploy', 'prometheus');
    if (existsSync(join(candidate, 'alert.rules.yml'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return fileURLToPath(new URL('../../deploy/prometheus', import.meta.url));
    dir = parent;
  }
}

export const DEFAULT_RULES_FILE = join(shippedMonitoringDir(), 'alert.rules.yml');

export const SCALING_DEFAULTS = Object.freeze({
  evalIntervalMs: 1_000,
  repeatIntervalMs: 30_000,
  alertCooldownMs: 5_000,
  zeroDurationMs: 15 * 60_000,
  zeroIntervalMs: 30_000,
});

export function loadScalingConfig(
  env: Record<string, string | undefined>,
  parseDurationMs: (v: string | undefined) => number | undefined,
  problems: string[],
): ScalingConfig {
  const bool = (name: string, fallback: boolean) => (env[name] === undefined || env[name] === '' ? fallback : env[name] === 'true');
  const positive = (name: string, fallback: number, allowZero = false): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const ms = parseDurationMs(raw);
    if (ms === undefined || ms < 0 || (ms === 0 && !allowZero)) {
      problems.push(`${name}=${JSON.stringify(raw)} must be a ${allowZero ? 'non-negative' : 'positive'} duration (e.g. 30s)`);
      return fallback;
    }
    return ms;
  };
  return Object.freeze({
    embeddedAutoscaler: bool('embedded_autoscaler', false),
    rulesFile: (env.autoscaler_rules ?? '').trim() || DEFAULT_RULES_FILE,
    evalIntervalMs: positive('autoscaler_eval_interval', SCALING_DEFAULTS.evalIntervalMs),
    repeatIntervalMs: positive('autoscaler_repeat_interval', SCALING_DEFAULTS.repeatIntervalMs),
    alertCooldownMs: positive('alert_cooldown', SCALING_DEFAULTS.alertCooldownMs, true),
    scaleToZero: bool('scale_to_zero', true),
    zeroDurationMs: positive('scale_zero_duration', SCALING_DEFAULTS.zeroDurationMs),
    zeroIntervalMs: positive('scale_zero_interval', SCALING_DEFAULTS.zeroIntervalMs),
  });
}
