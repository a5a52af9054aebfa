// Version and build time, injected by the bundler (scripts/build.mjs) from package.json: the one source.
declare const __REROUTE_VERSION__: string | undefined;
declare const __REROUTE_BUILD_TIME__: string | undefined;

function fromPackageJson(): string {
  // Unbundled runs (tests through ts-jest) read package.json directly.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../package.json') as { version: string }).version;
}

export const VERSION: string = typeof __REROUTE_VERSION__ === 'string' ? __REROUTE_VERSION__ : fromPackageJson();
export const BUILD_TIME: string | null = typeof __REROUTE_BUILD_TIME__ === 'string' ? __REROUTE_BUILD_TIME__ : null;
