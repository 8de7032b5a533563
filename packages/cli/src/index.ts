export { main, UsageError } from './main.js';
export { progressPrinter, artefactSummary, type Io } from './progress.js';
