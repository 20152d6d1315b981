/**
 * Prints the closing-note text of a PRBoost experiment file as Markdown: the per-iteration table (mean ± sd
 * over seeds), the summary and the claims. Not a benchmark (it measures nothing).
 *   node --import tsx bench/prboost-report.ts [preset-or-tag | path/to/file.json]   (default: default)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { experimentReport, loadExperiment } from '../src/methods/prboost';
import { ROOT } from './lib';

const arg = process.argv[2] ?? 'default';
const file = fs.existsSync(arg) ? arg : path.join(ROOT, 'bench', 'experiments', `prboost-agnews-${arg}.json`);
console.log(experimentReport(loadExperiment(file)));
