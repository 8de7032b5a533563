import { scatterChart } from '@tessera/pipeline';
import { costValue } from './evaluate.js';
import type { FmasResult } from './fmas.js';

/** SVGs: every evaluated candidate with the search front (subset mIoU, no fine-tuning), and the final candidates before/after fine-tuning (test mIoU). */
export async function fmasPlots(r: FmasResult): Promise<{ search: string; final: string }> {
  const scale = r.options.costObjective === 'flops' ? 1e6 : r.options.costObjective === 'params' ? 1e3 : 1;
  const unit = r.options.costObjective === 'flops' ? 'MFLOPs' : r.options.costObjective === 'params' ? 'k parameters' : r.costObjective.unit;
  const xTitle = `${r.costObjective.name} (${unit})`;
  const frontIds = new Set(r.searchFront.map((c) => c.id));
  const search = await scatterChart(
    [
      ...r.evaluated.map((c) => ({ cost: c.objectives[1] / scale, mIoU: c.subsetMIoU, set: frontIds.has(c.id) ? 'search front' : 'evaluated', front: frontIds.has(c.id) })),
      { cost: costOf(r) / scale, mIoU: r.supernet.subsetMIoU, set: 'supernet', front: false },
    ],
    { x: 'cost', y: 'mIoU', color: 'set', frontField: 'front', xTitle, yTitle: 'mIoU on the search subset (no fine-tuning)', title: `FMAS search: ${r.evaluated.length} candidates` },
  );
  const final = await scatterChart(
    [
      ...r.finalFront.map((c) => ({ cost: c.objectives[1] / scale, mIoU: c.testMIoUBeforeFinetune, set: 'sliced, not fine-tuned', front: false })),
      ...r.finalFront.map((c) => ({ cost: c.objectives[1] / scale, mIoU: c.testMIoU, set: `fine-tuned ${r.options.finetuneEpochs} epoch(s)`, front: c.nonDominated })),
      { cost: costOf(r) / scale, mIoU: r.supernet.finetunedTestMIoU, set: 'supernet, same fine-tuning', front: false },
    ],
    { x: 'cost', y: 'mIoU', color: 'set', frontField: 'front', xTitle, yTitle: 'test mIoU', title: 'FMAS final front (test split)' },
  );
  return { search, final };
}

function costOf(r: FmasResult): number {
  return costValue(r.supernet.costs, r.options.costObjective);
}
