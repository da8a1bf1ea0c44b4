/**
 * Every command the extension contributes, in one table: its id, its title (package.json's,
 * used in messages), whether it needs the running runtime, and its handler. extension.ts
 * registers the table in one place (registerCommandTable), which refuses a command that needs
 * the runtime while it is down and sends every error through showError, so it is logged.
 * No vscode import here (only types), so test/unit/commandTable.test.ts can check the table
 * against package.json.
 */
import type { Commands } from './commands';
import type { SideBySideCommands } from './sideBySideCommands';
import type { ModelsView } from './modelTree';
import type { RuntimeContext } from './runtimeContext';

/** What the handlers act on; built once in extension.ts. */
export interface CommandContext {
  runtime: RuntimeContext;
  /** Open, inspect, restart, logs, runtime info (extension/commands.ts). */
  models: Commands;
  /** Two texts or two checkpoints side by side (extension/sideBySideCommands.ts). */
  comparisons: SideBySideCommands;
  /** The Models view (extension/modelTree.ts). */
  view: ModelsView;
  /** Handlers that live beside their panel or feature, bound to the extension's context. */
  compareMechanisms(): Promise<void>;
  simulateKvCache(): Promise<void>;
  estimateCost(arg?: unknown): Promise<void>;
  openSample(): Promise<unknown>;
  openModelFolder(): Promise<void>;
  findHubModels(): Promise<void>;
  addCliToPath(): Promise<void>;
  removeCliFromPath(): void;
}

export interface CommandEntry {
  /** Without the `attentionInspector.` prefix. */
  name: string;
  title: string;
  /** Refused (with a message saying how to restart) while the runtime is down. */
  needsRuntime: boolean;
  run(c: CommandContext, ...args: unknown[]): unknown;
}

export const COMMAND_PREFIX = 'attentionInspector.';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export const COMMAND_TABLE: readonly CommandEntry[] = [
  // A second argument { panel: false } opens the model without showing the panel (compare flows).
  { name: 'openModel', title: 'Open Model…', needsRuntime: true, run: (c, path, opts) => c.models.openModel(str(path), (opts as { panel?: unknown } | undefined)?.panel !== false) },
  { name: 'inspectText', title: 'Inspect Text…', needsRuntime: true, run: (c, text) => c.models.inspectText(str(text)) },
  { name: 'compareTexts', title: 'Compare Two Texts…', needsRuntime: true, run: (c) => c.comparisons.compareTexts() },
  { name: 'compareCheckpoints', title: 'Compare Two Checkpoints…', needsRuntime: true, run: (c) => c.comparisons.compareCheckpoints() },
  { name: 'restartRuntime', title: 'Restart Runtime', needsRuntime: false, run: (c) => c.models.restartRuntime() },
  { name: 'showLogs', title: 'Show Logs', needsRuntime: false, run: (c) => c.models.showLogs() },
  { name: 'showRuntimeInfo', title: 'Show Runtime Info', needsRuntime: true, run: (c) => c.models.showRuntimeInfo() },
  { name: 'estimateCost', title: 'Estimate Attention Cost…', needsRuntime: true, run: (c, arg) => c.estimateCost(arg) },
  { name: 'simulateKvCache', title: 'Simulate KV-Cache Eviction…', needsRuntime: true, run: (c) => c.simulateKvCache() },
  { name: 'compareMechanisms', title: 'Compare Attention Mechanisms…', needsRuntime: true, run: (c) => c.compareMechanisms() },
  // The config.json CodeLens "Inspect attention": the model folder, by path or Uri.
  { name: 'inspectModel', title: 'Inspect Attention of Model Folder', needsRuntime: true, run: (c, arg) => c.models.inspectModelFolder(arg) },
  { name: 'refreshModels', title: 'Refresh Models', needsRuntime: true, run: (c) => c.view.refresh() },
  { name: 'treeInspectText', title: 'Inspect Text…', needsRuntime: true, run: (c, node) => c.view.inspect(node) },
  { name: 'openHead', title: 'Open Head in Panel', needsRuntime: true, run: (c, node) => c.view.openHead(node) },
  { name: 'treeEstimateCost', title: 'Estimate Attention Cost', needsRuntime: true, run: (c, node) => c.view.estimate(node) },
  { name: 'openSample', title: 'Open the Sample Model', needsRuntime: true, run: (c) => c.openSample() },
  { name: 'openModelFolder', title: 'Open a Model Folder…', needsRuntime: true, run: (c) => c.openModelFolder() },
  { name: 'findHubModels', title: 'Find Models in the Hugging Face Cache…', needsRuntime: true, run: (c) => c.findHubModels() },
  { name: 'addCliToPath', title: 'Add attention-inspector to the Terminal PATH', needsRuntime: false, run: (c) => c.addCliToPath() },
  { name: 'removeCliFromPath', title: 'Remove attention-inspector from the Terminal PATH', needsRuntime: false, run: (c) => c.removeCliFromPath() },
];

/** The state of the runtime as the command guard sees it. */
export type RuntimeAvailability = 'idle' | 'starting' | 'running' | 'restarting' | 'down';

/**
 * Why a command cannot run now, or undefined when it can. A command that needs the runtime
 * starts an idle one (never started yet) or waits for a start in progress (the caller does that
 * first), and is refused while the runtime is down or between crash restarts.
 */
export function refusal(entry: CommandEntry, runtime: RuntimeAvailability): string | undefined {
  if (!entry.needsRuntime || runtime === 'running' || runtime === 'idle') return undefined;
  const what = `"Attention: ${entry.title}" needs the Attention runtime`;
  if (runtime === 'restarting') return `${what}, which stopped and is restarting; try again in a few seconds.`;
  if (runtime === 'starting') return `${what}, which is still starting; try again in a few seconds.`;
  return `${what}, which is not running; run "Attention: Restart Runtime" (the log says why it stopped).`;
}
