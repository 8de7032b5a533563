/**
 * Scaffolds a plugin package the way check-plugins expects one: plugins/<name> with
 * src/index.ts (one definePlugin export, generated with ts-morph), a test, an experiment script,
 * README (Usage / Fidelity / Results), CHANGELOG and package.json, plus examples/<name>/pipeline.json;
 * then makes sure the workspace globs cover both folders.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { IndentationText, Project, QuoteKind, VariableDeclarationKind } from 'ts-morph';

export interface CreatePluginOptions {
  /** kebab-case folder name; the package becomes @tessera/plugin-<name>. */
  name: string;
  /** The workspace root (holds pnpm-workspace.yaml). */
  root: string;
  description?: string;
  /** Core API range the plugin declares (default ^0.1.0). */
  api?: string;
}

export interface CreatePluginResult {
  packageName: string;
  dir: string;
  example: string;
  /** Files written, relative to the root. */
  files: string[];
}

const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** src/index.ts, built as a syntax tree so that it is well-formed whatever the name. */
export function pluginSource(name: string, description: string, api: string): string {
  const project = new Project({ useInMemoryFileSystem: true, manipulationSettings: { quoteKind: QuoteKind.Single, indentationText: IndentationText.TwoSpaces } });
  const f = project.createSourceFile('index.ts', '', { overwrite: true });
  f.addStatements(`/**\n * @tessera/plugin-${name}: ${description}\n * The one export of this package is the plugin object below; its pass is usable on its own too.\n */`);
  f.addImportDeclaration({ moduleSpecifier: '@tessera/core', namedImports: ['Tensor'], isTypeOnly: false });
  f.addImportDeclaration({ moduleSpecifier: '@tessera/core', namedImports: ['Graph'], isTypeOnly: true });
  f.addImportDeclaration({ moduleSpecifier: '@tessera/pipeline', namedImports: ['definePass', 'definePlugin'] });
  f.addImportDeclaration({ moduleSpecifier: 'zod', namedImports: ['z'] });
  f.addFunction({
    name: 'pruneSmallWeights',
    isExported: true,
    docs: ['Zeroes every parameter element whose magnitude is below `threshold`; returns the fraction zeroed.'],
    parameters: [{ name: 'graph', type: 'Graph' }, { name: 'threshold', type: 'number' }],
    returnType: 'number',
    statements: `let zeroed = 0;
let total = 0;
for (const v of graph.parameters()) {
  const w = v.initializer!.toFloat64();
  for (let i = 0; i < w.length; i++) if (Math.abs(w[i]!) < threshold) { w[i] = 0; zeroed++; }
  total += w.length;
  graph.setInitializer(v.name, Tensor.from(w, v.initializer!.shape, v.initializer!.dtype));
}
return total === 0 ? 0 : zeroed / total;`,
  });
  f.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    declarations: [{
      name: `${camel(name)}Pass`,
      initializer: `definePass({
  name: '${name}-prune',
  description: 'magnitude pruning: zero the weights whose magnitude is below a threshold',
  options: z.object({ threshold: z.number().nonnegative().default(0.01) }).strict(),
  searchSpace: { threshold: { kind: 'float', min: 0.001, max: 0.1, log: true } },
  run(graph, { threshold }, ctx) {
    ctx.logger.info(\`zeroed \${(100 * pruneSmallWeights(graph, threshold)).toFixed(1)}% of the weights\`);
    return graph;
  },
})`,
    }],
  });
  f.addExportAssignment({
    isExportEquals: false,
    expression: `definePlugin({
  name: '@tessera/plugin-${name}',
  version: '0.1.0',
  api: '${api}',
  description: ${JSON.stringify(description)},
  passes: [${camel(name)}Pass],
})`,
  });
  f.formatText({ indentSize: 2 });
  return f.getFullText();
}

