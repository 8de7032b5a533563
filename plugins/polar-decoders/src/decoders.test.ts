import { describe, expect, it } from 'vitest';
import { AwgnFrameSource } from './channel.js';
import { PolarCode } from './code.js';
import type { PolarDecoder } from './decoder.js';
import { ParityCheck } from './decoders/grand.js';
import { ListEngine } from './decoders/list-engine.js';
import { ScEngine } from './decoders/sc.js';
import { createDecoder, type DecoderSpec } from './registry.js';
import { OP_F, OP_G, OP_LEAF_INFO, OP_RATE1, OP_REP, OP_SPC } from './tree.js';

function sameBits(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function ferOf(code: PolarCode, spec: DecoderSpec, ebn0: number, frames: number, seed = 3): { fer: number; decoder: PolarDecoder; attempts: number; latency: number } {
  const d = createDecoder(code, spec);
  const src = new AwgnFrameSource(code, seed);
  const msg = new Uint8Array(code.kInfo);
  let fe = 0;
  let attempts = 0;
  let latency = 0;
  for (let f = 0; f < frames; f++) {
    src.generate(0, f, ebn0);
    const st = d.decode(src.llr, msg);
    attempts += st.attempts;
    latency += st.latency;
    if (!sameBits(msg, src.message)) fe++;
  }
  return { fer: fe / frames, decoder: d, attempts: attempts / frames, latency: latency / frames };
}

describe('Fast-SSC makes exactly SC decisions', () => {
  it('20,000 frames at five SNRs, systematic and non-systematic, N = 128 and 256', () => {
    let compared = 0;
    let differing = 0;
    for (const [n, k, systematic] of [[128, 64, true], [256, 128, false]] as const) {
      const code = new PolarCode({ n, k, systematic });
      const sc = createDecoder(code, { type: 'sc' });
      const fast = createDecoder(code, { type: 'fast-ssc' });
      const src = new AwgnFrameSource(code, 11);
      const msg = new Uint8Array(k);
      [0, 1, 2, 3, 4].forEach((ebn0, j) => {
        for (let f = 0; f < 2000; f++) {
          src.generate(j, f, ebn0);
          sc.decode(src.llr, msg);
          fast.decode(src.llr, msg);
          compared++;
          if (!sameBits(sc.codeword, fast.codeword)) differing++;
        }
      });
    }
    expect(compared).toBe(20_000);
    expect(differing).toBe(0);
  });

  it('the WebAssembly SIMD kernels compute every LLR and partial sum bit for bit as the scalar loops', () => {
    let frames = 0;
    for (const [n, k, systematic] of [[1024, 512, true], [256, 128, false]] as const) {
      const code = new PolarCode({ n, k, systematic });
      for (const mode of ['plain', 'fast'] as const) {
        const simd = new ScEngine(code.frozen, mode, true);
        const scalar = new ScEngine(code.frozen, mode, false);
        expect(simd.usesSimd).toBe(true);
        expect(scalar.usesSimd).toBe(false);
        const src = new AwgnFrameSource(code, 5);
        const simdBits = new Int32Array(simd.A.buffer, 0, 2 * n);
        const scalarBits = new Int32Array(scalar.A.buffer, 0, 2 * n);
        for (let f = 0; f < 600; f++) {
          src.generate(f % 3, f, (f % 3) + 0.5);
          const llr = src.llr;
          // Signed zeros, subnormals and ties between magnitudes.
          if (f % 50 === 0) for (let i = 0; i < n; i += 7) llr[i] = [0, -0, 1e-40, -1e-40, 0.5, -0.5][(i / 7) % 6]!;
          simd.run(llr);
          scalar.run(llr);
          expect(sameBits(simd.B, scalar.B)).toBe(true);
          let same = true;
          for (let i = 0; i < 2 * n; i++) if (simdBits[i] !== scalarBits[i]) same = false;
          expect(same).toBe(true);
          frames++;
        }
      }
    }
    expect(frames).toBe(2400);
  });

  it('list decoding with the SIMD kernels keeps exactly the scalar paths and metrics', () => {
    let frames = 0;
    const code = new PolarCode({ n: 256, k: 128, systematic: true });
    for (const [mode, L, bits] of [['plain', 4, 0], ['fast', 8, 2], ['fast', 4, 99]] as const) {
      const make = (simd: boolean): ListEngine =>
        new ListEngine(code.frozen, { listSize: L, mode, rate1Bits: (s) => Math.min(bits || L - 1, s), spcBits: (s) => Math.min(bits ? 4 : L + 1, s), simd });
      const a = make(true);
      const b = make(false);
      expect(a.usesSimd).toBe(true);
      expect(b.usesSimd).toBe(false);
      const src = new AwgnFrameSource(code, 9);
      for (let f = 0; f < 300; f++) {
        src.generate(0, f, 1 + (f % 3));
        a.run(src.llr);
        b.run(src.llr);
        expect(a.active).toBe(b.active);
        for (let j = 0; j < a.active; j++) {
          expect(a.paths[j]).toBe(b.paths[j]);
          expect(a.metric[a.paths[j]!]).toBe(b.metric[b.paths[j]!]);
          expect(sameBits(a.codewordOf(a.paths[j]!), b.codewordOf(b.paths[j]!))).toBe(true);
        }
        frames++;
      }
    }
    expect(frames).toBe(900);
  });

  it('the fast tree does not descend: fewer f/g stages, and all four node types occur', () => {
    const code = new PolarCode({ n: 1024, k: 512 });
    const sc = createDecoder(code, { type: 'sc' }) as unknown as { engine: { program: { counts: Int32Array }; latency: number } };
    const fast = createDecoder(code, { type: 'fast-ssc' }) as unknown as { engine: { program: { counts: Int32Array }; latency: number } };
    const c = fast.engine.program.counts;
    expect(sc.engine.latency).toBe(2 * 1024 - 2);
    expect(c[OP_LEAF_INFO]).toBeLessThan(64);
    expect(c[OP_F]! + c[OP_G]!).toBeLessThan(sc.engine.program.counts[OP_F]! / 2);
    expect(c[OP_RATE1]! * c[OP_REP]! * c[OP_SPC]!).toBeGreaterThan(0);
    expect(fast.engine.latency).toBeLessThan(sc.engine.latency / 4);
  });
});

describe('Fast-SCL with exact node enumeration makes exactly SCL decisions', () => {
  it.each([2, 4, 8])('L = %i, N = 128, 1500 frames at three SNRs', (L) => {
    const code = new PolarCode({ n: 128, k: 64, systematic: true });
    const scl = createDecoder(code, { type: 'scl', L });
    const fast = createDecoder(code, { type: 'fast-scl', L, nodes: 'exact', crcSelect: false });
    const src = new AwgnFrameSource(code, 5);
    const msg = new Uint8Array(64);
    let differing = 0;
    [1, 2, 3].forEach((ebn0, j) => {
      for (let f = 0; f < 500; f++) {
        src.generate(j, f, ebn0);
        scl.decode(src.llr, msg);
        fast.decode(src.llr, msg);
        if (!sameBits(scl.codeword, fast.codeword)) differing++;
      }
    });
    expect(differing).toBe(0);
  });

  it('SCL with L = 1 is SC; CA-SCL-8 beats SCL-8 beats SC (N = 128, K = 64 + CRC-11, 1.5 dB)', () => {
    const code = new PolarCode({ n: 128, k: 64, crc: '11-5G' });
    const src = new AwgnFrameSource(code, 9);
    const msg = new Uint8Array(64);
    const sc = createDecoder(code, { type: 'sc' });
    const scl1 = createDecoder(code, { type: 'scl', L: 1 });
    for (let f = 0; f < 300; f++) {
      src.generate(0, f, 1);
      sc.decode(src.llr, msg);
      scl1.decode(src.llr, msg);
      expect(sameBits(sc.codeword, scl1.codeword)).toBe(true);
    }
    const fSc = ferOf(code, { type: 'sc' }, 1.5, 1500).fer;
    const fScl = ferOf(code, { type: 'scl', L: 8 }, 1.5, 1500).fer;
    const fCa = ferOf(code, { type: 'ca-scl', L: 8 }, 1.5, 1500).fer;
    const fFast = ferOf(code, { type: 'fast-scl', L: 8, nodes: 'chase' }, 1.5, 1500).fer;
    expect(fScl).toBeLessThan(fSc);
    expect(fCa).toBeLessThan(fScl);
    expect(Math.abs(fFast - fCa)).toBeLessThan(0.02);
  });
});

describe('flip decoders', () => {
  const code = new PolarCode({ n: 128, k: 64, crc: '11-5G' });

  it('SC-Flip beats SC and counts every extra attempt in its latency', () => {
    const sc = ferOf(code, { type: 'sc' }, 2, 1500);
    const scf = ferOf(code, { type: 'sc-flip', tMax: 8 }, 2, 1500);
    expect(scf.fer).toBeLessThan(sc.fer);
    expect(scf.attempts).toBeGreaterThan(1);
    expect(scf.latency).toBeCloseTo(scf.attempts * (2 * 128 - 2), 6);
  });

  it('SCL-Flip and Fast-SCLF beat CA-SCL with the same L; attempts are counted', () => {
    const ca = ferOf(code, { type: 'ca-scl', L: 2 }, 1.5, 1200);
    const sclf = ferOf(code, { type: 'scl-flip', L: 2, tMax: 10 }, 1.5, 1200);
    const fsclf = ferOf(code, { type: 'fast-sclf', L: 2, tMax: 10 }, 1.5, 1200);
    expect(sclf.fer).toBeLessThan(ca.fer);
    expect(fsclf.fer).toBeLessThan(ca.fer);
    expect(sclf.attempts).toBeGreaterThan(1);
    expect(fsclf.attempts).toBeGreaterThan(1);
    // Fast-SCLF's attempts are cheaper: fewer model time steps per decoding.
    expect(fsclf.latency / fsclf.attempts).toBeLessThan(sclf.latency / sclf.attempts);
  });

  it('Fast-SCLF learns α online from CRC-confirmed flips only', () => {
    const d = createDecoder(code, { type: 'fast-sclf', L: 2, tMax: 10, learningRate: 0.2, window: 4 }) as unknown as { parameter: number; learning: boolean };
    expect(d.learning).toBe(true);
    const before = d.parameter;
    ferOf(code, { type: 'sc' }, 1, 1); // warm-up of the helper
    const src = new AwgnFrameSource(code, 21);
    const msg = new Uint8Array(64);
    for (let f = 0; f < 400; f++) {
      src.generate(0, f, 1.5);
      (d as unknown as PolarDecoder).decode(src.llr, msg);
    }
    expect(d.parameter).not.toBe(before);
  });
});

describe('GRAND family', () => {
  const code = new PolarCode({ n: 128, k: 105, crc: '11-5G' });

  it('the parity-check matrix annihilates every codeword', () => {
    const H = new ParityCheck(code);
    expect(H.rows).toBe(23);
    const src = new AwgnFrameSource(code, 2);
    const syn = new Int32Array(H.words);
    for (let f = 0; f < 50; f++) {
      src.generate(0, f, 3);
      H.syndrome(src.codeword, syn);
      expect(Array.from(syn)).toEqual([0]);
    }
  });

  it('hard GRAND, ORBGRAND (basic, 1-line), step-GRAND decode valid codewords and beat SC', () => {
    const sc = ferOf(code, { type: 'sc' }, 5, 600).fer;
    const specs: DecoderSpec[] = [
      { type: 'grand', maxWeight: 2 },
      { type: 'orbgrand', maxQueries: 20_000 },
      { type: 'orbgrand', variant: '1-line', maxQueries: 20_000 },
      { type: 'step-grand', levels: 16, maxSteps: 10, maxQueries: 20_000 },
    ];
    const H = new ParityCheck(code);
    const syn = new Int32Array(H.words);
    const results: Record<string, number> = {};
    for (const spec of specs) {
      const r = ferOf(code, spec, 5, 600);
      results[r.decoder.name] = r.fer;
      H.syndrome(r.decoder.codeword, syn);
      expect(syn[0]).toBe(0); // the last frame decoded to a codeword
    }
    expect(results['orbgrand(basic,qmax=20000)']!).toBeLessThan(sc);
    expect(results['step-grand(Q=16,S=10,P=32)']!).toBeLessThan(sc);
  });

  it('GRAND abandons at its query budget', () => {
    const d = createDecoder(code, { type: 'orbgrand', maxQueries: 50 });
    const src = new AwgnFrameSource(code, 4);
    const msg = new Uint8Array(105);
    let abandoned = 0;
    for (let f = 0; f < 100; f++) {
      src.generate(0, f, 0);
      const st = d.decode(src.llr, msg);
      expect(st.queries).toBeLessThanOrEqual(50);
      if (!st.valid) abandoned++;
    }
    expect(abandoned).toBeGreaterThan(0);
  });
});

describe('every registered decoder', () => {
  it.each([
    [4, 2, 'none'],
    [16, 4, '6-5G'],
    [64, 20, '11-5G'],
  ] as const)('recovers the message from noiseless LLRs (N = %i, K = %i, CRC %s)', (n, k, crc) => {
    const code = new PolarCode({ n, k, crc });
    const needsCrc = new Set(['ca-scl', 'sc-flip', 'scl-flip', 'fast-sclf']);
    const msg = new Uint8Array(k);
    const x = new Uint8Array(n);
    const llr = new Float32Array(n);
    const out = new Uint8Array(k);
    for (const type of ['sc', 'fast-ssc', 'scl', 'ca-scl', 'fast-scl', 'sc-flip', 'scl-flip', 'fast-sclf', 'grand', 'orbgrand', 'step-grand'] as const) {
      if (crc === 'none' && needsCrc.has(type)) continue;
      const d = createDecoder(code, { type, L: 4 } as DecoderSpec);
      for (let t = 0; t < 5; t++) {
        for (let i = 0; i < k; i++) msg[i] = (i * 3 + t) % 4 === 1 ? 1 : 0;
        code.encode(msg, x);
        for (let i = 0; i < n; i++) llr[i] = x[i] ? -8 : 8;
        const st = d.decode(llr, out);
        expect(Array.from(out), `${type} N=${n}`).toEqual(Array.from(msg));
        expect(sameBits(d.codeword, x)).toBe(true);
        expect(st.attempts).toBe(1);
      }
    }
  });
});
