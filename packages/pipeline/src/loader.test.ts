import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverPlugins, findWorkspaceRoot, loadPlugin, pluginFromModule } from './loader.js';
import { definePlugin } from './plugin.js';
import { validatePipeline } from './runner.js';

const pluginApi = pathToFileURL(join(import.meta.dirname, 'plugin.ts')).href;
let root: string;

async function writePlugin(dir: string, pkg: Record<string, unknown>, source: string): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', exports: { '.': './src/index.ts' }, ...pkg }));
  await writeFile(join(dir, 'src/index.ts'), source);
}

const pluginSource = (name: string, api = '^0.1.0', step = 'noop') => `
import { definePlugin, definePass } from '${pluginApi}';
import { z } from 'zod';
export default definePlugin({ name: '${name}', version: '0.2.0', api: '${api}',
  passes: [definePass({ name: '${step}', description: 'does nothing', options: z.object({}).strict(), run: (g) => g })] });
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tessera-ws-'));
  await writeFile(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - plugins/*\n');
  await writePlugin(join(root, 'plugins/alpha'), { name: '@tessera/plugin-alpha' }, pluginSource('@tessera/plugin-alpha', '^0.1.0', 'alpha-pass'));
  await writePlugin(join(root, 'examples/by-keyword'), { name: 'acme-tessera-thing', keywords: ['tessera-plugin'] }, pluginSource('acme-tessera-thing', '^0.1.0', 'acme-pass'));
  await writePlugin(join(root, 'examples/not-a-plugin'), { name: 'some-example' }, 'export const x = 1;');
  await writePlugin(join(root, 'node_modules/@tessera/plugin-installed'), { name: '@tessera/plugin-installed' }, pluginSource('@tessera/plugin-installed', '^0.1.0', 'installed-pass'));
  await writePlugin(join(root, 'node_modules/unrelated'), { name: 'unrelated' }, 'export {};');
  await writePlugin(join(root, 'local/too-new'), { name: 'too-new' }, pluginSource('too-new', '^2.0.0', 'new-pass'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('plugin discovery and loading', () => {
  it('finds workspace plugins, keyword-tagged packages, installed @tessera/plugin-* and config paths', () => {
    const found = discoverPlugins(root, ['./local/too-new']);
    expect(found.map((f) => [f.name, f.source])).toEqual([
      ['@tessera/plugin-alpha', 'workspace'],
      ['@tessera/plugin-installed', 'node_modules'],
      ['acme-tessera-thing', 'workspace'],
      ['too-new', 'config'],
    ]);
  });

  it('finds the workspace root from a nested folder', async () => {
    await mkdir(join(root, 'plugins/alpha/src/deep'), { recursive: true });
    expect(findWorkspaceRoot(join(root, 'plugins/alpha/src/deep'))).toBe(root);
  });

  it('loads a plugin by package name (workspace or node_modules) and by path', async () => {
    expect((await loadPlugin('@tessera/plugin-alpha', join(root, 'examples'))).passes.map((p) => p.name)).toEqual(['alpha-pass']);
    expect((await loadPlugin('@tessera/plugin-installed', root)).name).toBe('@tessera/plugin-installed');
    expect((await loadPlugin('./examples/by-keyword', root)).name).toBe('acme-tessera-thing');
  });

  it('refuses a plugin whose api range excludes this core, naming both versions in one line', async () => {
    await expect(loadPlugin('./local/too-new', root)).rejects.toThrow(/^plugin 'too-new' 0\.2\.0 requires core API \^2\.0\.0, but this Tessera provides core API 0\.1\.0$/);
  });

  it('names what is missing: unknown package, a module without a plugin export', async () => {
    await expect(loadPlugin('@tessera/plugin-nope', root)).rejects.toThrow("plugin '@tessera/plugin-nope': not found in the workspace or in node_modules");
    await expect(loadPlugin('./examples/not-a-plugin', root)).rejects.toThrow('exports no plugin; export one definePlugin({...}) object');
  });

  it('takes the default export, or the only named plugin export, and refuses two', () => {
    const p = definePlugin({ name: 'p', version: '1.0.0', api: '^0.1.0' });
    const q = definePlugin({ name: 'q', version: '1.0.0', api: '^0.1.0' });
    expect(pluginFromModule({ default: p }, 'm').name).toBe('p');
    expect(pluginFromModule({ plugin: q, helper: 1 }, 'm').name).toBe('q');
    expect(() => pluginFromModule({ p, q }, 'm')).toThrow('m: exports 2 plugins (p, q); a package exports exactly one');
  });

  it('a pipeline naming an incompatible plugin fails validation with that one line', async () => {
    await writeFile(join(root, 'pipeline.json'), '{}');
    const raw = { name: 'x', model: { onnx: 'm.onnx' }, plugins: ['./local/too-new'], steps: [{ use: 'new-pass' }] };
    await expect(validatePipeline(raw, { configDir: root })).rejects.toThrow(/^plugins\[0\]: plugin 'too-new' 0\.2\.0 requires core API \^2\.0\.0, but this Tessera provides core API 0\.1\.0$/);
  });
});
