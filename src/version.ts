// The bundle gets the package version from esbuild's --define; tsx runs of the sources say "dev".
declare const PREFLIGHT_VERSION: string | undefined;

export const VERSION: string = typeof PREFLIGHT_VERSION === 'string' ? PREFLIGHT_VERSION : '0.0.0-dev';
