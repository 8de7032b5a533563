import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GraphBuilder, Tensor } from '@tessera/core';
import { buildLeNet5 } from '@tessera/models';
import { saveModel } from '@tessera/onnx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './main.js';

const repo = resolve(import.meta.dirname, '../../..');
let dir: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s), isTTY: false });
  return { code, out, err };
}

const pipeline = (over: Record<string, unknown> = {}) => ({
  name: 'cli-test',
  model: { builder: 'lenet5' },
  data: { dataset: 'fashion-mnist', trainSize: 320, testSize: 100 },
  steps: [{ use: 'train', options: { epochs: 1, batchSize: 32 } }, { use: 'quantize-uniform', options: { bits: 8 } }, { use: 'evaluate' }],
  targets: ['asic-45nm'],
  ...over,
});

async function writeConfig(name: string, cfg: unknown): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, JSON.stringify(cfg));
  return p;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tessera-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tessera CLI: bad input is one line and exit code 2', () => {
  it('has --help for every command', async () => {
    for (const c of ['run', 'check', 'plugins', 'report', 'new', 'schema']) {
      const r = await cli(c, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: tessera ${c}`));
    }
    const top = await cli('--help');
    expect(top.out).toContain('Commands:');
  });

  it('a typo in a step name', async () => {
    const p = await writeConfig('typo.json', pipeline({ steps: [{ use: 'train' }, { use: 'quantise' }] }));
    const r = await cli('run', p);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/typo\.json: steps\[1\]\.use: unknown step 'quantise'; valid: check-targets, cost, evaluate, evaluate-onnx-web, export-onnx, prune-magnitude, quantize-uniform, quantize-weights, train\n$/);
  });

  it('a wrong option type and an unknown target, one line each', async () => {
    const p = await writeConfig('types.json', pipeline({ steps: [{ use: 'quantize-uniform', options: { bits: 'eight' } }], targets: ['asic-45nm', 'tpu-v9'] }));
    const r = await cli('run', p);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toEqual([
      expect.stringMatching(/types\.json: steps\[0\]\.options\.bits: expected number, got string "eight"$/),
      expect.stringMatching(/types\.json: targets\[1\]: unknown target 'tpu-v9'; valid: analog-imc, asic-45nm, cpu-ort, fpga, gap8-like, posit-fixed-mac$/),
    ]);
  });

  it('a plugin whose api range excludes this core', async () => {
    const pdir = join(dir, 'future-plugin');
    await mkdir(join(pdir, 'src'), { recursive: true });
    await writeFile(join(pdir, 'package.json'), JSON.stringify({ name: 'future-plugin', type: 'module', exports: { '.': './src/index.ts' } }));
    const api = pathToFileURL(join(repo, 'packages/pipeline/src/plugin.ts')).href;
    await writeFile(join(pdir, 'src/index.ts'), `import { definePlugin } from '${api}';\nexport default definePlugin({ name: 'future-plugin', version: '3.0.0', api: '^1.0.0' });\n`);
    const p = await writeConfig('future.json', pipeline({ plugins: ['./future-plugin'] }));
    const r = await cli('run', p);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^tessera: .*future\.json: plugins\[0\]: plugin 'future-plugin' 3\.0\.0 requires core API \^1\.0\.0, but this Tessera provides core API 0\.1\.0\n$/);
  });

  it('missing files, bad JSON, unknown commands and flags', async () => {
    expect(await cli('run', join(dir, 'nope.json'))).toMatchObject({ code: 2, err: expect.stringMatching(/nope\.json: no such file\n$/) });
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{ "name": ');
    expect(await cli('run', bad)).toMatchObject({ code: 2, err: expect.stringMatching(/bad\.json: not valid JSON/) });
    expect(await cli('frobnicate')).toMatchObject({ code: 2, err: "tessera: unknown command 'frobnicate'; valid: run, check, plugins, report, new, schema (tessera --help)\n" });
    expect(await cli('run', bad, '--fast')).toMatchObject({ code: 2, err: expect.stringMatching(/^tessera: run: Unknown option '--fast'/) });
    expect(await cli('check', join(dir, 'm.onnx'))).toMatchObject({ code: 2, err: expect.stringMatching(/check: --target is required; valid: analog-imc, asic-45nm/) });
    expect(await cli('report', join(dir, 'nowhere'))).toMatchObject({ code: 2 });
  });

  it('Ctrl-C stops the real executable with exit 130 and keeps the finished steps cached', async () => {
    const p = await writeConfig('long.json', pipeline({ name: 'long', steps: [{ use: 'quantize-uniform' }, { use: 'train', options: { epochs: 500, batchSize: 32 } }] }));
    // One process (tsx as a loader), so that the signal reaches the CLI itself rather than tsx's relay.
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/bin.ts', 'run', p], { cwd: repo });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((done) => {
      child.stdout.on('data', (d) => {
        out += d;
        // Interrupt once the first step is done and training has started.
        if (/done {4}quantize-uniform/.test(out) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', (c) => done(c));
    });
    expect(code).toBe(130);
    expect(err).toMatch(/stopping after the running step/);
    expect(err).toMatch(/cancelled; finished steps are cached/);
    const entries = (await readdir(join(dir, 'runs/long/.cache'))).filter((e) => !e.startsWith('.'));
    expect(entries).toHaveLength(1);
    expect(JSON.parse(await readFile(join(dir, 'runs/long/report.json'), 'utf8')).status).toBe('cancelled');
  });

  it('the real executable exits 2 with one line (spawned through tsx from the repository root)', () => {
    const r = spawnSync(process.execPath, [join(repo, 'node_modules/tsx/dist/cli.mjs'), 'packages/cli/src/bin.ts', 'run', 'no-such.json'], { cwd: repo, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('tessera: no-such.json: no such file\n');
  });
});

describe('tessera CLI: commands', () => {
  it('run prints progress, writes the report; a rerun is cached; report redraws it', async () => {
    const p = await writeConfig('ok.json', pipeline());
    const first = await cli('run', p);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/running 'cli-test' \(3 steps\)/);
    expect(first.out).toMatch(/train: 100% \(10\/10 loss/);
    expect(first.out).toMatch(/done {4}evaluate .*accuracy=0\.\d+/);
    const second = await cli('run', p);
    expect(second.out.match(/cached {2}/g)).toHaveLength(3);
    const acc = (s: string) => /evaluate .*accuracy=(\S+)/.exec(s)![1];
    expect(acc(second.out)).toBe(acc(first.out));
    const rep = await cli('report', join(dir, 'runs/cli-test'));
    expect(rep.code).toBe(0);
    expect(rep.out).toMatch(/^cli-test: complete, seed 0, 3 steps/);
    expect(await readFile(join(dir, 'runs/cli-test/report.html'), 'utf8')).toContain('Accuracy by step');
    expect(await cli('run', p, '--validate')).toMatchObject({ code: 0, out: expect.stringMatching(/valid \(3 steps: train, quantize-uniform, evaluate\)/) });
  });

  it('check: a supported model gets its cost; an unsupported op fails with exit 1 naming the node', async () => {
    const lenet = join(dir, 'lenet.onnx');
    await saveModel(buildLeNet5(), lenet);
    const ok = await cli('check', lenet, '--target', 'asic-45nm');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^asic-45nm: ok \(15 nodes supported\)\nasic-45nm: energy=\S+ pJ .*\(estimated\)\n$/);
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 4]);
    b.output(b.op('Sin', [b.op('Add', [x, b.constant(Tensor.from([1, 2, 3, 4], [1, 4]))])]), 'y');
    const odd = join(dir, 'sin.onnx');
    await saveModel(b.graph, odd);
    const bad = await cli('check', odd, '--target', 'asic-45nm', '--target', 'cpu-ort');
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/sin\.onnx: asic-45nm: error: .*Sin.*not supported by target asic45nm/);
    expect(bad.out).toMatch(/cpu-ort: ok/);
  });

  it('plugins lists the built-in plugin and the workspace plugins', async () => {
    const r = await cli('plugins');
    expect(r.out).toMatch(/^core@0\.1\.0 {2}\(built-in, api \^0\.1\.0\)\n {2}passes {6}quantize-uniform, prune-magnitude, quantize-weights\n {2}procedures {2}train, evaluate, check-targets, cost, export-onnx, evaluate-onnx-web\n/);
    expect(r.out).toContain('tessera-plugin-weight-clip@1.0.0  (workspace, examples/third-party-plugin, api ^0.1.0)');
    // @tessera/compress is a library now (its steps are built in), not a plugin.
    expect(r.out).not.toContain('@tessera/compress');
  });

  it('schema describes the built-in steps with their option defaults', async () => {
    const r = await cli('schema');
    const s = JSON.parse(r.out);
    const q = s.properties.steps.items.anyOf.find((a: { properties: { use: { const: string } } }) => a.properties.use.const === 'quantize-uniform');
    expect(q.properties.options.properties.bits).toMatchObject({ type: 'integer', default: 8, minimum: 2, maximum: 8 });
    expect(s.properties.targets.items.enum).toContain('asic-45nm');
  });

  it('new plugin scaffolds a package in the given workspace', async () => {
    const ws = join(dir, 'ws');
    await mkdir(ws);
    await writeFile(join(ws, 'pnpm-workspace.yaml'), 'packages:\n  - plugins/*\n  - examples/*\n');
    const r = await cli('new', 'plugin', 'demo-thing', '--root', ws);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^created @tessera\/plugin-demo-thing in /);
    expect(JSON.parse(await readFile(join(ws, 'plugins/demo-thing/package.json'), 'utf8')).name).toBe('@tessera/plugin-demo-thing');
    expect(await cli('new', 'plugin', 'demo-thing', '--root', ws)).toMatchObject({ code: 2, err: 'tessera: plugins/demo-thing already exists; choose another name or remove it\n' });
  });
});