function files(name: string, description: string, api: string): Record<string, string> {
  const pkg = `@tessera/plugin-${name}`;
  return {
    'package.json': `${JSON.stringify(
      {
        name: pkg,
        version: '0.1.0',
        description,
        type: 'module',
        license: 'Apache-2.0',
        keywords: ['tessera-plugin'],
        exports: { '.': './src/index.ts' },
        publishConfig: { exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } },
        files: ['dist', 'README.md', 'CHANGELOG.md'],
        scripts: {
          test: 'vitest run',
          typecheck: 'tsc --noEmit -p tsconfig.json',
          build: 'tsc -p tsconfig.json --outDir dist --noEmit false',
          experiment: 'tsx experiment/run.ts',
        },
        dependencies: { '@tessera/core': 'workspace:*', '@tessera/pipeline': 'workspace:*', zod: '4.6.7' },
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': `{\n  "extends": "../../tsconfig.base.json",\n  "compilerOptions": { "rootDir": ".", "noEmit": true },\n  "include": ["src", "experiment"]\n}\n`,
    'vitest.config.ts': `import { mergeConfig } from 'vitest/config';\nimport base from '../../vitest.base.ts';\n\nexport default mergeConfig(base, {});\n`,
    'src/index.ts': pluginSource(name, description, api),
    [`src/${name}.test.ts`]: `import { Graph, Tensor } from '@tessera/core';
import { checkPluginApi } from '@tessera/pipeline';
import { describe, expect, it } from 'vitest';
import plugin, { pruneSmallWeights } from './index.js';

function tinyGraph(): Graph {
  const g = new Graph('tiny');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 4] });
  const w = g.addInitializer('w', Tensor.from([0.5, -0.001, 0.02, -0.3, 0.004, 0.9, -0.05, 0.0001], [4, 2], 'float32'));
  g.addOutput(g.addNode({ op: 'MatMul', inputs: [x, w] }).output());
  return g;
}

