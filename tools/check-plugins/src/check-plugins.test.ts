import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Project } from 'ts-morph';
import { afterEach, describe, expect, it } from 'vitest';
import { checkAllPlugins, checkPlugin, countPluginExports, readmeSections } from './index.js';

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});

const goodReadme = '# @tessera/plugin-fx\n\n## Usage\n\nx\n\n## Fidelity\n\n- [P] y\n\n## Results\n\nz\n';

/** A plugin fixture in a temp workspace; `overrides` replace or (with null) delete files. */
async function fixture(overrides: Record<string, string | null> = {}): Promise<{ root: string; dir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'tessera-check-'));
  roots.push(root);
  const dir = join(root, 'plugins/fx');
  const files: Record<string, string | null> = {
    'plugins/fx/package.json': JSON.stringify({ name: '@tessera/plugin-fx', version: '1.0.0', scripts: { experiment: 'tsx experiment/run.ts' } }),
    'plugins/fx/src/index.ts': "import { definePlugin } from '@tessera/pipeline';\nexport default definePlugin({ name: '@tessera/plugin-fx', version: '1.0.0', api: '^0.1.0' });\n",
    'plugins/fx/src/fx.test.ts': "import { it } from 'vitest';\nit('x', () => {});\n",
    'plugins/fx/experiment/run.ts': 'export {};\n',
    'plugins/fx/README.md': goodReadme,
    'plugins/fx/CHANGELOG.md': '# Changelog\n',
    'examples/fx/pipeline.json': '{}',
    ...overrides,
  };
  for (const [rel, text] of Object.entries(files)) {
    if (text === null) continue;
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), text);
  }
  return { root, dir };
}

describe('check-plugins', () => {
  it('passes a plugin that follows every convention', async () => {
    const { root, dir } = await fixture();
    expect(checkPlugin(dir, root).problems).toEqual([]);
  });

  it('FAILS a plugin whose README misses the Fidelity and Results sections', async () => {
    const { root } = await fixture({ 'plugins/fx/README.md': '# fx\n\n## Usage\n\nx\n\n```md\n## Results\n```\n' });
    expect(checkAllPlugins(root)).toEqual([{ plugin: 'plugins/fx', problems: ["plugins/fx: README.md lacks sections: Fidelity, Results (as '## Fidelity' headings)"] }]);
  });

  it('names every other missing piece, one line each', async () => {
    const { root, dir } = await fixture({
      'plugins/fx/package.json': JSON.stringify({ name: 'fx-thing' }),
      'plugins/fx/src/fx.test.ts': null,
      'plugins/fx/CHANGELOG.md': null,
      'examples/fx/pipeline.json': null,
      'plugins/fx/src/index.ts': "import { definePlugin } from '@tessera/pipeline';\nexport const a = definePlugin({} as never);\nexport const b = definePlugin({} as never);\n",
    });
    expect(checkPlugin(dir, root).problems).toEqual([
      "plugins/fx: package.json: name 'fx-thing' should be @tessera/plugin-<name>, or carry the keyword 'tessera-plugin'",
      'plugins/fx: package.json: no version (plugins are versioned independently)',
      'plugins/fx: src/index.ts: exports 2 definePlugin(...) objects; export exactly one',
      'plugins/fx: CHANGELOG.md is missing',
      'plugins/fx: no example pipeline under examples/fx/ (pipeline.json or pipeline*.ts)',
      'plugins/fx: no tests (*.test.ts next to the code)',
      "plugins/fx: package.json: no 'experiment' script (reproduces the plugin's characteristic effect, writes JSON + SVG)",
    ]);
  });

  it('counts a plugin defined in src/plugin.ts and re-exported by src/index.ts once', async () => {
    const { root, dir } = await fixture({
      'plugins/fx/src/plugin.ts': "import { definePlugin } from '@tessera/pipeline';\nexport const fxPlugin = definePlugin({ name: '@tessera/plugin-fx', version: '1.0.0', api: '^0.1.0' });\n",
      'plugins/fx/src/index.ts': "export * from './lib.js';\nexport { fxPlugin as default, fxPlugin } from './plugin.js';\n",
      'plugins/fx/src/lib.ts': 'export const helper = 1;\n',
    });
    expect(checkPlugin(dir, root).problems).toEqual([]);
  });

  it('counts plugin exports: default, named, default of a local, not helpers', () => {
    const p = new Project({ useInMemoryFileSystem: true });
    const count = (src: string) => countPluginExports(p.createSourceFile(`f${Math.random()}.ts`, src));
    expect(count('export default definePlugin({});')).toBe(1);
    expect(count('export const plugin = definePlugin({});')).toBe(1);
    expect(count('const plugin = definePlugin({});\nexport default plugin;')).toBe(1);
    expect(count('export const plugin = definePlugin({});\nexport default plugin;')).toBe(1);
    expect(count('export const pass = definePass({});\nconst p = definePlugin({});')).toBe(0);
  });

  it('reads README headings, ignoring fenced code', () => {
    expect(readmeSections('# T\n## Usage\n```\n## Fake\n```\n### Results: table\n## Fidelity.\n')).toEqual(['usage', 'results: table', 'fidelity']);
  });
});
