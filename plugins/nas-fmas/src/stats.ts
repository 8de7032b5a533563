/** Kendall rank correlation τ-b (ties in either list handled); NaN for fewer than two pairs or a constant list. */
export function kendallTau(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`kendallTau: lists of ${x.length} and ${y.length} values`);
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = Math.sign(x[i]! - x[j]!);
      const dy = Math.sign(y[i]! - y[j]!);
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tiesX++;
      else if (dy === 0) tiesY++;
      else if (dx === dy) concordant++;
      else discordant++;
    }
  }
  const den = Math.sqrt((concordant + discordant + tiesX) * (concordant + discordant + tiesY));
  return den === 0 ? Number.NaN : (concordant - discordant) / den;
}
