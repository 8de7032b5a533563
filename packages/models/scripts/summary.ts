// Prints each zoo model's default config size: learnable parameters (no constants, no BN running
// statistics), nodes and the inferred logits shape (the README table). Run: pnpm --filter @tessera/models summary
import { modelZoo } from '../src/index.js';

console.log('| model | parameters | nodes | logits |');
console.log('|---|---:|---:|---|');
for (const entry of Object.values(modelZoo)) {
  const g = entry.build();
  const params = g.parameters().filter((p) => p.meta.get('constant') !== true && !/running_(mean|var)$/.test(p.name)).reduce((s, p) => s + p.initializer!.size, 0);
  const logits = g.outputs.find((v) => v.name === 'logits')!;
  console.log(`| ${entry.name} | ${params} | ${g.nodeCount} | [${logits.shape!.map((d) => d ?? '?').join(', ')}] |`);
}
