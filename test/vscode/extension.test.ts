/**
 * Runs inside desktop VS Code (@vscode/test-cli, .vscode-test.mjs; needs internet to download
 * VS Code, so CI here runs test/e2e in code-server instead). Activation, the contributed commands,
 * and one model opened through the real command with the real runtime.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as vscode from 'vscode';

const ID = 'attention-inspector.attention-inspector';

interface Contributed {
  contributes: { commands: { command: string }[] };
}

describe('Attention Inspector in desktop VS Code', function () {
  this.timeout(120_000);
  let ext: vscode.Extension<unknown>;

  before(async () => {
    const found = vscode.extensions.getExtension(ID);
    assert.ok(found, `${ID} is not installed in the test instance`);
    ext = found;
    await ext.activate();
  });

  it('activates', () => {
    assert.equal(ext.isActive, true);
  });

  it('registers every command it contributes', async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    const contributed = (ext.packageJSON as Contributed).contributes.commands.map((c) => c.command);
    assert.ok(contributed.length >= 5);
    for (const c of contributed) assert.ok(all.has(c), `${c} is contributed but not registered`);
  });

  it('opens the sample model through Attention: Open Model (2 layers x 4 heads)', async () => {
    const model = path.join(ext.extensionPath, 'samples', 'tiny-gpt', 'model.onnx');
    // activate() resolves after the runtime has started (extension/extension.ts awaits it).
    const info = await vscode.commands.executeCommand<{ layers: unknown[]; heads: number } | undefined>('attentionInspector.openModel', model);
    assert.ok(info, 'Open Model did not answer');
    assert.equal(info.layers.length, 2);
    assert.equal(info.heads, 4);
  });
});
