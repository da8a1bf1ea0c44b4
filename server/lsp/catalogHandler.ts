/**
 * attention/listVariants and attention/listFamilies: the variant and family catalogs as the
 * runtime holds them, so the panels and the extension show the runtime's list, not a copy.
 */
import type { Connection } from 'vscode-languageserver/node';
import { ListFamiliesRequest, ListVariantsRequest } from '../../protocol/catalog';
import { familyCatalog } from '../hf/family';
import { variantCatalog } from '../variants/registry';
import { guarded } from './errors';

export function registerCatalog(connection: Connection): void {
  connection.onRequest(ListVariantsRequest.type, guarded(connection, ListVariantsRequest.method, async () => variantCatalog()));
  connection.onRequest(ListFamiliesRequest.type, guarded(connection, ListFamiliesRequest.method, async () => familyCatalog()));
}
