/**
 * YAML parsing with a bounded cost for the files the CLI reads (stack.yml,
 * environment files, template.yml): a size limit, an alias-expansion limit
 * (billion laughs), and duplicate keys found in one linear pass. The yaml
 * package's own duplicate check compares every key with every other one: a
 * 600 KB map of 40,000 keys took over a minute.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';

/** Larger than any real stack file (thousands of functions). */
export const MAX_YAML_BYTES = 1024 * 1024;
/** Alias expansions allowed while converting to plain values (yaml's default). */
export const MAX_ALIAS_COUNT = 100;

export interface BoundedYaml {
  /** The plain value; undefined when `problems` is not empty. */
  value: unknown;
  /** Each problem once, with `line N:` where the position is known. */
  problems: string[];
  /** For mapping later problems to lines; undefined when the text was refused unread. */
  doc?: Document;
  counter: LineCounter;
}

export function parseYamlBounded(text: string, maxBytes = MAX_YAML_BYTES): BoundedYaml {
  const counter = new LineCounter();
  const size = Buffer.byteLength(text);
  if (size > maxBytes) {
    return { value: undefined, problems: [`the file is ${size} bytes, over the limit of ${maxBytes} bytes`], counter };
  }
  let doc: Document;
  try {
    // merge: `<<: *base` keys, as faas-cli's YAML library reads them.
    doc = parseDocument(text, { lineCounter: counter, uniqueKeys: false, merge: true });
  } catch (err) {
    return { value: undefined, problems: [(err as Error).message], counter };
  }
  if (doc.errors.length > 0) return { value: undefined, problems: doc.errors.map((e) => e.message), doc, counter };
  const duplicates = duplicateKeys(doc, counter);
  if (duplicates.length > 0) return { value: undefined, problems: duplicates, doc, counter };
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), problems: [], doc, counter };
  } catch (err) {
    return { value: undefined, problems: [(err as Error).message], doc, counter };
  }
}

/** Keys repeated within one map. Iterative, and aliases are not followed: linear in the text. */
function duplicateKeys(doc: Document, counter: LineCounter): string[] {
  const out: string[] = [];
  const pending: unknown[] = [doc.contents];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (seen.has(key)) {
          const offset = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
          const where = offset === undefined ? '' : `line ${counter.linePos(offset).line}: `;
          out.push(`${where}duplicate key ${JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key)}`);
        }
        seen.add(key);
        pending.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) pending.push(item);
    }
  }
  return out;
}
