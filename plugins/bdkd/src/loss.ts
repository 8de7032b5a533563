/**
 * The BD-KD losses written into the graph (spec 6.3): tempered forward and reverse KL per sample,
 * the entropy gap without gradient, the per-sample weights, the student and teacher objectives.
 * Each network's KD term treats the other's distribution as a constant (stopGradient), so the sum
 * L_S + L_T has exactly ∂L_S/∂θ_S for the student and ∂L_T/∂θ_T for the teacher: one backward
 * through the joint graph is two separate online-KD updates.
 */
import { Tensor, stopGradient, type GraphBuilder, type Value } from '@tessera/core';
import type { LossBuilder } from '@tessera/train';
import type { BdkdLossConfig } from './options.js';

export interface BdkdLossValues {
  /** L_S + L_T (scalar): what the joint step minimises. */
  loss: Value;
  studentLoss: Value;
  /** null for the 'none' weighting (no teacher). */
  teacherLoss: Value | null;
  /** Per-sample [B]: KL(p_T‖p_S) and KL(p_S‖p_T) at temperature τ. */
  fkl: Value;
  rkl: Value;
  /** Per-sample [B] entropy gap H(p_S) − H(p_T) at τ (no gradient). */
  gap: Value;
  /** Per-sample [B] weights a_i (forward KL) and b_i (reverse KL). */
  fklWeight: Value;
  rklWeight: Value;
}

const scalar = (b: GraphBuilder, v: number, name: string) => b.constant(Tensor.scalar(v, 'float32'), 'float32', name);

/** Σ_k over the class axis of a [B, C] value: [B]. */
const rowSum = (b: GraphBuilder, x: Value, name: string) => b.reduceSum(x, [1], false, { name });

/**
 * Per-sample weights (a_i, b_i) of forward and reverse KL from the entropy gap g_i (shape [B],
 * already without gradient). Constant rules still give [B] tensors so diagnostics read the same.
 */
export function divergenceWeights(b: GraphBuilder, gap: Value, cfg: BdkdLossConfig): { fklWeight: Value; rklWeight: Value } {
  const zeroGap = b.mul(gap, scalar(b, 0, 'bdkd.zero'));
  const constant = (v: number, name: string) => b.add(zeroGap, scalar(b, v, `${name}_c`), { name });
  switch (cfg.weighting) {
    case 'hard': {
      // g > 0: the student is less certain than the teacher -> emphasise the mode-seeking reverse KL.
      const m = b.cast(b.greater(gap, scalar(b, 0, 'bdkd.gap_zero')), 'float32', { name: 'bdkd.rkl_dominant' });
      const d = scalar(b, cfg.wMajor - cfg.wMinor, 'bdkd.w_delta');
      return {
        rklWeight: b.add(scalar(b, cfg.wMinor, 'bdkd.w_minor'), b.mul(m, d), { name: 'bdkd.rkl_weight' }),
        fklWeight: b.sub(scalar(b, cfg.wMajor, 'bdkd.w_major'), b.mul(m, d), { name: 'bdkd.fkl_weight' }),
      };
    }
    case 'soft': {
      const rw = b.sigmoid(b.div(gap, scalar(b, cfg.softTemp, 'bdkd.soft_temp')), { name: 'bdkd.rkl_weight' });
      return { rklWeight: rw, fklWeight: b.sub(scalar(b, 1, 'bdkd.one'), rw, { name: 'bdkd.fkl_weight' }) };
    }
    case 'fkl-only':
      return { fklWeight: constant(1, 'bdkd.fkl_weight'), rklWeight: constant(0, 'bdkd.rkl_weight') };
    case 'rkl-only':
      return { fklWeight: constant(0, 'bdkd.fkl_weight'), rklWeight: constant(1, 'bdkd.rkl_weight') };
    case 'fixed-mix':
      return { fklWeight: constant(1 - cfg.fixedMix, 'bdkd.fkl_weight'), rklWeight: constant(cfg.fixedMix, 'bdkd.rkl_weight') };
    case 'none':
      throw new Error("bdkd: weighting 'none' trains the student alone; it has no divergence weights");
  }
}

/**
 * Writes both objectives into the graph of `b` from the two logit values [B, C] and int64 labels [B]:
 *   L_S = CE(y, z_S) + λ_S τ² mean_i [a_i KL(sg p_T‖p_S) + b_i KL(p_S‖sg p_T)]
 *   L_T = CE(y, z_T) + λ_T τ² mean_i KL(p_T‖sg p_S)      (teacherReg 'reverse-kl'; 'forward-kl': KL(sg p_S‖p_T))
 * with p = softmax(z/τ) and (a_i, b_i) from the entropy gap g_i = H(sg p_S) − H(sg p_T).
 */
