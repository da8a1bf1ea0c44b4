/**
 * The command table (extension/commandTable.ts) against package.json: the same commands, the
 * same titles, `enablement` exactly on those that need the runtime, every command that menus,
 * the welcome view and the walkthrough name is in the table, and the guard's refusals.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMAND_PREFIX, COMMAND_TABLE, refusal, type CommandEntry } from '../../extension/commandTable';

const root = join(__dirname, '..', '..');
interface Contributed {
  command: string;
  title: string;
  category?: string;
  enablement?: string;
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  contributes: { commands: Contributed[]; menus: Record<string, { command: string }[]>; viewsWelcome: { contents: string }[]; walkthroughs: { steps: { description: string; completionEvents?: string[] }[] }[] };
};
const contributed = new Map(pkg.contributes.commands.map((c) => [c.command, c]));
const table = new Map(COMMAND_TABLE.map((e) => [COMMAND_PREFIX + e.name, e]));

describe('command table', () => {
  it('holds every command package.json contributes, and no other, each once', () => {
    assert.equal(table.size, COMMAND_TABLE.length, 'a command is in the table twice');
    assert.deepEqual([...table.keys()].sort(), [...contributed.keys()].sort());
  });

  it('has the titles of package.json, and every command has the Attention category', () => {
    for (const [id, c] of contributed) {
      assert.equal(table.get(id)?.title, c.title, id);
      assert.equal(c.category, 'Attention', id);
    }
  });

  it('marks as needing the runtime exactly the commands package.json disables while it is down', () => {
    for (const [id, c] of contributed) {
      const needs = table.get(id)!.needsRuntime;
      assert.equal(c.enablement === '!attentionInspector.runtimeDown', needs, `${id}: enablement ${c.enablement ?? 'none'} but needsRuntime ${needs}`);
    }
    // Restarting and the log must stay reachable while the runtime is down.
    assert.equal(table.get('attentionInspector.restartRuntime')!.needsRuntime, false);
    assert.equal(table.get('attentionInspector.showLogs')!.needsRuntime, false);
  });

  it('has every command that menus, the welcome view and the walkthrough run', () => {
    const named = new Set<string>();
    for (const items of Object.values(pkg.contributes.menus)) for (const m of items) named.add(m.command);
    const links = [...pkg.contributes.viewsWelcome.map((v) => v.contents), ...pkg.contributes.walkthroughs.flatMap((w) => w.steps.map((s) => s.description))];
    for (const text of links) for (const m of text.matchAll(/\(command:(attentionInspector\.[A-Za-z]+)\)/g)) named.add(m[1]);
    for (const w of pkg.contributes.walkthroughs) for (const s of w.steps) for (const e of s.completionEvents ?? []) named.add(e.replace(/^onCommand:/, ''));
    assert.ok(named.size >= 10, `only ${named.size} commands named`);
    for (const id of named) assert.ok(table.has(id), `${id} is run from package.json but not in the command table`);
  });

  it('is the only place that registers commands', () => {
    const dir = join(root, 'extension');
    const registering = readdirSync(dir).filter((f) => f.endsWith('.ts') && readFileSync(join(dir, f), 'utf8').includes('registerCommand('));
    assert.deepEqual(registering, ['extension.ts']);
  });
});

describe('command guard', () => {
  const needing = COMMAND_TABLE.filter((e) => e.needsRuntime);
  const free = COMMAND_TABLE.filter((e) => !e.needsRuntime);

  it('lets every command run while the runtime runs or has not been started yet (it starts then), and the free ones always', () => {
    for (const e of COMMAND_TABLE) for (const s of ['running', 'idle'] as const) assert.equal(refusal(e, s), undefined, `${e.name} ${s}`);
    for (const e of free) for (const s of ['down', 'starting', 'restarting'] as const) assert.equal(refusal(e, s), undefined, `${e.name} ${s}`);
  });

  it('refuses a command that needs the runtime while it is down, naming the command and the way back', () => {
    assert.ok(needing.length >= 10);
    for (const e of needing) {
      const down = refusal(e, 'down');
      assert.equal(down, `"Attention: ${e.title}" needs the Attention runtime, which is not running; run "Attention: Restart Runtime" (the log says why it stopped).`);
      assert.match(refusal(e, 'restarting')!, /is restarting; try again/);
      assert.match(refusal(e, 'starting')!, /still starting/);
    }
  });

  it('runs the handler the table names with the arguments VS Code passes', async () => {
    const calls: unknown[][] = [];
    const record = (name: string) => (...args: unknown[]) => {
      calls.push([name, ...args]);
      return Promise.resolve(undefined);
    };
    const fake = {
      models: { openModel: record('openModel'), inspectText: record('inspectText'), inspectModelFolder: record('inspectModelFolder') },
      view: { openHead: record('openHead') },
    } as unknown as Parameters<CommandEntry['run']>[0];
    await table.get('attentionInspector.openModel')!.run(fake, '/m', { panel: false });
    await table.get('attentionInspector.openModel')!.run(fake, 42);
    await table.get('attentionInspector.inspectText')!.run(fake, 'a text');
    await table.get('attentionInspector.inspectModel')!.run(fake, '/folder');
    await table.get('attentionInspector.openHead')!.run(fake, { kind: 'head' });
    assert.deepEqual(calls, [
      ['openModel', '/m', false],
      ['openModel', undefined, true],
      ['inspectText', 'a text'],
      ['inspectModelFolder', '/folder'],
      ['openHead', { kind: 'head' }],
    ]);
  });
});
