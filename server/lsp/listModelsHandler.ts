/** attention/listModels: the models on disk (Hugging Face cache and workspace), by path. */
import type { Connection } from 'vscode-languageserver/node';
import { ListModelsRequest } from '../../protocol/runtime';
import { UserError } from '../../common/errors';
import { listModels } from '../discovery/hubCache';
import { guarded } from './errors';

export function registerListModels(connection: Connection): void {
  connection.onRequest(
    ListModelsRequest.type,
    guarded(connection, ListModelsRequest.method, async (p: ListModelsRequest.Params): Promise<ListModelsRequest.Result> => {
      const params = p ?? {};
      const folders = params.workspaceFolders ?? [];
      if (!Array.isArray(folders) || folders.some((f) => typeof f !== 'string')) {
        throw new UserError('attention/listModels: workspaceFolders must be a list of folder paths');
      }
      return listModels({ workspaceFolders: folders, hubCache: params.hubCache !== false });
    }),
  );
}