export function attachBdkdLoss(b: GraphBuilder, v: { studentLogits: Value; teacherLogits: Value; labels: Value }, cfg: BdkdLossConfig): BdkdLossValues {
  if (cfg.weighting === 'none') throw new Error("bdkd: weighting 'none' trains the student alone with cross-entropy; there is no distillation loss to attach");
  const tau = scalar(b, cfg.tau, 'bdkd.tau');
  const lsS = b.logSoftmax(b.div(v.studentLogits, tau), 1, { name: 'bdkd.log_p_student' });
  const lsT = b.logSoftmax(b.div(v.teacherLogits, tau), 1, { name: 'bdkd.log_p_teacher' });
  const pS = b.exp(lsS, { name: 'bdkd.p_student' });
  const pT = b.exp(lsT, { name: 'bdkd.p_teacher' });
  // The other network's distribution as a target: constants for autodiff.
  const lsSc = stopGradient(b, lsS);
  const lsTc = stopGradient(b, lsT);
  const pSc = stopGradient(b, pS);
  const pTc = stopGradient(b, pT);

  const fkl = rowSum(b, b.mul(pTc, b.sub(lsTc, lsS)), 'bdkd.fkl');
  const rkl = rowSum(b, b.mul(pS, b.sub(lsS, lsTc)), 'bdkd.rkl');
  const hS = b.neg(rowSum(b, b.mul(pSc, lsSc), 'bdkd.neg_h_student'));
  const hT = b.neg(rowSum(b, b.mul(pTc, lsTc), 'bdkd.neg_h_teacher'));
  const gap = b.sub(hS, hT, { name: 'bdkd.entropy_gap' });
  const { fklWeight, rklWeight } = divergenceWeights(b, gap, cfg);

  const t2 = cfg.tau * cfg.tau;
  const terms: Value[] = [];
  if (!(cfg.weighting === 'rkl-only')) terms.push(b.mul(fklWeight, fkl));
  if (!(cfg.weighting === 'fkl-only')) terms.push(b.mul(rklWeight, rkl));
  const perSample = terms.length === 1 ? terms[0]! : b.add(terms[0]!, terms[1]!, { name: 'bdkd.kd_per_sample' });
  const kdS = b.reduceMean(perSample, [0], false, { name: 'bdkd.kd_student' });
  const ceS = b.op('SoftmaxCrossEntropyLoss', [v.studentLogits, v.labels], { reduction: 'mean' }, { name: 'bdkd.ce_student' });
  const studentLoss = b.add(ceS, b.mul(kdS, scalar(b, cfg.lambdaStudent * t2, 'bdkd.lambda_student')), { name: 'bdkd.loss_student' });

  const ceT = b.op('SoftmaxCrossEntropyLoss', [v.teacherLogits, v.labels], { reduction: 'mean' }, { name: 'bdkd.ce_teacher' });
  let teacherLoss = ceT;
  if (cfg.teacherReg !== 'none' && cfg.lambdaTeacher > 0) {
    const termT = cfg.teacherReg === 'reverse-kl'
      ? rowSum(b, b.mul(pT, b.sub(lsT, lsSc)), 'bdkd.teacher_rkl')
      : rowSum(b, b.mul(pSc, b.sub(lsSc, lsT)), 'bdkd.teacher_fkl');
    const kdT = b.reduceMean(termT, [0], false, { name: 'bdkd.kd_teacher' });
    teacherLoss = b.add(ceT, b.mul(kdT, scalar(b, cfg.lambdaTeacher * t2, 'bdkd.lambda_teacher')), { name: 'bdkd.loss_teacher' });
  }
  const loss = b.add(studentLoss, teacherLoss, { name: 'bdkd.loss' });
  return { loss, studentLoss, teacherLoss, fkl, rkl, gap, fklWeight, rklWeight };
}

/**
 * The LossBuilder @tessera/train compiles: finds the two logits of the joint graph by name and
 * adds an int64 'labels' input [B] (the Trainer feeds it from the batch).
 */
export function bdkdLossBuilder(names: { studentLogits: string; teacherLogits: string }, cfg: BdkdLossConfig): LossBuilder {
  return (b) => {
    const find = (n: string) => {
      const val = b.graph.value(n);
      if (!val) throw new Error(`bdkd: the training graph has no value '${n}' (is the forward a jointGraph()?)`);
      return val;
    };
    const zs = find(names.studentLogits);
    const zt = find(names.teacherLogits);
    const labels = b.graph.addInput('labels', { dtype: 'int64', shape: [zs.shape![0]!] });
    return { loss: attachBdkdLoss(b, { studentLogits: zs, teacherLogits: zt, labels }, cfg).loss, inputs: [labels] };
  };
}
