/**
 * Convention checks for plugin packages (the meta-tests typescript-eslint runs over its rules):
 * exactly one `definePlugin` export in src/index.ts or src/plugin.ts, a README with Usage,
 * Fidelity and Results sections, an example pipeline under examples/<name>, tests, an experiment
 * script, a version and a changelog. One line per problem, naming the plugin folder and the file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Node, Project, SyntaxKind, type SourceFile } from 'ts-morph';

export const REQUIRED_README_SECTIONS = ['Usage', 'Fidelity', 'Results'] as const;

export interface PluginCheck {
  /** The plugin folder, relative to the workspace root (plugins/<name>). */
  plugin: string;
  problems: string[];
}

/** Level-2+ markdown headings of a README, lower-cased, without trailing punctuation. */
export function readmeSections(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{2,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (m) out.push(m[1]!.toLowerCase().replace(/[:.]$/, ''));
  }
  return out;
}

/** How many `definePlugin(...)` objects a module exports (default or named, directly, via a variable or re-exported). */
export function countPluginExports(file: SourceFile): number {
  return pluginExportKeys(file).size;
}

/**
 * Where each exported plugin object is defined (file:offset), so that the same object exported by
 * index.ts and plugin.ts, or under two names, counts once.
 */
export function pluginExportKeys(file: SourceFile): Set<string> {
  const isDefineCall = (n: Node | undefined): boolean => {
    if (!n) return false;
    const inner = n.getKind() === SyntaxKind.AsExpression || n.getKind() === SyntaxKind.SatisfiesExpression ? n.getFirstChild() : n;
    return !!inner && Node.isCallExpression(inner) && inner.getExpression().getText() === 'definePlugin';
  };
  // A plugin exported twice (`export const p = ...; export default p`) is one plugin: count nodes.
  const plugins = new Set<Node>();
  for (const [, decls] of file.getExportedDeclarations()) {
    for (const d of decls) {
      if (Node.isVariableDeclaration(d) && isDefineCall(d.getInitializer())) plugins.add(d);
      else if (isDefineCall(d)) plugins.add(d);
    }
  }
  for (const a of file.getExportAssignments()) if (isDefineCall(a.getExpression())) plugins.add(a.getExpression());
  return new Set([...plugins].map((n) => `${n.getSourceFile().getFilePath()}:${n.getStart()}`));
}

function walk(dir: string, test: (f: string) => boolean, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, test, out);
    else if (test(p)) out.push(p);
  }
  return out;
}

/** Checks one plugin folder; `root` is the workspace root (where examples/ lives). */
export function checkPlugin(dir: string, root: string, project = new Project({ useInMemoryFileSystem: false, skipAddingFilesFromTsConfig: true })): PluginCheck {
  const rel = relative(root, dir) || dir;
  const name = dir.split(/[\\/]/).pop()!;
  const problems: string[] = [];
  const problem = (s: string) => problems.push(`${rel}: ${s}`);

  let pkg: { name?: string; version?: string; keywords?: string[]; scripts?: Record<string, string> } = {};
  try {
    pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  } catch {
    problem('package.json is missing or not valid JSON');
  }
  if (pkg.name !== undefined && !/^@tessera\/plugin-/.test(pkg.name) && !(pkg.keywords ?? []).includes('tessera-plugin')) {
    problem(`package.json: name '${pkg.name}' should be @tessera/plugin-<name>, or carry the keyword 'tessera-plugin'`);
  }
  if (!pkg.version) problem('package.json: no version (plugins are versioned independently)');

  const entries = ['src/index.ts', 'src/plugin.ts'].filter((f) => existsSync(join(dir, f)));
  if (entries.length === 0) problem('no src/index.ts or src/plugin.ts');
  else {
    const keys = new Set(entries.flatMap((f) => [...pluginExportKeys(project.addSourceFileAtPath(join(dir, f)))]));
    const total = keys.size;
    if (total !== 1) problem(`${entries.join(' + ')}: exports ${total} definePlugin(...) objects; export exactly one`);
  }

  const readmePath = join(dir, 'README.md');
  if (!existsSync(readmePath)) problem(`README.md is missing (needs sections: ${REQUIRED_README_SECTIONS.join(', ')})`);
  else {
    const sections = readmeSections(readFileSync(readmePath, 'utf8'));
    const missing = REQUIRED_README_SECTIONS.filter((s) => !sections.some((h) => h === s.toLowerCase() || h.startsWith(`${s.toLowerCase()} `)));
    if (missing.length) problem(`README.md lacks section${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (as '## ${missing[0]}' headings)`);
  }

  if (!existsSync(join(dir, 'CHANGELOG.md'))) problem('CHANGELOG.md is missing');

  const exampleDir = join(root, 'examples', name);
  const examples = walk(exampleDir, (f) => /pipeline[^/]*\.(json|ts)$/.test(f));
  if (examples.length === 0) problem(`no example pipeline under examples/${name}/ (pipeline.json or pipeline*.ts)`);

  const tests = walk(dir, (f) => /\.test\.ts$/.test(f));
  if (tests.length === 0) problem('no tests (*.test.ts next to the code)');

  const exp = pkg.scripts?.experiment;
  if (!exp) problem("package.json: no 'experiment' script (reproduces the plugin's characteristic effect, writes JSON + SVG)");
  else {
    const file = /(\S+\.(?:ts|js|mjs))/.exec(exp)?.[1];
    if (file && !existsSync(join(dir, file))) problem(`package.json: experiment script runs ${file}, which does not exist`);
  }
  return { plugin: rel, problems };
}

/** Checks every folder under <root>/plugins. */
export function checkAllPlugins(root: string): PluginCheck[] {
  const pluginsDir = join(root, 'plugins');
  if (!existsSync(pluginsDir)) return [];
  const project = new Project({ skipAddingFilesFromTsConfig: true });
  return readdirSync(pluginsDir)
    .filter((n) => !n.startsWith('.') && statSync(join(pluginsDir, n)).isDirectory())
    .sort()
    .map((n) => checkPlugin(join(pluginsDir, n), root, project));
}
