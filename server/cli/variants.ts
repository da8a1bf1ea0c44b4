/** `attention-inspector variants`: the attention mechanisms that compare can run, with their papers. */
import { parseFlags } from './args';
import { VARIANTS } from '../variants/registry';

const HELP = `usage: attention-inspector variants [--json]

Lists the attention variants (id, paper, defaults). --json prints them as JSON.`;

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, { json: 'boolean', help: 'boolean' }, 'variants');
  if (flags.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const rows = VARIANTS.map((v) => ({ id: v.id, paper: v.paper, summary: v.summary, exact: v.exact, sparse: v.sparse, defaults: v.defaults }));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const width = Math.max(...rows.map((r) => r.id.length));
  for (const r of rows) {
    const defaults = Object.entries(r.defaults).filter(([k]) => k !== 'map').map(([k, v]) => `${k}=${v}`).join(' ');
    process.stdout.write(`${r.id.padEnd(width)}  ${r.paper}${r.exact ? ' [exact]' : ''}${defaults ? `  (${defaults})` : ''}\n`);
  }
  return 0;
}
