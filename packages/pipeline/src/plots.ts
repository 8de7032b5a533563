/**
 * Small plotting helpers that return SVG strings, drawn headless with vega-lite + vega (no
 * canvas, no browser). Reports use them, and plugins reuse them for their experiment SVGs so every
 * figure in the repository looks the same.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';

export type Row = Record<string, string | number | boolean | null>;

export interface ChartOptions {
  title?: string;
  width?: number;
  height?: number;
  /** Axis titles (default: the field names). */
  xTitle?: string;
  yTitle?: string;
  /** Log scales for data spanning decades (FER curves, energies). */
  xLog?: boolean;
  yLog?: boolean;
}

export interface LineChartOptions extends ChartOptions {
  x: string;
  y: string;
  /** Field whose values split the rows into one line per series. */
  series?: string;
  points?: boolean;
}

export interface ScatterChartOptions extends ChartOptions {
  x: string;
  y: string;
  /** Field colouring the points (e.g. 'pareto' true/false, or the method). */
  color?: string;
  /** Field shown next to each point. */
  label?: string;
  /** Connect the points whose `frontField` is true, sorted by x (a Pareto front). */
  frontField?: string;
}

export interface BarChartOptions extends ChartOptions {
  /** Category field (e.g. layer name). */
  x: string;
  y: string;
  /** Field stacking or colouring bars (e.g. the target). */
  color?: string;
  /** Draw bars horizontally (better for many layers). */
  horizontal?: boolean;
}

type Spec = Record<string, unknown>;

function scale(log?: boolean): Spec | undefined {
  return log ? { type: 'log' } : { zero: false };
}

function base(rows: readonly Row[], o: ChartOptions): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    ...(o.title ? { title: o.title } : {}),
    width: o.width ?? 360,
    height: o.height ?? 220,
    background: 'white',
    data: { values: rows.map((r) => ({ ...r })) },
    config: { font: 'sans-serif', view: { stroke: '#ddd' } },
  };
}

/** Renders any vega-lite spec to an SVG string. */
export async function renderVegaLite(spec: Spec): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One line per series: accuracy over epochs, FER over SNR (`yLog`), loss curves. */
export function lineChart(rows: readonly Row[], o: LineChartOptions): Promise<string> {
  return renderVegaLite({
    ...base(rows, o),
    mark: { type: 'line', point: o.points ?? true },
    encoding: {
      x: { field: o.x, type: 'quantitative', title: o.xTitle ?? o.x, scale: scale(o.xLog) },
      y: { field: o.y, type: 'quantitative', title: o.yTitle ?? o.y, scale: scale(o.yLog) },
      ...(o.series ? { color: { field: o.series, type: 'nominal' } } : {}),
    },
  });
}

/** Points, optionally with the Pareto front connected: accuracy vs size, energy vs error. */
export function scatterChart(rows: readonly Row[], o: ScatterChartOptions): Promise<string> {
  const x = { field: o.x, type: 'quantitative', title: o.xTitle ?? o.x, scale: scale(o.xLog) };
  const y = { field: o.y, type: 'quantitative', title: o.yTitle ?? o.y, scale: scale(o.yLog) };
  const layers: Spec[] = [
    {
      mark: { type: 'point', filled: true, size: 60 },
      encoding: { x, y, ...(o.color ? { color: { field: o.color, type: 'nominal' } } : {}), tooltip: Object.keys(rows[0] ?? {}).map((f) => ({ field: f })) },
    },
  ];
  if (o.frontField) {
    layers.push({
      transform: [{ filter: { field: o.frontField, equal: true } }],
      mark: { type: 'line', color: '#444', strokeDash: [4, 3] },
      encoding: { x, y, order: { field: o.x, type: 'quantitative' } },
    });
  }
  if (o.label) {
    layers.push({ mark: { type: 'text', dx: 6, align: 'left', fontSize: 9 }, encoding: { x, y, text: { field: o.label } } });
  }
  return renderVegaLite({ ...base(rows, o), layer: layers });
}

/** Bars per category: per-layer costs, per-target energy, accuracy per step. */
export function barChart(rows: readonly Row[], o: BarChartOptions): Promise<string> {
  const cat = { field: o.x, type: 'nominal', title: o.xTitle ?? o.x, sort: null };
  const val = { field: o.y, type: 'quantitative', title: o.yTitle ?? o.y, ...(o.yLog ? { scale: { type: 'log' } } : {}) };
  return renderVegaLite({
    ...base(rows, o),
    mark: 'bar',
    encoding: {
      ...(o.horizontal ? { y: cat, x: val } : { x: cat, y: val }),
      ...(o.color ? { color: { field: o.color, type: 'nominal' }, [o.horizontal ? 'yOffset' : 'xOffset']: { field: o.color } } : {}),
    },
  });
}

/**
 * A reliability diagram: mean confidence vs accuracy per confidence bin, with the diagonal of a
 * perfectly calibrated model. `bins` rows carry `confidence`, `accuracy` and `count`.
 */
export function reliabilityDiagram(bins: readonly { confidence: number; accuracy: number; count: number }[], o: ChartOptions = {}): Promise<string> {
  const rows = bins.map((b) => ({ ...b }));
  return renderVegaLite({
    ...base(rows, o),
    layer: [
      {
        data: { values: [{ p: 0 }, { p: 1 }] },
        mark: { type: 'line', color: '#999', strokeDash: [4, 3] },
        encoding: { x: { field: 'p', type: 'quantitative', scale: { domain: [0, 1] }, title: o.xTitle ?? 'confidence' }, y: { field: 'p', type: 'quantitative', scale: { domain: [0, 1] }, title: o.yTitle ?? 'accuracy' } },
      },
      {
        mark: { type: 'point', filled: true },
        encoding: {
          x: { field: 'confidence', type: 'quantitative' },
          y: { field: 'accuracy', type: 'quantitative' },
          size: { field: 'count', type: 'quantitative', legend: null },
        },
      },
    ],
  });
}
