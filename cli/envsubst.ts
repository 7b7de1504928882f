/**
 * The part of faas-cli's stack-file variable substitution our sample stacks
 * and typical user stacks need: `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR=default}` and `${VAR:=default}`. Unset variables become "". Like
 * faas-cli it runs on the raw text before YAML parsing. Other `${...}` forms
 * (case changes, substrings, trimming) are reported, not silently mangled.
 */
const PATTERN = /\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:=|=)(.*))?$/s;

export function envsubst(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): string {
  return text.replace(PATTERN, (whole, braced: string | undefined, bare: string | undefined) => {
    if (bare !== undefined) return env[bare] ?? '';
    const m = BRACED.exec(braced ?? '');
    if (!m) {
      problems.push(`unsupported variable substitution ${whole} (supported: $VAR, \${VAR}, \${VAR:-default})`);
      return whole;
    }
    const [, name, op, fallback] = m;
    const value = env[name!];
    if (op === '=') return value === undefined ? (fallback ?? '') : value;
    if (op === ':-' || op === ':=') return value ? value : (fallback ?? '');
    return value ?? '';
  });
}