describe('${pkg}', () => {
  it('loads against this core API', () => {
    expect(() => checkPluginApi(plugin)).not.toThrow();
    expect(plugin.passes.map((p) => p.name)).toEqual(['${name}-prune']);
  });

  it('zeroes exactly the weights below the threshold', () => {
    const g = tinyGraph();
    expect(pruneSmallWeights(g, 0.01)).toBe(3 / 8);
    expect(Array.from(g.initializers.get('w')!.initializer!.toFloat64(), (v) => Math.round(v * 1e4) / 1e4)).toEqual([0.5, 0, 0.02, -0.3, 0, 0.9, -0.05, 0]);
  });

  it('fills in option defaults', () => {
    expect(plugin.passes[0]!.options.parse({})).toEqual({ threshold: 0.01 });
  });
});
`,
    'experiment/run.ts': `/**
 * Experiment: fraction of weights pruned vs threshold on seeded normal weights (std 0.05).
 * Writes results/experiment.json and results/sparsity.svg. Run: pnpm --filter ${pkg} experiment
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { Graph, Rng, Tensor } from '@tessera/core';
import { lineChart } from '@tessera/pipeline';
import { pruneSmallWeights } from '../src/index.js';

const rng = new Rng(0);
const rows: { threshold: number; pruned: number }[] = [];
for (const threshold of [0.001, 0.003, 0.01, 0.03, 0.1]) {
  const g = new Graph('w');
  g.addInitializer('w', Tensor.from(Array.from({ length: 10_000 }, () => 0.05 * rng.normal()), [100, 100], 'float32'));
  rows.push({ threshold, pruned: pruneSmallWeights(g, threshold) });
}
await mkdir(new URL('../results/', import.meta.url), { recursive: true });
await writeFile(new URL('../results/experiment.json', import.meta.url), \`\${JSON.stringify({ command: 'pnpm --filter ${pkg} experiment', rows }, null, 2)}\\n\`);
await writeFile(new URL('../results/sparsity.svg', import.meta.url), await lineChart(rows, { x: 'threshold', y: 'pruned', xLog: true, title: 'Fraction pruned vs threshold' }));
for (const r of rows) console.log(\`threshold \${r.threshold}: \${(100 * r.pruned).toFixed(1)}% pruned\`);
`,
    'README.md': `# ${pkg}

${description}

## Usage

\`\`\`ts
import plugin, { pruneSmallWeights } from '${pkg}';

pruneSmallWeights(graph, 0.01); // on its own, no pipeline needed
\`\`\`

In a pipeline (\`examples/${name}/pipeline.json\`):

\`\`\`json
{ "plugins": ["${pkg}"], "steps": [{ "use": "${name}-prune", "options": { "threshold": 0.01 } }] }
\`\`\`

## Fidelity

- [R] Replace this with what follows the paper ([P]), what is second-hand ([S]) and what is our
  reconstruction ([R]), and why.

## Results

Run \`pnpm --filter ${pkg} experiment\`; it writes \`results/experiment.json\` and
\`results/sparsity.svg\`. Put the measured numbers here next to the paper's claim.
`,
    'CHANGELOG.md': `# Changelog\n\n## 0.1.0\n\n- Initial scaffold (tessera new plugin ${name}).\n`,
  };
}

function examplePipeline(name: string): string {
  return `${JSON.stringify(
    {
      name: `${name}-example`,
      seed: 0,
      model: { builder: 'mlp', config: { inputs: 784, hidden: [64], outputs: 10 } },
      plugins: [`@tessera/plugin-${name}`],
      steps: [{ use: `${name}-prune`, options: { threshold: 0.01 } }],
      outputs: { onnx: true, report: true },
    },
    null,
    2,
  )}\n`;
}

/** Adds `plugins/*` and `examples/*` to pnpm-workspace.yaml when they are missing. */
async function wireWorkspace(root: string): Promise<string | undefined> {
  const path = join(root, 'pnpm-workspace.yaml');
  const text = existsSync(path) ? await readFile(path, 'utf8') : 'packages:\n';
  const missing = ['plugins/*', 'examples/*'].filter((g) => !new RegExp(`^\\s*-\\s*['"]?${g.replace('*', '\\*')}['"]?\\s*$`, 'm').test(text));
  if (missing.length === 0) return undefined;
  const lines = text.split('\n');
  let at = lines.findIndex((l) => /^packages:\s*$/.test(l));
  if (at < 0) {
    lines.unshift('packages:');
    at = 0;
  }
  lines.splice(at + 1, 0, ...missing.map((g) => `  - ${g}`));
  await writeFile(path, lines.join('\n'));
  return 'pnpm-workspace.yaml';
}

export async function createPlugin(o: CreatePluginOptions): Promise<CreatePluginResult> {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(o.name)) throw new Error(`plugin name '${o.name}' must be kebab-case (e.g. my-quantizer)`);
  if (o.name.startsWith('plugin-')) throw new Error(`plugin name '${o.name}': leave out the 'plugin-' prefix; the package is named @tessera/plugin-<name>`);
  const dir = join(o.root, 'plugins', o.name);
  if (existsSync(dir)) throw new Error(`${relative(o.root, dir)} already exists; choose another name or remove it`);
  const description = o.description ?? `Tessera plugin ${o.name}`;
  const written: string[] = [];
  for (const [rel, text] of Object.entries(files(o.name, description, o.api ?? '^0.1.0'))) {
    const p = join(dir, rel);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, text);
    written.push(relative(o.root, p));
  }
  const example = join(o.root, 'examples', o.name, 'pipeline.json');
  await mkdir(join(example, '..'), { recursive: true });
  if (!existsSync(example)) {
    await writeFile(example, examplePipeline(o.name));
    written.push(relative(o.root, example));
  }
  const wired = await wireWorkspace(o.root);
  if (wired) written.push(wired);
  return { packageName: `@tessera/plugin-${o.name}`, dir, example, files: written };
}
