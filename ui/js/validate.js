/**
 * Client-side checks for the deploy form. The gateway validates again; its
 * 400 message is shown as well.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** @returns {string | null} an error message, or null when valid */
export function checkDns1123Label(value, what = 'Name') {
  if (!value) return `${what} is required`;
  if (value.length > 63) return `${what} must be at most 63 characters`;
  if (!DNS1123_LABEL.test(value)) {
    return `${what} must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit`;
  }
  return null;
}

export function checkDns1123Subdomain(value, what = 'Name') {
  if (!value) return `${what} is required`;
  if (value.length > 253) return `${what} must be at most 253 characters`;
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return `${what} must be lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`;
  }
  return null;
}

export function checkImage(value) {
  if (!value) return 'Image is required';
  if (/\s/.test(value)) return 'Image must not contain spaces';
  return null;
}

/** Label key: optional DNS-1123 subdomain prefix + "/" + name of ≤ 63 characters. */
export function checkLabelKey(key) {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && checkDns1123Subdomain(prefix)) return `label key "${key}" has an invalid prefix`;
  if (!name || name.length > 63 || !LABEL_NAME.test(name)) {
    return `label key "${key}" must be ≤ 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return null;
}

/**
 * Parse "KEY=VALUE" lines (blank lines and # comments skipped).
 * @param {string} text
 * @param {{ what: string, checkKey?: (key: string) => string | null }} opts
 * @returns {{ values: Record<string, string>, error: string | null }}
 */
export function parseKeyValues(text, { what, checkKey }) {
  const values = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return { values, error: `${what} line ${i + 1}: expected KEY=VALUE` };
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const problem = checkKey ? checkKey(key) : null;
    if (problem) return { values, error: `${what} line ${i + 1}: ${problem}` };
    if (key in values) return { values, error: `${what} line ${i + 1}: "${key}" is repeated` };
    values[key] = value;
  }
  return { values, error: null };
}

export function checkEnvKey(key) {
  return ENV_NAME.test(key) ? null : `"${key}" is not a valid variable name`;
}

/** Parse an optional whole number in [min, max]; '' → undefined. */
export function parseCount(text, what, min, max = 1000) {
  const v = text.trim();
  if (v === '') return { value: undefined, error: null };
  if (!/^\d+$/.test(v)) return { value: undefined, error: `${what} must be a whole number` };
  const n = Number(v);
  if (n < min || n > max) return { value: undefined, error: `${what} must be between ${min} and ${max}` };
  return { value: n, error: null };
}
