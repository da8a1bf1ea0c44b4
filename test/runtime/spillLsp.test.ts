/**
 * Spill files of the real runtime (dist/server.js over --node-ipc) with its own TMPDIR: folders
 * that killed runtimes left are swept at start (links and live owners left alone), a reused
 * capture id releases the first capture's files, SIGTERM and SIGINT remove the spill folder and
 * still end the process by that signal, a disk that fills during a spill gives a one-line error
 * and its space back so the next capture works, and efficiency requests with sizes that cannot
 * fit are refused before work.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EstimateSweepRequest, MeasureEfficiencyRequest } from '../../protocol/efficiency';
import { CaptureRequest, OpenModelRequest } from '../../protocol/runtime';
import { torchStyleGraph } from '../helpers/attentionGraphs';
import { repoRoot, startRuntime, type StartedRuntime } from '../helpers/serverBundle';
import { mountSmallDisk } from '../helpers/smallDisk';
import { telemetryLogWritten } from '../helpers/telemetryLog';

const PREFIX = 'attention-inspector-maps-';
const IDS = Array.from({ length: 64 }, (_, i) => (i * 5 + 1) % 16);

function spillFolderOf(tmp: string, pid: number): string | undefined {
  const name = readdirSync(tmp).find((n) => n.startsWith(`${PREFIX}${pid}-`));
  return name && join(tmp, name);
}

function spillFiles(tmp: string, pid: number): string[] {
  const dir = spillFolderOf(tmp, pid);
  return dir ? readdirSync(dir).map((f) => join(dir, f)).sort() : [];
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('spill files and request sizes of the runtime (LSP)', function () {
  this.timeout(90000);
  let dir: string;
  let modelPath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ai-spill-lsp-'));
    modelPath = join(dir, 'two-layers.onnx');
    writeFileSync(modelPath, torchStyleGraph({ layers: 2, heads: 2, headDim: 4, vocab: 16, seed: 3 }).bytes);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function runtimeWith(tmp: string): Promise<{ rt: StartedRuntime; modelId: string }> {
    const rt = await startRuntime({ env: { ...process.env, TMPDIR: tmp } });
    const modelId = (await rt.conn.sendRequest(OpenModelRequest.type, { path: modelPath, executionProvider: 'cpu' })).modelId;
    return { rt, modelId };
  }

  it('sweeps dead runtimes\' spill folders at start, and leaves live ones, links and recent legacy folders', async () => {
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const dead = join(tmp, `${PREFIX}${deadPid}-aaaaaa`);
    mkdirSync(dead);
    writeFileSync(join(dead, 'map-1.f32'), new Uint8Array(1024));
    const oldLegacy = join(tmp, `${PREFIX}bbbbbb`);
    mkdirSync(oldLegacy);
    const twoDaysAgo = Date.now() / 1000 - 2 * 86400;
    utimesSync(oldLegacy, twoDaysAgo, twoDaysAgo);
    const newLegacy = join(tmp, `${PREFIX}cccccc`);
    mkdirSync(newLegacy);
    const live = join(tmp, `${PREFIX}${process.pid}-dddddd`);
    mkdirSync(live);
    const victim = join(dir, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'keep.txt'), 'mine');
    const link = join(tmp, `${PREFIX}${deadPid}-eeeeee`);
    symlinkSync(victim, link);

    const { rt } = await runtimeWith(tmp);
    try {
      assert.ok(!existsSync(dead), 'a dead runtime\'s folder is swept');
      assert.ok(!existsSync(oldLegacy), 'a legacy folder untouched for two days is swept');
      assert.ok(existsSync(newLegacy) && existsSync(live) && existsSync(link));
      assert.equal(readFileSync(join(victim, 'keep.txt'), 'utf8'), 'mine');
    } finally {
      rt.stop();
    }
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`a reused capture id releases the first capture's files; ${signal} removes the spill folder and ends the runtime by ${signal}`, async () => {
      const tmp = join(dir, 'tmp');
      mkdirSync(tmp);
      const started = Date.now();
      const { rt, modelId } = await runtimeWith(tmp);
      try {
        const pid = rt.child.pid!;
        await rt.conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, captureId: 'same', memoryBudgetBytes: 1, spillMaps: true });
        const first = spillFiles(tmp, pid);
        assert.equal(first.length, 2, 'both layers spilled');
        for (const f of first) assert.equal(readFileSync(f).length, 2 * 64 * 64 * 4);
        await rt.conn.sendRequest(CaptureRequest.type, { modelId, ids: IDS, captureId: 'same', memoryBudgetBytes: 1, spillMaps: true });
        const second = spillFiles(tmp, pid);
        assert.equal(second.length, 2);
        assert.ok(first.every((f) => !existsSync(f)), 'the first capture\'s files went with the reused id');
        const folder = spillFolderOf(tmp, pid)!;
        const end = exited(rt.child);
        rt.child.kill(signal);
        assert.deepEqual(await end, { code: null, signal });
        assert.ok(!existsSync(folder), `spill folder left after ${signal}`);
        // The runtime made onnxruntime sessions; with telemetry off none leaves its log in /tmp.
        assert.ok(!telemetryLogWritten(pid, started), 'onnxruntime telemetry log left in /tmp');
      } finally {
        // An assertion that failed before the signal must not leave the runtime running.
        rt.stop();
      }
    });
  }

  it('a spill that fills the disk fails in one line, gives the space back, and the next capture spills fine', async function () {
    const disk = mountSmallDisk(512);
    if (!disk) this.skip();
    let rt: StartedRuntime | undefined;
    try {
      const started = await runtimeWith(disk!.dir);
      rt = started.rt;
      const free = () => statfsSync(disk!.dir).bfree;
      const before = free();
      const long = Array.from({ length: 300 }, (_, i) => i % 16); // 2 heads × 300² floats: 703 KiB per layer
      await assert.rejects(
        rt.conn.sendRequest(CaptureRequest.type, { modelId: started.modelId, ids: long, captureId: 'full', memoryBudgetBytes: 1, spillMaps: true }),
        (e: Error) => /no space left in .*attention-inspector-maps-\d+-\w+ for the maps above the memory budget; free disk space/.test(e.message) && !e.message.includes('\n'),
      );
      assert.ok(free() >= before - 2, `space not given back: ${before - free()} blocks still used`);
      await rt.conn.sendRequest(CaptureRequest.type, { modelId: started.modelId, ids: IDS, captureId: 'after', memoryBudgetBytes: 1, spillMaps: true });
      assert.equal(spillFiles(disk!.dir, rt.child.pid!).length, 2);
    } finally {
      rt?.stop();
      if (rt) await exited(rt.child);
      disk!.unmount();
    }
  });

  it('efficiency requests with sizes that cannot fit are refused before work, in one line', async () => {
    const { rt } = await runtimeWith(join(dir));
    const configPath = join(repoRoot, 'samples/configs/llama-2-7b/config.json');
    const refused = async (method: string, params: object, pattern: RegExp) => {
      await assert.rejects(rt.conn.sendRequest(method, params), (e: Error) => pattern.test(e.message) && !e.message.includes('\n'));
    };
    try {
      await refused(MeasureEfficiencyRequest.method, { configPath, seqs: [128, 1000000] }, /seqs 1000000 needs at least [\d.]+ GiB/);
      await refused(MeasureEfficiencyRequest.method, { configPath, seqs: Array(17).fill(128) }, /give 1 to 16 sequence lengths \(got 17\)/);
      await refused(MeasureEfficiencyRequest.method, { configPath, seqs: [128], maxHeads: -1 }, /maxHeads -1 is not an integer from 1 to 256/);
      await refused(MeasureEfficiencyRequest.method, { configPath, seqs: [1.5] }, /sequence length 1.5 is not an integer/);
      await refused(EstimateSweepRequest.method, { configPath, seqs: Array.from({ length: 300 }, (_, i) => i + 1) }, /give 1 to 256 sequence lengths \(got 300\)/);
      await refused(EstimateSweepRequest.method, { configPath, tableSeq: 1e300 }, /table length 1e\+300 is not an integer from 1 to 2147483648/);
    } finally {
      rt.stop();
    }
  });
});
