import { copyFile, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkPlugin } from '@tessera/check-plugins';
import { Graph, Tensor } from '@tessera/core';
import { checkPluginApi, type Plugin } from '@tessera/pipeline';
import { afterEach, describe, expect, it } from 'vitest';
import { createPlugin, pluginSource } from './index.js';

const roots: string[] = [];
async function workspace(yaml = 'packages:\n  - packages/*\n'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'tessera-new-'));
  roots.push(root);
  await writeFile(join(root, 'pnpm-workspace.yaml'), yaml);
  // The scaffold's tsconfig extends the workspace's base config, as in the real repository.
  await copyFile(join(import.meta.dirname, '../../../tsconfig.base.json'), join(root, 'tsconfig.base.json'));
  // Resolve the scaffold's dependencies (@tessera/core, @tessera/pipeline, zod) as pnpm would.
  await symlink(join(import.meta.dirname, '../node_modules'), join(root, 'node_modules'), 'dir');
  return root;
}
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

describe('createPlugin', () => {
  it('scaffolds a package that passes every convention check, and wires the workspace globs', async () => {
    const root = await workspace();
    const r = await createPlugin({ name: 'tiny-prune', root, description: 'Prunes tiny weights' });
    expect(r.packageName).toBe('@tessera/plugin-tiny-prune');
    expect(r.files.sort()).toEqual([
      'examples/tiny-prune/pipeline.json',
      'plugins/tiny-prune/CHANGELOG.md',
      'plugins/tiny-prune/README.md',
      'plugins/tiny-prune/experiment/run.ts',
      'plugins/tiny-prune/package.json',
      'plugins/tiny-prune/src/index.ts',
      'plugins/tiny-prune/src/tiny-prune.test.ts',
      'plugins/tiny-prune/tsconfig.json',
      'plugins/tiny-prune/vitest.config.ts',
      'pnpm-workspace.yaml',
    ]);
    expect(checkPlugin(r.dir, root).problems).toEqual([]);
    expect(await readFile(join(root, 'pnpm-workspace.yaml'), 'utf8')).toBe('packages:\n  - plugins/*\n  - examples/*\n  - packages/*\n');
    const pkg = JSON.parse(await readFile(join(r.dir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({ version: '0.1.0', keywords: ['tessera-plugin'], dependencies: { '@tessera/pipeline': 'workspace:*' }, scripts: { experiment: 'tsx experiment/run.ts' } });
  });

  it('generates a plugin module that loads and whose pass works', async () => {
    const root = await workspace();
    const r = await createPlugin({ name: 'gen-check', root });
    const mod = (await import(pathToFileURL(join(r.dir, 'src/index.ts')).href)) as { default: Plugin; pruneSmallWeights: (g: Graph, t: number) => number };
    checkPluginApi(mod.default);
    const g = new Graph('g');
    g.addInitializer('w', Tensor.from([0.5, 0.001, -0.002, 2], [4], 'float32'));
    expect(mod.pruneSmallWeights(g, 0.01)).toBe(0.5);
    expect(mod.default.passes[0]!.options.parse({})).toEqual({ threshold: 0.01 });
  });

  it('refuses bad names and existing folders in one line', async () => {
    const root = await workspace('packages:\n  - plugins/*\n  - examples/*\n');
    await expect(createPlugin({ name: 'My_Plugin', root })).rejects.toThrow("plugin name 'My_Plugin' must be kebab-case (e.g. my-quantizer)");
    await expect(createPlugin({ name: 'plugin-x', root })).rejects.toThrow("leave out the 'plugin-' prefix");
    const r = await createPlugin({ name: 'twice', root });
    expect(r.files).not.toContain('pnpm-workspace.yaml');
    await expect(createPlugin({ name: 'twice', root })).rejects.toThrow('plugins/twice already exists; choose another name or remove it');
  });

  it('writes src/index.ts as well-formed TypeScript with exactly one definePlugin export', () => {
    const src = pluginSource('a-b', 'desc', '^0.1.0');
    expect(src).toContain("export const aBPass = definePass({");
    expect(src).toContain("export default definePlugin({");
    expect(src.match(/definePlugin\(/g)).toHaveLength(1);
  });
});
