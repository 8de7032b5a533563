// Quick FER/BER sweep from the command line:
//   pnpm --filter @tessera/plugin-polar-decoders exec tsx src/cli.ts --n 128 --k 64 --decoder sc --ebn0 1,2,3
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PolarParameterError } from './errors.js';
import { BUILTIN_DECODERS, type DecoderSpec } from './registry.js';
import { simulate, sweepToCsv } from './simulate.js';

const USAGE = `usage: tsx src/cli.ts --n N --k K [--crc none|11-5G|16-CCITT|24-5GC|0xPOLY:LEN] [--systematic]
  [--construction 5g|ga --design-snr DB] --decoder ${BUILTIN_DECODERS.names().join('|')}
  [--L 8] [--nodes exact|chase] [--t-max 10] [--max-queries 100000] [--levels 16] [--max-steps 12] [--variant basic|1-line]
  --ebn0 1,2,3 [--frame-errors 100] [--max-frames 1e7] [--max-seconds S] [--seed 1] [--workers 0] [--state FILE] [--out FILE.csv]`;

class UsageError extends Error {}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--${name}: got '${v}', expected a number`);
  return x;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      n: { type: 'string' }, k: { type: 'string' }, crc: { type: 'string' }, systematic: { type: 'boolean' },
      construction: { type: 'string' }, 'design-snr': { type: 'string' },
      decoder: { type: 'string' }, L: { type: 'string' }, nodes: { type: 'string' }, 't-max': { type: 'string' },
      'max-queries': { type: 'string' }, 'max-weight': { type: 'string' }, levels: { type: 'string' }, 'max-steps': { type: 'string' },
      variant: { type: 'string' }, checkers: { type: 'string' },
      ebn0: { type: 'string' }, 'frame-errors': { type: 'string' }, 'max-frames': { type: 'string' }, 'max-seconds': { type: 'string' },
      seed: { type: 'string' }, workers: { type: 'string' }, state: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  for (const req of ['n', 'k', 'decoder', 'ebn0'] as const) if (values[req] === undefined) throw new UsageError(`--${req} is required`);
  const ebn0 = values.ebn0!.split(',').map((s) => num('ebn0', s)!);
  const type = values.decoder!;
  const options: Record<string, unknown> = { type };
  const set = (key: string, v: unknown): void => {
    if (v !== undefined) options[key] = v;
  };
  set('L', num('L', values.L));
  set('nodes', values.nodes);
  set('tMax', num('t-max', values['t-max']));
  set('maxQueries', num('max-queries', values['max-queries']));
  set('maxWeight', num('max-weight', values['max-weight']));
  set('levels', num('levels', values.levels));
  set('maxSteps', num('max-steps', values['max-steps']));
  set('variant', values.variant);
  set('checkers', num('checkers', values.checkers));
  const construction = values.construction;
  if (construction !== undefined && construction !== '5g' && construction !== 'ga') {
    throw new UsageError(`--construction: got '${construction}', expected 5g or ga`);
  }
  const result = await simulate(
    {
      code: {
        n: num('n', values.n)!, k: num('k', values.k)!, crc: values.crc ?? 'none', systematic: values.systematic ?? false,
        construction, designSnrDb: num('design-snr', values['design-snr']),
      },
      decoder: options as unknown as DecoderSpec,
      ebn0,
      frameErrors: num('frame-errors', values['frame-errors']),
      maxFrames: num('max-frames', values['max-frames']),
      maxSeconds: num('max-seconds', values['max-seconds']),
      seed: num('seed', values.seed),
    },
    {
      workers: num('workers', values.workers),
      stateFile: values.state,
      onProgress: (p) => {
        if (p.pointDone) process.stderr.write(`${p.ebn0Db.toFixed(2)} dB: FER ${p.fer.toExponential(3)} (${p.frameErrors}/${p.frames})\n`);
      },
    },
  );
  const csv = sweepToCsv(result);
  if (values.out) writeFileSync(values.out, csv);
  process.stdout.write(csv);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const bad = e instanceof UsageError || e instanceof PolarParameterError || (e instanceof TypeError && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'));
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    process.stderr.write(`error: ${msg}${bad ? ' (--help for usage)' : ''}\n`);
    process.exit(bad ? 2 : 1);
  },
);
