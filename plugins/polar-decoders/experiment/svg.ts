// A minimal dependency-free SVG line chart for the experiment figures (data in, SVG string out).
// Kept separate from the data so the report library's charts can replace it without touching
// the experiments.
export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export interface LineChartSpec {
  title: string;
  xTitle: string;
  yTitle: string;
  yLog?: boolean;
  series: Series[];
  width?: number;
  height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function lineChartSvg(spec: LineChartSpec): string {
  const W = spec.width ?? 640;
  const H = spec.height ?? 400;
  const m = { l: 70, r: 200, t: 40, b: 50 };
  const pts = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y) && (!spec.yLog || p.y > 0));
  const tx = (v: number): number => v;
  const ty = (v: number): number => (spec.yLog ? Math.log10(v) : v);
  let x0 = Math.min(...pts.map((p) => tx(p.x)));
  let x1 = Math.max(...pts.map((p) => tx(p.x)));
  let y0 = Math.min(...pts.map((p) => ty(p.y)));
  let y1 = Math.max(...pts.map((p) => ty(p.y)));
  if (spec.yLog) (y0 = Math.floor(y0)), (y1 = Math.ceil(y1));
  if (x0 === x1) (x0 -= 1), (x1 += 1);
  if (y0 === y1) (y0 -= 1), (y1 += 1);
  const px = (v: number): number => m.l + ((tx(v) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (v: number): number => H - m.b - ((ty(v) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2 - m.r / 2}" y="20" text-anchor="middle" font-size="13">${esc(spec.title)}</text>`);
  // Axes and grid.
  const yTicks = spec.yLog
    ? Array.from({ length: y1 - y0 + 1 }, (_, i) => 10 ** (y0 + i))
    : Array.from({ length: 6 }, (_, i) => y0 + ((y1 - y0) * i) / 5);
  for (const t of yTicks) {
    const y = py(t);
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${m.l - 6}" y="${y + 4}" text-anchor="end">${spec.yLog ? `1e${Math.round(Math.log10(t))}` : +t.toPrecision(3)}</text>`);
  }
  const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  for (const t of xs) out.push(`<text x="${px(t)}" y="${H - m.b + 16}" text-anchor="middle">${+t.toPrecision(4)}</text>`);
  out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  out.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(spec.xTitle)}</text>`);
  out.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yTitle)}</text>`);
  spec.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const ok = s.points.filter((p) => Number.isFinite(p.y) && (!spec.yLog || p.y > 0)).sort((a, b) => a.x - b.x);
    if (ok.length > 1) out.push(`<polyline fill="none" stroke="${c}" stroke-width="1.8" points="${ok.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of ok) out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${c}"/>`);
    const ly = m.t + 10 + i * 16;
    out.push(`<line x1="${W - m.r + 12}" x2="${W - m.r + 30}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${W - m.r + 34}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
