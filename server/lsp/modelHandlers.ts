/** attention/openModel and attention/tile: the requests that address held state by id. */
import type { Connection } from 'vscode-languageserver/node';
import { encodeFloat32 } from '../../protocol/encoding';
import { OpenModelRequest, TileRequest, type ModelInfo } from '../../protocol/runtime';
import { UserError, firstLine } from '../../common/errors';
import type { CaptureStore } from './captureStore';
import { guarded } from './errors';
import type { ModelRegistry } from './models';
import type { RuntimeStatus } from './status';
import { validExecutionProvider } from './validate';

export function registerOpenModel(connection: Connection, models: ModelRegistry, status: RuntimeStatus): void {
  const log = (line: string) => connection.console.info(line);
  connection.onRequest(
    OpenModelRequest.type,
    guarded(connection, OpenModelRequest.method, async (params: OpenModelRequest.Params): Promise<ModelInfo> => {
      if (!params || typeof params.path !== 'string') throw new UserError('attention/openModel: give the path of an .onnx file or a checkpoint folder');
      const ep = validExecutionProvider(params.executionProvider);
      status.send('loading', `opening ${params.path}`);
      try {
        const model = await models.open(params.path, ep, log);
        log(`opened ${model.path} as ${model.info.modelId}: ${model.info.layers.length} attention layers, ${model.info.heads} heads`);
        status.send('idle', `${model.info.name} ready`);
        return model.info;
      } catch (e) {
        status.send('error', firstLine(e));
        throw e;
      }
    }),
  );
}

export function registerTile(connection: Connection, store: CaptureStore): void {
  connection.onRequest(
    TileRequest.type,
    guarded(connection, TileRequest.method, async (p: TileRequest.Params): Promise<TileRequest.Result> => {
      if (!p || typeof p.captureId !== 'string') throw new UserError('attention/tile: missing captureId');
      const nums = [p.layer, p.head, p.q0, p.q1, p.k0, p.k1];
      if (nums.some((n) => typeof n !== 'number' || !Number.isInteger(n))) {
        throw new UserError('attention/tile: layer, head, q0, q1, k0 and k1 must be integers');
      }
      const tile = await store.tileOrRecompute(p.captureId, p.layer, p.head, p.q0, p.q1, p.k0, p.k1);
      return { rows: tile.rows, cols: tile.cols, data: encodeFloat32(tile.data) };
    }),
  );
}
