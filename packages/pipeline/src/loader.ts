/**
 * Finding and loading plugins. Discovery looks in three places, like Vite's conventions:
 * workspace packages (every folder under plugins/, and any workspace package named
 * `@tessera/plugin-*` or carrying the keyword `tessera-plugin`), installed packages in
 * node_modules with that name or keyword, and the paths a pipeline config lists. Loading imports
 * the package's entry, takes its one plugin export and checks its api range against the core.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkPluginApi, isPlugin, type Plugin } from './plugin.js';

export const PLUGIN_KEYWORD = 'tessera-plugin';

export interface PackageJson {
  name?: string;
  version?: string;
  description?: string;
  keywords?: string[];
  main?: string;
  exports?: string | Record<string, unknown>;
}

export interface DiscoveredPlugin {
  /** Package name (or the path, for a folder without package.json). */
  name: string;
  dir: string;
  /** Where it was found. */
  source: 'workspace' | 'node_modules' | 'config';
}

export class PluginLoadError extends Error {
  override name = 'PluginLoadError';
}

/** The nearest directory at or above `from` holding pnpm-workspace.yaml (else `from`). */
export function findWorkspaceRoot(from = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(from);
    dir = up;
  }
}

export function readPackageJson(dir: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

export function isPluginPackage(pkg: PackageJson | undefined): boolean {
  return !!pkg && (/^@tessera\/plugin-/.test(pkg.name ?? '') || (pkg.keywords ?? []).includes(PLUGIN_KEYWORD));
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => !n.startsWith('.'))
      .map((n) => join(dir, n))
      .filter((p) => statSync(p).isDirectory());
  } catch {
    return [];
  }
}

/** Every plugin visible from the workspace root, de-duplicated by package name (workspace first). */
export function discoverPlugins(root = findWorkspaceRoot(), extraPaths: string[] = []): DiscoveredPlugin[] {
  const found = new Map<string, DiscoveredPlugin>();
  const add = (dir: string, source: DiscoveredPlugin['source'], require: boolean) => {
    const pkg = readPackageJson(dir);
    if (require && !isPluginPackage(pkg)) return;
    const name = pkg?.name ?? dir;
    if (!found.has(name)) found.set(name, { name, dir, source });
  };
  for (const d of subdirs(join(root, 'plugins'))) add(d, 'workspace', false);
  for (const group of ['examples', 'packages', 'tools']) for (const d of subdirs(join(root, group))) add(d, 'workspace', true);
  const nm = join(root, 'node_modules');
  for (const d of subdirs(nm)) {
    if (d.split(/[\\/]/).pop()!.startsWith('@')) for (const s of subdirs(d)) add(s, 'node_modules', true);
    else add(d, 'node_modules', true);
  }
  for (const p of extraPaths) add(resolve(root, p), 'config', false);
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function entryOf(dir: string, pkg: PackageJson | undefined): string {
  const exp = pkg?.exports;
  let rel: string | undefined;
  if (typeof exp === 'string') rel = exp;
  else if (exp && typeof exp === 'object') {
    const dot = (exp as Record<string, unknown>)['.'] ?? exp;
    if (typeof dot === 'string') rel = dot;
    else if (dot && typeof dot === 'object') {
      const d = dot as Record<string, unknown>;
      const pick = d.import ?? d.default ?? d.node;
      if (typeof pick === 'string') rel = pick;
    }
  }
  rel ??= pkg?.main;
  if (rel) return join(dir, rel);
  for (const c of ['src/index.ts', 'src/plugin.ts', 'index.ts', 'index.js']) if (existsSync(join(dir, c))) return join(dir, c);
  throw new PluginLoadError(`${dir}: no entry point (package.json has no exports or main, and there is no src/index.ts)`);
}

/** Where `specifier` (a package name or a path) lives, searched from `fromDir`. */
export function resolvePluginDir(specifier: string, fromDir: string, discovered?: DiscoveredPlugin[]): string {
  if (specifier.startsWith('.') || isAbsolute(specifier)) {
    const p = resolve(fromDir, specifier);
    if (!existsSync(p)) throw new PluginLoadError(`plugin '${specifier}': ${p} does not exist`);
    return p;
  }
  const ws = (discovered ?? discoverPlugins(findWorkspaceRoot(fromDir))).find((d) => d.name === specifier);
  if (ws) return ws.dir;
  let dir = resolve(fromDir);
  for (;;) {
    const cand = join(dir, 'node_modules', specifier);
    if (existsSync(join(cand, 'package.json'))) return cand;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new PluginLoadError(`plugin '${specifier}': not found in the workspace or in node_modules above ${fromDir}; install it or give a path (./my-plugin)`);
}

/** The one plugin a module exports: its default export, or its only named export that is a plugin. */
export function pluginFromModule(mod: Record<string, unknown>, where: string): Plugin {
  if (isPlugin(mod.default)) return mod.default;
  const named = Object.entries(mod).filter(([, v]) => isPlugin(v));
  if (named.length === 1) return named[0]![1] as Plugin;
  if (named.length === 0) throw new PluginLoadError(`${where}: exports no plugin; export one definePlugin({...}) object (default or named)`);
  throw new PluginLoadError(`${where}: exports ${named.length} plugins (${named.map(([k]) => k).join(', ')}); a package exports exactly one`);
}

/** Imports a plugin (file or folder), checks its api range, returns it. */
export async function loadPluginFrom(path: string): Promise<Plugin> {
  const entry = statSync(path).isDirectory() ? entryOf(path, readPackageJson(path)) : path;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  } catch (e) {
    throw new PluginLoadError(`${entry}: cannot import plugin (${(e as Error).message.split('\n')[0]})`);
  }
  const plugin = pluginFromModule(mod, entry);
  checkPluginApi(plugin);
  return plugin;
}

/** Resolves and loads a plugin named in a pipeline config. */
export async function loadPlugin(specifier: string, fromDir: string, discovered?: DiscoveredPlugin[]): Promise<Plugin> {
  return loadPluginFrom(resolvePluginDir(specifier, fromDir, discovered));
}
