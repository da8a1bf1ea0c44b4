/**
 * `attention-inspector variants`: the variant catalog (server/variants/registry.ts), the same list
 * the runtime serves as attention/listVariants: the mechanisms compare can run, with their papers
 * and defaults, then the KV-head layouts the estimator also covers.
 */
import { parseFlags, printedHelp } from './args';
import { variantCatalog } from '../variants/registry';

const HELP = `usage: attention-inspector variants [--json]

Lists the attention variants of the catalog (id, paper, defaults, cost model). compare runs the
runnable ones; estimate covers all. Old ids are accepted: lsh (now reformer-lsh) and sliding
(now longformer). --json prints the catalog as JSON.`;

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, { json: 'boolean', help: 'boolean' }, 'variants');
  if (printedHelp(flags, HELP)) return 0;
  const rows = variantCatalog();
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(...rows.map((r) => r.id.length));
  for (const r of rows) {
    const defaults = Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(' ');
    const marks = `${r.exact && r.runnable ? ' [exact]' : ''}${r.runnable ? '' : ' [estimate only]'}`;
    const aliases = r.aliases.length ? `  (also: ${r.aliases.join(', ')})` : '';
    process.stdout.write(`${r.id.padEnd(width)}  ${r.paper}${marks}${defaults ? `  (${defaults})` : ''}${aliases}\n`);
  }
  return 0;
}
