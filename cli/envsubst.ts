/**
 * The part of faas-cli's stack-file variable substitution our sample stacks
 * and typical user stacks need: `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR=default}` and `${VAR:=default}`. Unset variables become "". Like
 * faas-cli it runs on the raw text before YAML parsing. Other `${...}` forms
 * (case changes, substrings, trimming) are reported, not silently mangled.
 */
const PATTERN = /\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;
const BRACED = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:=|=)(.*))?$/s;

/** Problems past this many are summarised: a generated file could hold thousands. */
const MAX_PROBLEMS = 20;

export function envsubst(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): string {
  let reported = 0;
  const report = (offset: number, what: string): void => {
    reported++;
    if (reported <= MAX_PROBLEMS) problems.push(`line ${lineAt(text, offset)}: ${what}`);
    else if (reported === MAX_PROBLEMS + 1) problems.push('more unsupported variable substitutions not listed');
  };
  // `${` with no closing brace anywhere after it would pass through as literal text.
  const open = text.search(/\$\{[^}]*$/);
  if (open >= 0) report(open, `unterminated variable substitution ${quote(text.slice(open))} (missing "}")`);
  return text.replace(PATTERN, (whole: string, braced: string | undefined, bare: string | undefined, offset: number) => {
    if (bare !== undefined) return env[bare] ?? '';
    const m = BRACED.exec(braced ?? '');
    if (!m) {
      report(offset, `unsupported variable substitution ${quote(whole)} (supported: $VAR, \${VAR}, \${VAR:-default})`);
      return whole;
    }
    const [, name, op, fallback] = m;
    const value = env[name!];
    if (op === '=') return value === undefined ? (fallback ?? '') : value;
    if (op === ':-' || op === ':=') return value ? value : (fallback ?? '');
    return value ?? '';
  });
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** First line of a substitution, at most 40 characters. */
function quote(s: string): string {
  const first = s.split('\n')[0]!;
  return first.length > 40 || first !== s ? `${first.slice(0, 40)}…` : first;
}
