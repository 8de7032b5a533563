export type { FloatArray, FormatKind, NumberFormat } from './format.js';
export { PositFormat, Quire, posit } from './posit.js';
export { FixedFormat, fixed } from './fixed.js';
export {
  UniformIntFormat,
  uniformInt,
  calibrateUniformInt,
  quantizePerChannel,
  type UniformIntOptions,
  type PerChannelResult,
} from './uniform-int.js';
export { Pow2Format, pow2 } from './pow2.js';
export { IeeeFormat, bfloat16, float16 } from './ieee.js';
export {
  mitchellMul,
  mitchWMul,
  mitchellMulSigned,
  mitchellMulFloat,
  mitchWMulFloat,
  truncateToW,
  plamMul,
  plamMulValues,
  exactMul,
  approxMatMul,
  type ScalarMul,
} from './approx.js';
export { fakeQuantLowering, lowerFakeQuant, MAX_LOOKUP_VALUES, type FakeQuantLowering, type LoweringConstant, type LoweringNode, type LoweringDType } from './lowering.js';
export { roundHalfEven } from './float-bits.js';
