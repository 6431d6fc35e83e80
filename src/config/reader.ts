// Reading a parsed preflight.yaml: typed getters that fail at the value's line and column with a hint
// (ConfigError), and the "did you mean" for unknown keys. config.ts, service.ts and maintenance.ts
// build their schemas on it.
import { isAbsolute, normalize } from 'node:path';
import { ConfigError, quote } from '../util/errors';
import type { Pos, YamlEntry, YamlMap, YamlNode } from './yaml';

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions ("intreval"). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    const prev = d[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = best;
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The candidate closest to `word`, if it is close enough to be what was meant. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase().replace(/-/g, '_');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(w, c);
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(w.length / 3)) ? best : undefined;
}

/** How a value is shown after "got". */
export function got(node: YamlNode): string {
  if (node.kind === 'list') return 'a list';
  if (node.kind === 'map') return 'a map';
  if (node.value === null) return node.raw === '' ? 'nothing' : node.raw;
  if (typeof node.value === 'string') return quote(node.value);
  return String(node.value);
}

/** Reads values out of the parsed YAML, failing with the value's file:line:column and a hint. */
export class Reader {
  constructor(
    readonly file: string,
    readonly env: NodeJS.ProcessEnv,
  ) {}

  fail(at: Pos | undefined, reason: string, hint?: string): never {
    throw new ConfigError(at ? { file: this.file, line: at.line, column: at.column } : { file: this.file }, reason, hint);
  }

  /** Reject keys not in `allowed`, suggesting the nearest; `elsewhere` explains keys that belong to another level. */
  checkKeys(map: YamlMap, path: string, allowed: readonly string[], elsewhere: (key: string) => string | undefined = () => undefined): void {
    for (const e of map.entries.values()) {
      if (allowed.includes(e.key)) continue;
      const where = path ? ` in ${path}` : '';
      const other = elsewhere(e.key);
      if (other) this.fail(e.keyPos, `unknown key '${e.key}'${where}`, other);
      const near = suggest(e.key, allowed);
      this.fail(e.keyPos, `unknown key '${e.key}'${where}`, near ? `did you mean ${near}?` : `known keys: ${allowed.join(', ')}`);
    }
  }

  map(entry: YamlEntry, path: string, hint: string): YamlMap {
    if (entry.value.kind !== 'map') this.fail(entry.value, `${path}: expected a map, got ${got(entry.value)}`, hint);
    return entry.value;
  }

  /** Text as written: quoted strings, and plain numbers and words by their source text. */
  text(entry: YamlEntry, path: string, what: string, hint: string): string {
    const v = entry.value;
    if (v.kind !== 'scalar' || v.value === null) this.fail(v, `${path}: expected ${what}, got ${got(v)}`, hint);
    const s = v.quoted ? String(v.value) : v.raw;
    if (s === '') this.fail(v, `${path}: expected ${what}, got an empty string`, hint);
    return s;
  }

  number(entry: YamlEntry, path: string, opts: { integer: boolean; min: number; minExclusive?: boolean; max: number; example: number }): number {
    const v = entry.value;
    const kind = opts.integer ? 'an integer' : 'a number';
    const want = opts.minExclusive ? `${kind} > ${opts.min}` : `${kind} >= ${opts.min}`;
    const key = path.slice(path.lastIndexOf('.') + 1);
    let hint = `e.g. ${key}: ${opts.example}`;
    if (v.kind === 'scalar' && typeof v.value === 'number') {
      const n = v.value;
      if (opts.integer && !Number.isInteger(n)) this.fail(v, `${path}: expected ${want}, got ${n}`, `write a whole number, ${hint}`);
      if (opts.minExclusive ? n <= opts.min : n < opts.min) this.fail(v, `${path}: expected ${want}, got ${n}`, hint);
      if (n > opts.max) this.fail(v, `${path}: expected ${want} and <= ${opts.max}, got ${n}`, hint);
      return n;
    }
    if (v.kind === 'scalar' && v.quoted && /^-?[0-9]+(\.[0-9]+)?$/.test(String(v.value))) hint = `remove the quotes: ${key}: ${String(v.value)}`;
    return this.fail(v, `${path}: expected ${want}, got ${got(v)}`, hint);
  }

  boolean(entry: YamlEntry, path: string): boolean {
    const v = entry.value;
    if (v.kind === 'scalar' && typeof v.value === 'boolean') return v.value;
    return this.fail(v, `${path}: expected true or false, got ${got(v)}`, 'write true or false; yes, no, on and off are text here');
  }

  url(entry: YamlEntry, path: string, example: string): string {
    const s = this.text(entry, path, 'an http:// or https:// URL', `e.g. ${example}`);
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return this.fail(entry.value, `${path}: expected an http:// or https:// URL, got ${quote(s)}`, `write a full URL, e.g. ${example}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      const fix = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? `use http:// or https://, e.g. ${example}` : `add the scheme: http://${s}`;
      this.fail(entry.value, `${path}: expected an http:// or https:// URL, got ${quote(s)}`, fix);
    }
    return s;
  }

  /** An absolute path, `~` expanded from $HOME. */
  path(entry: YamlEntry, path: string, tilde: boolean): string {
    const s = this.text(entry, path, 'an absolute path', tilde ? 'e.g. /var/lib/preflight or ~/preflight' : 'e.g. /var');
    return this.absolute(s, entry.value, path, tilde);
  }

  absolute(s: string, at: Pos | undefined, path: string, tilde: boolean): string {
    let p = s;
    if (tilde && (p === '~' || p.startsWith('~/'))) {
      const home = this.env.HOME;
      if (!home || !isAbsolute(home)) this.fail(at, `${path}: ${quote(s)} starts with ~ but $HOME is not set to an absolute path`, 'write an absolute path instead');
      p = home + p.slice(1);
    } else if (tilde && p.startsWith('~')) {
      this.fail(at, `${path}: ~user paths are not supported, got ${quote(s)}`, 'write an absolute path or ~/…');
    }
    if (!isAbsolute(p)) this.fail(at, `${path}: expected an absolute path, got ${quote(s)}`, `start it with /${tilde ? ' or ~/' : ''}`);
    const n = normalize(p);
    return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
  }
}

export function entryOf(map: YamlMap, key: string): YamlEntry | undefined {
  return map.entries.get(key);
}
