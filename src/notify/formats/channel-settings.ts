// Validation shared by the channel settings (Telegram, Gotify, Pushover, Matrix, Apprise): each
// module reads its keys through a getter, so the config layer decides where they come from (a map
// in preflight.yaml, an environment variable) and these only say what a valid value is.
export type SettingGetter = (key: string) => string | undefined;

export class ChannelSettingsError extends Error {
  constructor(
    readonly channel: string,
    readonly key: string,
    readonly reason: string,
  ) {
    super(`notifications (${channel}): ${key}: ${reason}`);
    this.name = 'ChannelSettingsError';
  }
}

export function optionalSetting(get: SettingGetter, key: string): string | undefined {
  const v = get(key)?.trim();
  return v === undefined || v === '' ? undefined : v;
}

export function requiredSetting(channel: string, get: SettingGetter, key: string): string {
  const v = optionalSetting(get, key);
  if (v === undefined) throw new ChannelSettingsError(channel, key, 'is required');
  return v;
}

/** An http(s) base URL without its trailing slashes (paths are appended to it). */
export function baseUrlSetting(channel: string, key: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new ChannelSettingsError(channel, key, `not a URL: ${JSON.stringify(value)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ChannelSettingsError(channel, key, `must be http:// or https://, not ${u.protocol}`);
  if (u.search || u.hash) throw new ChannelSettingsError(channel, key, 'must not have a query or a fragment');
  return value.replace(/\/+$/, '');
}

export function intSetting(channel: string, key: string, value: string | undefined, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new ChannelSettingsError(channel, key, `must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new ChannelSettingsError(channel, key, `must be from ${min} to ${max}, not ${n}`);
  return n;
}

export function patternSetting(channel: string, key: string, value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new ChannelSettingsError(channel, key, `must be ${what}`);
  return value;
}

/** A password in a configured URL (basic auth to a proxy in front of the server), as written and decoded. */
export function urlSecrets(url: string): string[] {
  let password: string;
  try {
    password = new URL(url).password;
  } catch {
    return [];
  }
  if (!password) return [];
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // a stray % stays as written
  }
  return decoded === password ? [password] : [password, decoded];
}
