// Which preflight.yaml a command reads, and reading it: --config FILE, then $PREFLIGHT_CONFIG, then
// /etc/preflight.yaml, then ./preflight.yaml only when there is no system config.
//
// Decisions:
// - The system config wins over the current folder's. A checkout holds the commented example as
//   ./preflight.yaml; with ./ first, `preflight last` typed inside a checkout read the example and its
//   snapshot_dir instead of the service's config, and said nothing about it.
// - A system config that exists but cannot be used (a directory, unreadable) is an error, never a reason
//   to fall back to ./preflight.yaml: that would quietly read another config than the one on the box.
// - Every command that reads snapshots can say which file it read (describeConfigSource), so a
//   "no snapshots" error names the config that pointed it at the folder.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, errnoCode, isErrno } from '../util/errors';
import { parseConfig, type Config } from './config';

/** The system-wide config: the one `preflight unit` points the service at. */
export const SYSTEM_CONFIG = '/etc/preflight.yaml';
/** Looked for in the current folder when there is no SYSTEM_CONFIG. */
export const LOCAL_CONFIG = 'preflight.yaml';

const MAX_CONFIG_BYTES = 1024 * 1024;
const MISSING: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR']);

/** Where the config file came from: the flag, the variable, the system file, or the current folder. */
export type ConfigSource = '--config' | '$PREFLIGHT_CONFIG' | 'system' | 'cwd';

export interface FoundConfig {
  /** Absolute path. */
  file: string;
  source: ConfigSource;
}

/** Where to look; tests point both at temp folders. */
export interface LookupPlaces {
  /** The folder ./preflight.yaml and a relative --config are resolved against. */
  cwd?: string;
  /** Default SYSTEM_CONFIG. */
  systemFile?: string;
}

/**
 * The config file to read, and why that one (see the file comment for the order). A file named by
 * --config or $PREFLIGHT_CONFIG that does not exist is an error naming it; so is finding none.
 */
export function locateConfig(flag: string | undefined, env: NodeJS.ProcessEnv, places: LookupPlaces = {}): FoundConfig {
  const cwd = places.cwd ?? process.cwd();
  const systemFile = places.systemFile ?? SYSTEM_CONFIG;
  const localFile = resolve(cwd, LOCAL_CONFIG);
  if (flag === '') throw new ConfigError({ file: '--config' }, 'the file name is empty', 'pass --config FILE, or leave it out to search');
  const named: Array<[string | undefined, '--config' | '$PREFLIGHT_CONFIG']> = [
    [flag, '--config'],
    [env.PREFLIGHT_CONFIG, '$PREFLIGHT_CONFIG'],
  ];
  for (const [value, source] of named) {
    if (value === undefined || value === '') continue;
    const file = resolve(cwd, value);
    const problem = fileProblem(file);
    if (problem) throw new ConfigError({ file }, `config file from ${source} ${problem}`, `check the path, or unset ${source} to use ${systemFile} (or ./${LOCAL_CONFIG} where there is none)`);
    return { file, source };
  }
  const candidates: FoundConfig[] = [
    { file: systemFile, source: 'system' },
    { file: localFile, source: 'cwd' },
  ];
  for (const c of candidates) {
    const problem = fileProblem(c.file);
    if (problem === 'does not exist') continue;
    if (problem) throw new ConfigError({ file: c.file }, `config file ${problem}`, 'fix it, or pass --config FILE');
    return c;
  }
  throw new ConfigError(
    { file: LOCAL_CONFIG },
    `no config file found; looked for ${systemFile} and ${localFile}`,
    `write ${systemFile}, pass --config FILE or set $PREFLIGHT_CONFIG; preflight.yaml in the source tree is a commented example`,
  );
}

/** locateConfig's file alone. */
export function findConfigFile(flag: string | undefined, env: NodeJS.ProcessEnv, places: LookupPlaces = {}): string {
  return locateConfig(flag, env, places).file;
}

/**
 * The file and how it was chosen, for messages: "/etc/preflight.yaml", "/x/p.yaml, from --config",
 * "/src/preflight/preflight.yaml, found in the current folder as there is no /etc/preflight.yaml".
 */
export function describeConfigSource(found: FoundConfig, places: LookupPlaces = {}): string {
  switch (found.source) {
    case 'system':
      return found.file;
    case 'cwd':
      return `${found.file}, found in the current folder as there is no ${places.systemFile ?? SYSTEM_CONFIG}`;
    default:
      return `${found.file}, from ${found.source}`;
  }
}

function fileProblem(file: string): string | undefined {
  try {
    const st = statSync(file);
    if (st.isDirectory()) return 'is a directory';
    if (!st.isFile()) return 'is not a regular file';
    if (st.size > MAX_CONFIG_BYTES) return `is ${st.size} bytes, larger than the 1 MiB a config may be`;
    return undefined;
  } catch (err) {
    if (isErrno(err, MISSING)) return 'does not exist';
    return `cannot be read (${errnoCode(err) ?? String(err)})`;
  }
}

/** Decode UTF-8 strictly, naming the first line that is not valid UTF-8. */
function decodeUtf8(buf: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf);
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= buf.length; i++) {
      if (i === buf.length || buf[i] === 0x0a) {
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(start, i));
        } catch {
          break;
        }
        line++;
        start = i + 1;
      }
    }
    throw new ConfigError({ file, line }, 'the file is not valid UTF-8', 'save it as UTF-8 text');
  }
}

/** Read and parse one config file. */
export function readConfigFile(file: string, env: NodeJS.ProcessEnv): Config {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    // /etc/preflight.yaml is 0640 root:preflight (README, Install step 3): a user's shell cannot read it
    const hint = isErrno(err, new Set(['EACCES', 'EPERM'])) ? 'check its permissions; run as root (sudo) or as a member of its group' : 'check its permissions';
    throw new ConfigError({ file }, `cannot read the config file (${errnoCode(err) ?? String(err)})`, hint, { cause: err });
  }
  if (buf.length > MAX_CONFIG_BYTES) throw new ConfigError({ file }, `the config file is ${buf.length} bytes, larger than 1 MiB`, 'a config is a few dozen lines');
  return parseConfig(decodeUtf8(buf, file), file, env);
}

/** Find, read and parse the config file (see locateConfig for the search order). */
export function loadConfig(flag: string | undefined, env: NodeJS.ProcessEnv, places: LookupPlaces = {}): Config {
  return readConfigFile(findConfigFile(flag, env, places), env);
}
