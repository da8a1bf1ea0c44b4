/**
 * attention/listVariants and attention/listFamilies: the variant and family catalogs as the
 * runtime holds them, so the panels and the extension show the runtime's list, not a copy.
 */
import type { Connection } from 'vscode-languageserver/node';
import { ListFamiliesRequest, ListVariantsRequest } from '../../protocol/catalog';
import { familyCatalog } from '../hf/family';
import { variantCatalog } from '../variants/registry';
import { guarded } from './errors';
import { onRequest } from './typed';

export function registerCatalog(connection: Connection): void {
  onRequest(connection, ListVariantsRequest.type, guarded(connection, ListVariantsRequest.method, async () => variantCatalog()));
  onRequest(connection, ListFamiliesRequest.type, guarded(connection, ListFamiliesRequest.method, async () => familyCatalog()));
}
