/**
 * The lint rule that keeps the sides apart (eslint.config.mjs): extension/, server/ and
 * webview/ import common/ and protocol/ but never each other, and common/ and protocol/ import
 * none of them. Each case lints a small module placed as if it sat in that folder (nothing is
 * written) and checks whether ESLint reports the import.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = join(__dirname, '..', '..');

interface Case {
  file: string;
  from: string;
  crosses: boolean;
}

const CASES: Case[] = [
  { file: 'server/report/boundaryProbe.ts', from: '../../webview/colorScale', crosses: true },
  { file: 'server/boundaryProbe.ts', from: '../extension/log', crosses: true },
  { file: 'webview/efficiency/boundaryProbe.ts', from: '../../server/efficiency/estimate', crosses: true },
  { file: 'extension/boundaryProbe.ts', from: '../server/capture/types', crosses: true },
  { file: 'extension/boundaryProbe.ts', from: '../webview/colorScale', crosses: true },
  { file: 'common/boundaryProbe.ts', from: '../server/capture/types', crosses: true },
  { file: 'protocol/boundaryProbe.ts', from: '../webview/colorScale', crosses: true },
  { file: 'server/report/boundaryProbe.ts', from: '../../common/csp', crosses: false },
  { file: 'webview/boundaryProbe.ts', from: '../common/format', crosses: false },
  { file: 'extension/boundaryProbe.ts', from: '../protocol/runtime', crosses: false },
  { file: 'server/report/boundaryProbe.ts', from: '../capture/types', crosses: false },
  { file: 'common/boundaryProbe.ts', from: '../protocol/webview', crosses: false },
];

describe('import boundaries between the sides', function () {
  this.timeout(120_000);
  const eslint = new ESLint({ cwd: root });

  for (const c of CASES) {
    it(`${c.file} importing '${c.from}' is ${c.crosses ? 'refused' : 'allowed'}`, async () => {
      const code = `import type * as other from '${c.from}';\nexport type Other = typeof other;\n`;
      const [result] = await eslint.lintText(code, { filePath: join(root, c.file) });
      const crossing = result.messages.filter((m) => m.ruleId === 'no-restricted-imports');
      assert.equal(crossing.length, c.crosses ? 1 : 0, JSON.stringify(result.messages));
      if (c.crosses) assert.match(crossing[0].message, /may import common\/ and protocol\//);
    });
  }

  it('the sources as they are cross no boundary', async () => {
    const results = await eslint.lintFiles(['common', 'protocol', 'webview/efficiency', 'server/report', 'extension/panelHtml.ts']);
    const crossing = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => `${r.filePath}:${m.line} ${m.message}`));
    assert.deepEqual(crossing, []);
    assert.ok(results.length > 20, `${results.length} files linted`);
  });
});
