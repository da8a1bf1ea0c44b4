/** README's command table lists every palette command of package.json, with what each needs. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_PREFIX, COMMAND_TABLE } from '../../extension/commandTable';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  contributes: { commands: { command: string; title: string; category: string }[]; menus: { commandPalette: { command: string; when: string }[] } };
};

/** The rows of the table under "### Commands": first cell (the palette label) and last (needs). */
function readmeRows(): { label: string; needs: string }[] {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const start = text.indexOf('\n### Commands\n');
  assert.ok(start >= 0, 'README.md has no "### Commands" section');
  const section = text.slice(start + 1).split(/\n#{2,3} /)[0];
  return section
    .split('\n')
    .filter((l) => l.startsWith('| Attention: '))
    .map((l) => {
      const cells = l.split('|').map((c) => c.trim());
      return { label: cells[1], needs: cells[cells.length - 2] };
    });
}

describe('README command list', () => {
  it('equals the palette commands of package.json (hidden ones excluded)', () => {
    const hidden = new Set(pkg.contributes.menus.commandPalette.filter((m) => m.when === 'false').map((m) => m.command));
    const palette = pkg.contributes.commands.filter((c) => !hidden.has(c.command)).map((c) => `${c.category}: ${c.title}`);
    const listed = readmeRows().map((r) => r.label);
    assert.equal(new Set(listed).size, listed.length, 'a command is listed twice');
    assert.deepEqual([...listed].sort(), [...palette].sort());
  });

  it('says "runtime" exactly for the commands the command table says need it', () => {
    const byLabel = new Map(COMMAND_TABLE.map((e) => [`Attention: ${e.title}`, e]));
    for (const row of readmeRows()) {
      const entry = byLabel.get(row.label);
      assert.ok(entry, `${row.label} is not in the command table`);
      assert.equal(row.needs === 'runtime', entry.needsRuntime, `${COMMAND_PREFIX}${entry.name}`);
    }
  });
});
